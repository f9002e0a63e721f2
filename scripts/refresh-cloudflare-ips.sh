#!/usr/bin/env bash
# Rewrites stacks/data/cloudflare-ips-v4.txt from Cloudflare's published list: the firewall's
# default source ranges for stacks whose names are proxied. Needs the internet; tests never run
# it. CLOUDFLARE_IPS_URL overrides the address (a file:// URL works, for checking the format).
set -euo pipefail
url=${CLOUDFLARE_IPS_URL:-https://www.cloudflare.com/ips-v4}
out=${1:-$(dirname "$0")/../stacks/data/cloudflare-ips-v4.txt}
ranges=$(curl -fsSL "$url" | tr -d '\r' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$' || true)
if [ -z "$ranges" ]; then
  echo "no IPv4 ranges in $url: the file is left as it was" >&2
  exit 1
fi
{
  echo "# Cloudflare's published IPv4 ranges (https://www.cloudflare.com/ips-v4), the addresses its proxy"
  echo "# connects to origins from. Written by scripts/refresh-cloudflare-ips.sh; run it to refresh."
  echo "# as-of: $(date -u +%Y-%m-%d)"
  echo "$ranges"
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $(echo "$ranges" | wc -l) ranges to $out; commit it and run \`pulumi preview\`: the proxied stacks' firewall rules change"
