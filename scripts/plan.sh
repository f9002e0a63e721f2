#!/usr/bin/env bash
# Starts a `make up` or `make test` run: empties the step table (scripts/step.sh) and says, before
# anything is built, what this run will build and roughly how long that takes on 2 cores.
#
#   scripts/plan.sh [--cli BINARY] [--images] TOOL...
#
# TOOL...: the tools the run needs (scripts/tools.sh --plan); --cli: the CLI binary `go build`
# makes (rebuilt when missing or older than a Go source); --images: the local images (the CLI's
# `images local --plan`, or all of them when none is in the cache yet).
set -euo pipefail
cd "$(dirname "$0")/.."

cli="" images=false
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) cli=$2; shift 2 ;;
    --images) images=true; shift ;;
    *) break ;;
  esac
done

scripts/step.sh --reset
echo "plan: what this run builds before it starts, and what that usually takes on 2 cores:"
scripts/tools.sh --plan "$@"
scripts/test-setup.sh --plan

if [ -n "$cli" ]; then
  # The CLI's compiled packages are in the Go build cache when it holds more than a handful of
  # entries (a cold cache makes the build minutes instead of seconds).
  gocache=$(go env GOCACHE)
  warm=$( (ls "$gocache/00" 2>/dev/null || true) | wc -l)
  if [ "$warm" -ge 10 ]; then usual="usually 15 s with this warm Go build cache"
  else usual="the Go build cache $gocache looks empty: usually about 6 minutes"; fi
  if [ ! -x "$cli" ]; then
    echo "shoestring-cli: plan: to build ($cli is missing; $usual)"
  elif newer=$(find . \( -path ./.state -o -path ./.git \) -prune -o -type f \
      \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$cli" -print -quit) && [ -n "$newer" ]; then
    echo "shoestring-cli: plan: to rebuild ($cli is older than $newer; $usual)"
  else
    echo "shoestring-cli: plan: up to date ($cli; go build checks it in a few seconds)"
  fi
fi

if $images; then
  cache=${SHOESTRING_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/shoestring/tools}
  # A CLI built before --plan existed cannot answer; the images step then says it.
  if [ -n "$cli" ] && [ -x "$cli" ] && "$cli" images local --plan 2>/dev/null; then
    :
  elif ! compgen -G "$cache/images/*.tar" >/dev/null; then
    echo "images: plan: none in $cache/images yet: every image to build, usually about 13 minutes on 2 cores with an empty apt cache"
  else
    echo "images: plan: checked once the CLI is built (the images step says which it builds first)"
  fi
fi
