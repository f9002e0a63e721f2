#!/usr/bin/env bash
# Runs one step of `make up` / `make test` so that it is never silent: a line when it starts (with
# what it usually takes on 2 cores), a line every 30 s while it runs (elapsed time), a line when
# it ends; its time goes into a table that `--table` prints at the end of the run.
#
#   scripts/step.sh [--own-heartbeat] NAME USUAL -- COMMAND [ARGS...]
#   (USUAL is free text: "usually 15 s on 2 cores")
#   scripts/step.sh --reset    start a run: empty the table
#   scripts/step.sh --table    print the steps run since --reset, with their times
#
# --own-heartbeat: the command prints its own progress at least every 30 s (scripts/tools.sh,
# the image builds), so only the start and end lines are added.
# Output is plain lines, terminal or not (readable in CI logs). The command runs in the
# foreground, so Ctrl-C and a terminal reach it as they would without this wrapper.
# SHOESTRING_STEPS is the table file (default .state/steps in the repo); STEP_HEARTBEAT the
# interval in seconds (default 30).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
table=${SHOESTRING_STEPS:-$repo/.state/steps}
every=${STEP_HEARTBEAT:-30}

print_table() {
  [ -f "$table" ] || { echo "step: no steps recorded in $table"; return; }
  local started
  started=$(sed -n 's/^# started //p' "$table" | head -1)
  echo "step: times of this run (2-core figures for comparison in docs/local.md):"
  awk -F'\t' '!/^#/ {
      printf "  %-22s %6d s  %s\n", $1, $2, $3
    }' "$table"
  if [ -n "$started" ]; then
    printf '  %-22s %6d s\n' "total (wall clock)" $(($(date +%s) - started))
  fi
}

case "${1:-}" in
  --reset)
    mkdir -p "$(dirname "$table")"
    echo "# started $(date +%s)" >"$table"
    exit 0 ;;
  --table)
    print_table
    exit 0 ;;
esac

own=false
if [ "${1:-}" = --own-heartbeat ]; then own=true; shift; fi
if [ $# -lt 4 ] || [ "$3" != -- ]; then
  echo "usage: $0 [--own-heartbeat] NAME USUAL -- COMMAND [ARGS...] | --reset | --table" >&2
  exit 2
fi
name=$1 usual=$2
shift 3

start=$(date +%s)
echo "step: $name: started ($usual)"
beat=
if ! $own; then
  # The heartbeat runs beside the command and stops with this script (checked every second).
  (
    parent=$$ next=$((start + every))
    while kill -0 "$parent" 2>/dev/null; do
      sleep 1
      now=$(date +%s)
      if [ "$now" -ge "$next" ]; then
        echo "step: $name: still running, $((now - start)) s so far ($usual)"
        next=$((now + every))
      fi
    done
  ) &
  beat=$!
fi
stop_beat() { if [ -n "$beat" ]; then kill "$beat" 2>/dev/null || true; wait "$beat" 2>/dev/null || true; beat=; fi; }
trap stop_beat EXIT

rc=0
"$@" || rc=$?
stop_beat
secs=$(($(date +%s) - start))
mkdir -p "$(dirname "$table")"
if [ "$rc" -eq 0 ]; then
  printf '%s\t%d\tok\n' "$name" "$secs" >>"$table"
  echo "step: $name: done in $secs s"
else
  printf '%s\t%d\tFAILED (exit %d)\n' "$name" "$secs" "$rc" >>"$table"
  echo "step: $name: FAILED after $secs s (exit $rc)"
  print_table
fi
exit "$rc"
