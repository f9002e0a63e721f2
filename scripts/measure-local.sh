#!/usr/bin/env bash
# Measures the local default: the pinned tools' cold build times, a warm `make up` (tools built, no
# cluster running) to every workload ready, a no-op second `make up`, `make down`, and the resident
# memory of the engine (shoestring + the Pulumi CLI) and the Kubernetes provider during an up.
#
#   scripts/measure-local.sh [--cold] [--keep]
#
#   --cold  also build every tool `make up` needs from scratch into a temp SHOESTRING_TOOLS with an
#           empty Go build cache (about 30 minutes on 2 cores); without it, the cold figures are the
#           ones scripts/tools.sh printed into $TOOLS_LOG (default /tmp/tools-build.log).
#   --keep  leave the cluster and the dev stack running afterwards (default: make down).
#
# A whole first `make up` (tools, CLI and images from empty caches, step by step):
# scripts/measure-cold.sh.
#
# Prints one "measure: ..." line per figure; docs/local.md's figures come from its output.
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

echo "measure: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"

if $cold; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  SHOESTRING_TOOLS="$tmp/tools" GOCACHE="$tmp/gocache" PULUMI_HOME="$tmp/pulumi-home" SHOESTRING_BUILD_PULUMI=1 \
    scripts/tools.sh | grep "tools: built" | sed 's/^tools: /measure: cold build (empty tools folder and Go build cache): /'
else
  log=${TOOLS_LOG:-/tmp/tools-build.log}
  if [ -f "$log" ] && grep -q "tools: built" "$log"; then
    grep "tools: built" "$log" | sed "s|^tools: |measure: cold build (figures tools.sh printed in $log): |"
  else
    echo "measure: no cold build figures in $log; run with --cold to measure one"
  fi
fi

ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# peak_rss FILE: samples, until FILE exists, the summed RSS of the engine's processes (this
# shoestring, the pulumi CLI, the kubernetes provider) and prints the peak in MB.
peak_rss() {
  local stop=$1 peak=0 cli=0 prov=0
  while [ ! -e "$stop" ]; do
    local sum=0 c=0 p=0
    for pid in $(pgrep -f 'shoestring up|bin/pulumi |pulumi-resource-kubernetes' || true); do
      local rss
      rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      sum=$((sum + rss))
      case "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" in
        *pulumi-resource-kubernetes*) p=$((p + rss)) ;;
        *shoestring\ up*) ;;
        *) c=$((c + rss)) ;;
      esac
    done
    [ "$sum" -gt "$peak" ] && peak=$sum
    [ "$c" -gt "$cli" ] && cli=$c
    [ "$p" -gt "$prov" ] && prov=$p
    sleep 0.2
  done
  echo "$((peak / 1024)) $((cli / 1024)) $((prov / 1024))"
}

make down >/dev/null 2>&1 || true
make tools shoestring-cli >/dev/null
# A fresh clone of this commit (its own .state, the shared tools and images cache warm).
clone=$(mktemp -d)
git clone -q . "$clone/shoestring"
start=$(ms)
(cd "$clone/shoestring" && make up) >/tmp/measure-clone.log 2>&1 || { tail -30 /tmp/measure-clone.log; exit 1; }
echo "measure: fresh clone, tools cache warm: make up to the URL answering through the edge: $(secs $(($(ms) - start))) s"
grep -E " -> " /tmp/measure-clone.log | head -3 | sed 's/^/measure:   /'
(cd "$clone/shoestring" && make down) >/dev/null 2>&1
rm -rf "$clone"
start=$(ms)
make up >/tmp/measure-up.log 2>&1 || { tail -30 /tmp/measure-up.log; exit 1; }
echo "measure: warm make up (tools and images built, no cluster) to the URL answering through the edge: $(secs $(($(ms) - start))) s"
grep -E "^up dev:" /tmp/measure-up.log | sed 's/^/measure:   /'
start=$(ms)
make up >/tmp/measure-up2.log 2>&1 || { tail -30 /tmp/measure-up2.log; exit 1; }
echo "measure: second make up (no change): $(secs $(($(ms) - start))) s"
grep -E "^up dev:" /tmp/measure-up2.log | sed 's/^/measure:   /'

# The steps one by one, with the engine's memory sampled during an up from empty.
bin=.state/bin/shoestring
start=$(ms); make down >/dev/null 2>&1
echo "measure: make down (destroy, stop the control plane): $(secs $(($(ms) - start))) s"
start=$(ms); $bin cluster up --dir .state/cluster 2>/dev/null
echo "measure:   step cluster up (etcd, apiserver, controllers, kwok, 3 simulated nodes and 1 real node Ready): $(secs $(($(ms) - start))) s"
stop=$(mktemp -u)
peak_rss "$stop" >/tmp/measure-rss &
sampler=$!
start=$(ms); $bin up --stack dev >/dev/null 2>&1
echo "measure:   step shoestring up --stack dev (engine, from empty): $(secs $(($(ms) - start))) s"
touch "$stop"; wait "$sampler"
read -r peak cli prov < /tmp/measure-rss
echo "measure: peak resident memory during up: engine + provider $peak MB (pulumi CLI $cli MB, kubernetes provider $prov MB, rest: this CLI's inline program)"
rm -f "$stop"
start=$(ms); $bin preview --stack dev >/dev/null 2>&1
echo "measure:   step shoestring preview --stack dev (no change): $(secs $(($(ms) - start))) s"

# Resident memory of every control-plane process, from the pids the cluster recorded.
total=0
while read -r name pid; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  total=$((total + rss))
done < <($bin cluster status --dir .state/cluster | awk '$2 == "pid" && $4 == "running" {print $1, $3}')
echo "measure: cluster processes' resident memory (sum of RSS, dev stack up): $((total / 1024)) MB"
# The real node's own processes, and its containers (the kubelet's pods cgroup, page cache included).
node=0
while read -r name pid; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  node=$((node + rss))
  echo "measure:   $name $((rss / 1024)) MB"
done < <($bin cluster status --dir .state/cluster | awk '$2 == "pid" && $4 == "running" && $1 ~ /-n0$/ {print $1, $3}')
echo "measure: real node's own memory (containerd, kubelet, kube-proxy, CoreDNS): $((node / 1024)) MB"
for cg in /sys/fs/cgroup/memory/shoestring-*-n0/kubepods; do
  [ -d "$cg" ] || continue
  rss=$(awk '$1 == "total_rss" {print $2}' "$cg/memory.stat")
  echo "measure: the dev stack's containers on the real node: $((rss / 1048576)) MB RSS ($(($(cat "$cg/memory.usage_in_bytes") / 1048576)) MB with page cache)"
  for pod in "$cg"/*/pod* "$cg"/pod*; do
    [ -d "$pod" ] || continue
    echo "measure:   pod ${pod##*/pod}: $(($(awk '$1 == "total_rss" {print $2}' "$pod/memory.stat") / 1048576)) MB RSS"
  done
done

$keep || make down >/dev/null
