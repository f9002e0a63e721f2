#!/usr/bin/env bash
# Installs the system packages the tests use for real when they are missing: nginx (the edge tests
# check and serve the generated nginx.conf with the real binary). As root it installs them with
# apt-get; otherwise it names the command to run and fails.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-setup: missing ${need[*]}: install with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "test-setup: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
