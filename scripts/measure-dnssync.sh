#!/usr/bin/env bash
# Measures the DNS-sync controller as it runs in production: the static binary of cmd/dnssync as
# its own process, a real kube-apiserver (internal/localcluster, apiserver only) and the Cloudflare
# API double. Prints convergence time, API requests at rest and per node change, RSS and CPU.
# Needs the control-plane tools (make cluster-tools). Usage: scripts/measure-dnssync.sh [flags of
# internal/dnssync/cmd/measure, e.g. -changes 30 -rest 60s -gomemlimit 16MiB -gogc 50]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/dnssync" ./cmd/dnssync
go build -o "$out/measure" ./internal/dnssync/cmd/measure
"$out/measure" -bin "$out/dnssync" "$@"
