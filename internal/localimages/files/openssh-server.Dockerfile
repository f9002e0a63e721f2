# Dev mode's SSH/SFTP sidecar for the stacks on GKE: the same packages and entrypoint as the local
# cluster's shoestring.local/openssh-server (internal/localimages), so what the real-node tests
# prove (non-root sshd on a read-only root, keys only, no root login) is what a sandbox runs.
# Build from the repository root:
#   docker build -f internal/localimages/files/openssh-server.Dockerfile -t IMAGE .
FROM debian:12.8-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-server libnss-wrapper \
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*
COPY internal/localimages/files/sshd-entrypoint.sh /usr/local/bin/sshd-entrypoint.sh
RUN chmod 0755 /usr/local/bin/sshd-entrypoint.sh
USER 1000:1000
EXPOSE 2222
ENTRYPOINT ["/usr/local/bin/sshd-entrypoint.sh"]
