package stacks

import (
	_ "embed"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// cloudflareIPv4 is Cloudflare's published list of the addresses its proxy connects to origins
// from, with the day it was taken (scripts/refresh-cloudflare-ips.sh rewrites it). Only IPv4: the
// nodes have no external IPv6 address, and a GCP firewall rule takes one address family.
//
//go:embed data/cloudflare-ips-v4.txt
var cloudflareIPv4 string

// CloudflareIPv4Ranges are the ranges of the committed list and the day it was taken.
func CloudflareIPv4Ranges() (ranges []string, asOf time.Time, err error) {
	for i, line := range strings.Split(cloudflareIPv4, "\n") {
		line = strings.TrimSpace(line)
		if d, ok := strings.CutPrefix(line, "# as-of: "); ok {
			if asOf, err = time.Parse(time.DateOnly, d); err != nil {
				return nil, time.Time{}, fmt.Errorf("data/cloudflare-ips-v4.txt line %d: %w", i+1, err)
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := netip.ParsePrefix(line)
		if err != nil || !p.Addr().Is4() {
			return nil, time.Time{}, fmt.Errorf("data/cloudflare-ips-v4.txt line %d: %q is not an IPv4 range", i+1, line)
		}
		ranges = append(ranges, p.String())
	}
	if len(ranges) == 0 || asOf.IsZero() {
		return nil, time.Time{}, fmt.Errorf("data/cloudflare-ips-v4.txt has no ranges or no as-of date: run scripts/refresh-cloudflare-ips.sh")
	}
	return ranges, asOf, nil
}

// defaultFirewallSourceRanges is what may reach the nodes' 80 and 443 when the stack does not say:
// Cloudflare's proxy only, when every name the program publishes is proxied (nobody else needs the
// origin, and the firewall then stops whoever finds the nodes' addresses); else everyone.
func (c *Config) defaultFirewallSourceRanges() []string {
	if c.DNSSync.Enabled && c.DNS.Proxied {
		if ranges, _, err := CloudflareIPv4Ranges(); err == nil {
			return ranges
		}
	}
	return []string{"0.0.0.0/0"}
}
