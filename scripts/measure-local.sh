#!/usr/bin/env bash
# Measures the local default: the pinned tools' cold build time, a warm `make up` (tools built,
# no cluster running), an idempotent second `make up`, and the control plane's resident memory.
#
#   scripts/measure-local.sh [--cold] [--keep]
#
#   --cold  also build the control-plane tools from scratch into a temp SHOESTRING_TOOLS with an
#           empty Go build cache (takes about 15 minutes on 2 cores); without it, the cold figures
#           are the ones scripts/tools.sh printed into $TOOLS_LOG (default /tmp/tools-build.log).
#   --keep  leave the cluster running afterwards (default: make down).
#
# Prints one "measure: ..." line per figure; paste them into the README's local section.
set -euo pipefail
cd "$(dirname "$0")/.."

cold=false keep=false
for a in "$@"; do
  case "$a" in
    --cold) cold=true ;;
    --keep) keep=true ;;
    *) echo "usage: $0 [--cold] [--keep]" >&2; exit 2 ;;
  esac
done

cluster_dir=${CLUSTER_DIR:-.state/cluster}
echo "measure: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"

if $cold; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  start=$SECONDS
  SHOESTRING_TOOLS="$tmp/tools" GOCACHE="$tmp/gocache" scripts/tools.sh | sed 's/^/  /'
  echo "measure: cold build of etcd, kwok, kube-apiserver/controller-manager/scheduler: $((SECONDS - start)) s (empty tools folder and Go build cache)"
else
  log=${TOOLS_LOG:-/tmp/tools-build.log}
  if [ -f "$log" ] && grep -q "tools: built" "$log"; then
    grep "tools: built" "$log" | sed "s|^tools: |measure: cold build (figures tools.sh printed in $log): |"
  else
    echo "measure: no cold build figures in $log; run with --cold to measure one"
  fi
fi

make down >/dev/null 2>&1 || true
make cluster-tools shoestring-cli >/dev/null
ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
start=$(ms)
make up >/tmp/measure-up.log 2>&1 || { tail -30 /tmp/measure-up.log; exit 1; }
echo "measure: warm make up (tools built, no cluster): $(secs $(($(ms) - start))) s"
start=$(ms)
make up >/tmp/measure-up2.log 2>&1 || { tail -30 /tmp/measure-up2.log; exit 1; }
echo "measure: second make up (idempotent, cluster running): $(secs $(($(ms) - start))) s"

# The same steps without make and the CLI's (re)build, one by one.
bin=.state/bin/shoestring
make down >/dev/null
start=$(ms); $bin cluster up --dir "$cluster_dir" 2>/dev/null
echo "measure:   step cluster up (etcd, apiserver, controllers, kwok, 3 nodes Ready): $(secs $(($(ms) - start))) s"
start=$(ms); $bin render --stack dev --out .state/render/dev 2>/dev/null
echo "measure:   step render dev: $(secs $(($(ms) - start))) s"
start=$(ms); $bin apply --kubeconfig "$cluster_dir/kubeconfig" --dir .state/render/dev --wait >/dev/null 2>&1
echo "measure:   step apply --wait (every workload ready): $(secs $(($(ms) - start))) s"
start=$(ms); $bin apply --kubeconfig "$cluster_dir/kubeconfig" --dir .state/render/dev --wait >/dev/null 2>&1
echo "measure:   step apply --wait again (nothing changes): $(secs $(($(ms) - start))) s"

# Resident memory of every control-plane process, from the pids the cluster recorded.
total=0
while read -r name pid; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  total=$((total + rss))
  printf 'measure:   %-24s %6d MB\n' "$name" $((rss / 1024))
done < <(.state/bin/shoestring cluster status --dir "$cluster_dir" | awk '$2 == "pid" && $4 == "running" {print $1, $3}')
echo "measure: control plane resident memory (sum of RSS, dev stack applied): $((total / 1024)) MB"

$keep || make down >/dev/null
