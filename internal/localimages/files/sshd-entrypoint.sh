#!/bin/sh
# An SSH/SFTP server with linuxserver.io openssh-server's environment contract (USER_NAME,
# PUBLIC_KEY_DIR, PASSWORD_ACCESS, port 2222), run by a non-root user on a read-only root:
# the server can then only log in as the user it runs as, so root login and privilege changes
# are impossible rather than merely configured off. Everything it writes (host key, authorized
# keys, the passwd entry the login needs) goes under a writable folder, /tmp by default.
#
# The user's passwd entry is made here, not at build time, because the uid is the pod's
# (PUID/PGID name it, runAsUser sets it): libnss_wrapper serves a generated passwd file to sshd.
set -eu
user=${USER_NAME:-dev}
keys=${PUBLIC_KEY_DIR:-}
state=${SSHD_STATE_DIR:-/tmp/sshd}
port=${SSHD_PORT:-2222}
uid=$(id -u)
gid=$(id -g)

if [ "$uid" = 0 ]; then
  echo "sshd: refusing to run as root: set the container's runAsUser to the developer's uid (PUID=${PUID:-})" >&2
  exit 1
fi
if [ -n "${PUID:-}" ] && [ "$PUID" != "$uid" ]; then
  echo "sshd: PUID is $PUID but the container runs as uid $uid; files are written as uid $uid" >&2
fi
if [ "${PASSWORD_ACCESS:-false}" = true ]; then
  echo "sshd: PASSWORD_ACCESS=true is not supported: this server takes keys only" >&2
  exit 1
fi
if [ -z "$keys" ] || ! ls "$keys"/*.pub >/dev/null 2>&1; then
  echo "sshd: no public keys: PUBLIC_KEY_DIR (${keys:-unset}) must hold <developer>.pub files" >&2
  exit 1
fi

mkdir -p "$state/home"
chmod 0700 "$state" "$state/home"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n%s:x:%s:%s:developer:%s:/bin/sh\n' \
  "$user" "$uid" "$gid" "$state/home" >"$state/passwd"
printf 'root:x:0:\n%s:x:%s:\n' "$user" "$gid" >"$state/group"
export LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$state/passwd" NSS_WRAPPER_GROUP="$state/group"

rm -f "$state/ssh_host_ed25519_key" "$state/ssh_host_ed25519_key.pub"
# The keys are copied out of the read-only Secret mount into a folder only this user can reach.
ssh-keygen -q -t ed25519 -N '' -C "dev-sftp" -f "$state/ssh_host_ed25519_key"
cat "$keys"/*.pub >"$state/authorized_keys"
chmod 0600 "$state/authorized_keys"

cat >"$state/sshd_config" <<EOF
Port $port
HostKey $state/ssh_host_ed25519_key
PidFile $state/sshd.pid
AuthorizedKeysFile $state/authorized_keys
AllowUsers $user
# StrictModes would refuse any key below a world-writable folder, and a pod's writable folders
# (emptyDir, /tmp) are all world-writable; the folder holding the keys is 0700 and this user's.
StrictModes no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserEnvironment no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
Subsystem sftp internal-sftp
EOF

echo "sshd: $user (uid $uid) on port $port, $(ls "$keys"/*.pub | wc -l) key(s) from $keys"
exec /usr/sbin/sshd -D -e -f "$state/sshd_config"
