// Package dnssync keeps the Cloudflare A/AAAA records of a few names equal to the addresses of a
// cluster's qualifying nodes. It has three seams, after external-dns, kept small:
//
//   - desired.go: what should exist, from the nodes (pure);
//   - plan.go: desired vs. current records -> creates, updates, deletes (pure, never touches a
//     record another owner made);
//   - cloudflare.go: the provider adapter (cloudflare-go/v6);
//
// and controller.go, a sample-controller style informer and rate-limited work queue that applies
// plans, never wipes, retries with backoff and honours Retry-After.
package dnssync

import (
	"net/netip"
	"slices"
	"strings"
)

// Record is one desired record: a name (fully qualified, lower case), a type (A or AAAA) and an
// address.
type Record struct {
	Name    string
	Type    string
	Content string
}

// Selection says which nodes and addresses count.
type Selection struct {
	// RequireReady skips nodes whose Ready condition is not True.
	RequireReady bool
	// RequireSchedulable skips cordoned nodes (spec.unschedulable).
	RequireSchedulable bool
	// InternalFallback uses a node's InternalIP addresses when it has no ExternalIP (for clusters
	// whose nodes are reachable on their internal addresses, such as a local one).
	InternalFallback bool
}

// Qualifies reports whether a node's addresses belong in DNS.
func (s Selection) Qualifies(n *Node) bool {
	if n.Metadata.DeletionTimestamp != nil {
		return false
	}
	if s.RequireSchedulable && n.Spec.Unschedulable {
		return false
	}
	if s.RequireReady {
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" {
				ready = c.Status == "True"
			}
		}
		if !ready {
			return false
		}
	}
	return true
}

// Addresses are a node's addresses for DNS, valid and unique, in the node's order.
func (s Selection) Addresses(n *Node) []netip.Addr {
	pick := func(t string) []netip.Addr {
		var out []netip.Addr
		for _, a := range n.Status.Addresses {
			if a.Type != t {
				continue
			}
			ip, err := netip.ParseAddr(strings.TrimSpace(a.Address))
			if err != nil || ip.IsUnspecified() || ip.IsLoopback() || ip.IsMulticast() || ip.Zone() != "" {
				continue
			}
			ip = ip.Unmap()
			if !slices.Contains(out, ip) {
				out = append(out, ip)
			}
		}
		return out
	}
	ips := pick("ExternalIP")
	if len(ips) == 0 && s.InternalFallback {
		ips = pick("InternalIP")
	}
	return ips
}

// Desired is the records every name should have for these nodes: one A per IPv4 address and one
// AAAA per IPv6 address of each qualifying node, sorted, without duplicates. It also returns how
// many nodes qualified with at least one address (zero means: keep what exists, never wipe).
func Desired(nodes []Node, names []string, s Selection) ([]Record, int) {
	var ips []netip.Addr
	qualifying := 0
	for i := range nodes {
		n := &nodes[i]
		if !s.Qualifies(n) {
			continue
		}
		addrs := s.Addresses(n)
		if len(addrs) > 0 {
			qualifying++
		}
		ips = append(ips, addrs...)
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	ips = slices.Compact(ips)
	var out []Record
	for _, name := range names {
		for _, ip := range ips {
			t := "A"
			if ip.Is6() {
				t = "AAAA"
			}
			out = append(out, Record{Name: CanonicalName(name), Type: t, Content: ip.String()})
		}
	}
	return out, qualifying
}

// CanonicalName is a DNS name as Cloudflare returns it: lower case, no trailing dot.
func CanonicalName(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
}

// Fingerprint is what about a node matters to DNS; node updates that keep it (heartbeats, label
// or image changes) are not worth a sync.
func (s Selection) Fingerprint(n *Node) string {
	if n == nil || !s.Qualifies(n) {
		return ""
	}
	var b strings.Builder
	for _, ip := range s.Addresses(n) {
		b.WriteString(ip.String())
		b.WriteByte(',')
	}
	return b.String()
}
