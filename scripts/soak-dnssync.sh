#!/usr/bin/env bash
# Runs the DNS-sync controller's end-to-end tests (real kube-apiserver, the Cloudflare API double,
# the controller as its own process and in-process) RUNS times in a row while a parallel `go build`
# of the whole module with an empty build cache keeps both cores busy, and prints each run's
# verdict and time and the number of failed runs. A test that passes only on an idle machine
# fails here. Bounded: the load stops with the last run.
# Needs the control-plane tools (scripts/tools.sh kube etcd). Usage: scripts/soak-dnssync.sh [RUNS]
# (default 10); LOAD=0 runs without the parallel build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
tests='^(TestScenariosRealAPIServer|TestKubeClientResumesRealAPIServer|TestKubeClientAndLeaderElectionRealAPIServer|TestTwoReplicasLeaderKilledDuringChurn|TestLeaseHandoverPausedLeader|TestPreemptionDrill)$'
work=$(mktemp -d)
load_pid=
cleanup() {
  [ -z "$load_pid" ] || kill -- "-$load_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go test -c -o "$work/dnssync.test" ./internal/dnssync/
if [ "${LOAD:-1}" != 0 ]; then
  # Its own process group, so the compilers it starts stop with it.
  set -m
  (while :; do GOCACHE="$work/cache" go build -o /dev/null ./... >/dev/null 2>&1 || true; rm -rf "$work/cache"; done) &
  load_pid=$!
  set +m
  echo "soak: load: go build ./... with an empty cache, in a loop (pid $load_pid)"
fi
failed=0
for i in $(seq 1 "$runs"); do
  start=$SECONDS
  if (cd internal/dnssync && SHOESTRING_E2E=1 "$work/dnssync.test" -test.count=1 -test.timeout=20m -test.run "$tests" >"$work/run.log" 2>&1); then
    echo "soak: run $i/$runs passed in $((SECONDS - start))s (load $(cut -d' ' -f1 /proc/loadavg))"
  else
    failed=$((failed + 1))
    echo "soak: run $i/$runs FAILED in $((SECONDS - start))s; its failures:"
    grep -E -- '^(--- FAIL|\s+.*_test\.go:[0-9]+:|FAIL)' "$work/run.log" | head -40 | sed 's/^/  /'
  fi
done
echo "soak: $failed of $runs runs failed"
[ "$failed" = 0 ]
