#!/usr/bin/env bash
# Measures the workloads benchmark: 20 services x 30 CronJobs (a worker, a before- and an
# after-Job each, one in-cluster MySQL), config parsed and checked, the program evaluated on
# Pulumi mocks and the record turned into manifests. Prints the Go benchmark (time and bytes
# allocated per render) and one render's process CPU time and peak memory under /usr/bin/time.
# Usage: scripts/measure-workloads.sh > bench/workloads.txt
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/program.test
go test -c -o "$bin" ./infra/program
echo "# Workloads render benchmark: 20 services x 30 CronJobs ($(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores)"
echo "# command: scripts/measure-workloads.sh"
echo
"$bin" -test.run XXX -test.bench 'Workloads20x30' -test.benchmem -test.benchtime 5x
echo
echo "# one render per process under /usr/bin/time (test binary start-up included):"
for _ in 1 2 3; do
  /usr/bin/time -f "#   user %U s, system %S s, wall %e s, maximum resident set size %M kB" \
    "$bin" -test.run XXX -test.bench 'RenderWorkloads20x30' -test.benchtime 1x 2>&1 >/dev/null | grep '^#'
done
