package engine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/shoestring-dev/shoestring/internal/localimages"
	"github.com/shoestring-dev/shoestring/stacks"
)

// LocalDNSSyncImage is the DNS-sync controller's image built here (internal/localimages builds
// it from cmd/dnssync and imports it into the local cluster's real nodes).
const LocalDNSSyncImage = localimages.DNSSync

// checkCloudflareAPI refuses a Cloudflare API option that could reach beyond this machine, or
// that has no retargeted copy to apply to, and fills in the default image.
func checkCloudflareAPI(opts *Options) error {
	if opts.CloudflareAPI == "" {
		if opts.DNSSyncImage != "" {
			return fmt.Errorf("engine: DNSSyncImage %q is only used with CloudflareAPI: set both, or neither", opts.DNSSyncImage)
		}
		return nil
	}
	if opts.ExistingCluster == "" || opts.RenderTo != "" {
		return fmt.Errorf("engine: CloudflareAPI %q applies to a stack retargeted with ExistingCluster (and no RenderTo): set ExistingCluster, or leave CloudflareAPI out", opts.CloudflareAPI)
	}
	u, err := url.Parse(opts.CloudflareAPI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("engine: CloudflareAPI %q is not an http(s) URL: give the double's base URL, e.g. http://10.213.1.1:443/client/v4/", opts.CloudflareAPI)
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return fmt.Errorf("engine: CloudflareAPI %q names the host %q: give an IP address of this machine (a name could resolve to Cloudflare's real API)", opts.CloudflareAPI, u.Hostname())
	}
	if !ip.IsLoopback() {
		local, err := localAddr(ip)
		if err != nil {
			return fmt.Errorf("engine: listing this machine's addresses to check CloudflareAPI %q: %w", opts.CloudflareAPI, err)
		}
		if !local {
			return fmt.Errorf("engine: CloudflareAPI %q: %s is not an address of this machine: the double must listen on loopback or on an interface here (the local cluster's host bridge)", opts.CloudflareAPI, ip)
		}
	}
	if opts.DNSSyncImage == "" {
		opts.DNSSyncImage = LocalDNSSyncImage
	}
	return nil
}

// localAddr reports whether ip is assigned to one of this machine's interfaces.
func localAddr(ip netip.Addr) (bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if got, ok := netip.AddrFromSlice(n.IP); ok && got.Unmap() == ip.Unmap() {
				return true, nil
			}
		}
	}
	return false, nil
}

// Secret is the value of shoestring:secrets.<group>.<name> in the stack's work copy, e.g. a
// secret generated for a retargeted copy (the DNS-sync token a Cloudflare double must accept).
func (s *Stack) Secret(ctx context.Context, group, name string) (string, error) {
	key := fmt.Sprintf("%s:secrets.%s.%s", stacks.Namespace, group, name)
	v, err := s.stack.GetConfigWithOptions(ctx, secretPath(key), &auto.ConfigOptions{Path: true})
	if err != nil {
		return "", fmt.Errorf("reading %s of stack %s: %w", key, s.opts.Stack, err)
	}
	return v.Value, nil
}
