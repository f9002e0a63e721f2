#!/usr/bin/env bash
# Installs the Debian packages the tests and the local cluster's real node use when they are
# missing: nginx (the edge tests check and serve the generated nginx.conf with the real binary);
# containerd, runc and the CNI plugins (the real node's runtime and pod network); iproute2,
# iptables and conntrack (its network namespace, kube-proxy's rules); mmdebstrap and
# busybox-static (the images built here); openssh-client (the dev-mode sidecar tests). As root
# it installs them with apt-get; otherwise it names the command to run and fails.
# --plan only says what is missing.
set -euo pipefail
plan=false
[ "${1:-}" != --plan ] || plan=true
need=()
want() { # want <package> <file that shows it is installed>
  [ -e "$2" ] || need+=("$1")
}
want nginx /usr/sbin/nginx
want containerd /usr/bin/containerd
want runc /usr/sbin/runc
want containernetworking-plugins /usr/lib/cni/bridge
want iproute2 /usr/bin/ip
want iptables /usr/sbin/iptables
want conntrack /usr/sbin/conntrack
want mmdebstrap /usr/bin/mmdebstrap
want busybox-static /bin/busybox
want openssh-client /usr/bin/ssh
if $plan; then
  if [ ${#need[@]} -gt 0 ]; then echo "system-packages: plan: to install with apt-get (needs root): ${need[*]}"
  else echo "system-packages: plan: all installed"; fi
  exit 0
fi
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-setup: missing ${need[*]}: install with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "test-setup: installing ${need[*]}"
apt-get update -qq
# containerd's package would start its own service where systemd runs; the real node starts
# its own containerd with its own configuration, so the service is not wanted.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
