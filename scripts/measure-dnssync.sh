#!/usr/bin/env bash
# Measures the DNS-sync controller as it runs in production: the static binary of cmd/dnssync as
# its own process, a real kube-apiserver (internal/localcluster, apiserver only) and the Cloudflare
# API double, over start, single changes, a burst, rest and a restart. Prints convergence times,
# API requests and writes, peak RSS and CPU.
# The controller runs with the environment it has in its pod: the Deployment's GOMEMLIMIT (the
# `shoestring:dnssync.goMemLimit` default, see stacks/dns.go, which overrides the image's) and the
# image's GOGC (cmd/dnssync/Dockerfile), unless flags say otherwise.
# Needs the control-plane tools (make cluster-tools). Usage: scripts/measure-dnssync.sh [flags of
# internal/dnssync/cmd/measure, e.g. -changes 20 -rest 60s -gomemlimit '' (unset)]
# TAGS=clientgo_leaderelection links client-go's tools/leaderelection into the binary (unused), to
# measure what it would cost.
set -euo pipefail
cd "$(dirname "$0")/.."
deployment_gomemlimit=$(sed -n 's/.*GoMemLimit: *"\([^"]*\)".*/\1/p' stacks/dns.go | head -1)
image_gogc=$(sed -n 's/^ENV .*GOGC=\([0-9a-z]*\).*/\1/p' cmd/dnssync/Dockerfile | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -tags "${TAGS:-}" -o "$out/dnssync" ./cmd/dnssync
go build -o "$out/measure" ./internal/dnssync/cmd/measure
echo "binary: $(stat -c %s "$out/dnssync") bytes"
"$out/measure" -bin "$out/dnssync" -gomemlimit "${deployment_gomemlimit}" -gogc "${image_gogc}" "$@"
