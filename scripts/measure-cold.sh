#!/usr/bin/env bash
# Measures a new user's first `make up`: a fresh clone of this commit with an empty Go build cache
# (GOCACHE), an empty tools folder (SHOESTRING_TOOLS: the tools, the images and their apt cache)
# and an empty PULUMI_HOME, so every tool, the CLI and every image is built. It prints the time of
# each step (the table `make up` ends with, scripts/step.sh) and the whole run to the URL
# answering through the edge.
#
#   scripts/measure-cold.sh [--warm] [--keep]
#
#   --warm  keep this machine's caches (Go build cache, tools, images, PULUMI_HOME): a fresh clone
#           with warm caches, in about 2 minutes, e.g. to check this script
#   --keep  leave the clone's cluster and dev stack running, and the temp folders (default: make
#           down and remove them)
#
# The Go module cache (GOMODCACHE) is kept: the figures leave out downloading the modules, which a
# new machine also does. The Pulumi CLI and plugin are built even when one is on PATH
# (SHOESTRING_BUILD_PULUMI=1), as for a user without them. Cold, it takes about 50 minutes of
# both cores on a 2-core machine and needs what `make up` needs (root, Debian packages).
# Prints one "measure: ..." line per figure; the full output is in $MEASURE_LOG (default
# /tmp/measure-cold.log).
set -euo pipefail
cd "$(dirname "$0")/.."

warm=false keep=false
for a in "$@"; do
  case "$a" in
    --warm) warm=true ;;
    --keep) keep=true ;;
    *) echo "usage: $0 [--warm] [--keep]" >&2; exit 2 ;;
  esac
done
log=${MEASURE_LOG:-/tmp/measure-cold.log}

tmp=$(mktemp -d)
clone="$tmp/shoestring"
git clone -q . "$clone"
cleanup() {
  if ! $keep; then
    (cd "$clone" && make down) >/dev/null 2>&1 || true
    rm -rf "$tmp"
  else
    echo "measure: kept the clone $clone (its cluster runs; \`make down\` there stops it) and $tmp"
  fi
}
trap cleanup EXIT

env=()
if $warm; then
  what="fresh clone, warm caches"
else
  what="fresh clone, empty Go build cache, tools folder and PULUMI_HOME (module cache kept)"
  mkdir -p "$tmp/gocache" "$tmp/tools" "$tmp/pulumi-home"
  env=(GOCACHE="$tmp/gocache" SHOESTRING_TOOLS="$tmp/tools" PULUMI_HOME="$tmp/pulumi-home" SHOESTRING_BUILD_PULUMI=1)
fi
echo "measure: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM, load $(cut -d' ' -f1-3 /proc/loadavg): $what"
echo "measure: make up's output: $log"

start=$(date +%s)
rc=0
(cd "$clone" && env "${env[@]}" make up) >"$log" 2>&1 || rc=$?
total=$(($(date +%s) - start))
if [ "$rc" -ne 0 ]; then
  echo "measure: make up FAILED after $total s (exit $rc); its output ends with:"
  tail -30 "$log"
  exit 1
fi
SHOESTRING_STEPS="$clone/.state/steps" scripts/step.sh --table | sed 's/^/measure: /'
echo "measure: $what: make up to the URL answering through the edge: $total s"
