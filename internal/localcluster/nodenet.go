package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

// The real nodes' network. Each cluster with real nodes takes a slot S (0..maxSlots-1), which
// names its links and picks its host-side subnet, so several clusters (parallel test packages)
// can run at once:
//
//	host:        bridge shoeS, 10.213.S.1/24 (the apiserver listens here too)
//	node i:      network namespace shoeS-n<i>, veth shoeS-n<i> (host end, in the bridge) to eth0
//	             10.213.S.(10+i)/24 inside; pod bridge cni0 with pods in 10.244.i.0/24
//
// A node namespace has no default route: its routes reach the host subnet and the other nodes'
// pod ranges, nothing else, so a pod or node packet to any other address fails inside the
// namespace instead of leaving the machine. IP forwarding is switched on inside the namespace
// only, and the one NAT rule (pods to the host subnet, whose replies the host could not route
// back) lives there too. The host gets the bridge and the veth ends, nothing else: its own
// sysctls, routes and firewall are not touched.

const (
	maxSlots        = 32
	podCIDR         = "10.244.0.0/16"
	serviceCIDR     = "10.96.0.0/16"
	clusterDNSIP    = "10.96.0.10"
	kubernetesSvcIP = "10.96.0.1"
)

// nodeNet is the addressing of one cluster's real nodes.
type nodeNet struct {
	Slot int `json:"slot"`
}

func (n nodeNet) Bridge() string         { return fmt.Sprintf("shoe%d", n.Slot) }
func (n nodeNet) HostIP() string         { return fmt.Sprintf("10.213.%d.1", n.Slot) }
func (n nodeNet) Subnet() string         { return fmt.Sprintf("10.213.%d.0/24", n.Slot) }
func (n nodeNet) Netns(i int) string     { return fmt.Sprintf("shoe%d-n%d", n.Slot, i) }
func (n nodeNet) HostVeth(i int) string  { return fmt.Sprintf("shoe%d-n%d", n.Slot, i) }
func (n nodeNet) NodeIP(i int) string    { return fmt.Sprintf("10.213.%d.%d", n.Slot, 10+i) }
func (n nodeNet) PodSubnet(i int) string { return fmt.Sprintf("10.244.%d.0/24", i) }
func (n nodeNet) NetnsPath(i int) string { return "/run/netns/" + n.Netns(i) }

// slotHostIPs are the bridge addresses of every slot: the apiserver's certificate names them all,
// so a cluster folder keeps its certificates whatever slot a later start gets.
func slotHostIPs() []net.IP {
	var ips []net.IP
	for s := 0; s < maxSlots; s++ {
		ips = append(ips, net.ParseIP(nodeNet{Slot: s}.HostIP()))
	}
	return ips
}

// run runs a command and returns its error with its output.
func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// inNetns runs a command inside node i's namespace.
func (n nodeNet) inNetns(ctx context.Context, i int, name string, args ...string) error {
	return run(ctx, "nsenter", append([]string{"--net=" + n.NetnsPath(i), "--", name}, args...)...)
}

// claimSlot creates the bridge of the first free slot (creating a link is atomic, so two clusters
// starting at once never share one) and gives it its address.
func claimSlot(ctx context.Context) (nodeNet, error) {
	for s := 0; s < maxSlots; s++ {
		n := nodeNet{Slot: s}
		if _, err := net.InterfaceByName(n.Bridge()); err == nil {
			continue
		}
		if err := run(ctx, "ip", "link", "add", n.Bridge(), "type", "bridge"); err != nil {
			if strings.Contains(err.Error(), "File exists") {
				continue
			}
			return n, fmt.Errorf("creating the nodes' bridge: %w", err)
		}
		for _, args := range [][]string{
			{"addr", "add", n.HostIP() + "/24", "dev", n.Bridge()},
			{"link", "set", n.Bridge(), "up"},
		} {
			if err := run(ctx, "ip", args...); err != nil {
				_ = run(context.Background(), "ip", "link", "del", n.Bridge())
				return n, err
			}
		}
		return n, nil
	}
	return nodeNet{}, fmt.Errorf("all %d node network slots are taken (bridges shoe0..shoe%d): stop other local clusters (`shoestring cluster down`) or delete stale bridges with `ip link del shoeN`", maxSlots, maxSlots-1)
}

// addNode makes node i's namespace, its veth into the bridge, the routes to the other nodes'
// pods and its forwarding and NAT.
func (n nodeNet) addNode(ctx context.Context, i, nodes int) error {
	ns, veth := n.Netns(i), n.HostVeth(i)
	_ = run(ctx, "ip", "netns", "del", ns) // a stale one from a killed run
	if err := run(ctx, "ip", "netns", "add", ns); err != nil {
		return err
	}
	steps := [][]string{
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "link", "set", veth, "master", n.Bridge()},
		{"ip", "link", "set", veth, "up"},
	}
	for _, s := range steps {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	inside := [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", n.NodeIP(i) + "/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "up"},
		// Forwarding for pods and Services, in this namespace only.
		{"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		// Bridged pod traffic passes iptables, so a Service reply from a pod on the same bridge
		// is translated back (kube-proxy's DNAT).
		{"sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"},
		// The host has no route to the pods: their packets to the host subnet (the apiserver)
		// leave with the node's address.
		{"iptables", "-t", "nat", "-A", "POSTROUTING", "-s", podCIDR, "-d", n.Subnet(), "-j", "MASQUERADE"},
		// The node's own processes (hostNetwork pods such as the edge) connect to Service
		// addresses: the kernel needs a route before kube-proxy's DNAT rewrites the address.
		// Nothing answers there on the wire, so no packet leaves through it unrewritten.
		{"ip", "route", "add", serviceCIDR, "dev", "eth0"},
	}
	for j := 0; j < nodes; j++ {
		if j != i {
			inside = append(inside, []string{"ip", "route", "add", n.PodSubnet(j), "via", n.NodeIP(j)})
		}
	}
	for _, s := range inside {
		if err := n.inNetns(ctx, i, s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// removeNet deletes the namespaces (their veths, pod bridges, routes and iptables rules go with
// them) and the bridge. What is already gone is not an error.
func (n nodeNet) removeNet(nodes int) error {
	ctx := context.Background()
	var errs []error
	for i := 0; i < nodes; i++ {
		if _, err := os.Stat(n.NetnsPath(i)); err == nil {
			if err := run(ctx, "ip", "netns", "del", n.Netns(i)); err != nil {
				errs = append(errs, err)
			}
		}
		if _, err := net.InterfaceByName(n.HostVeth(i)); err == nil {
			_ = run(ctx, "ip", "link", "del", n.HostVeth(i))
		}
	}
	if _, err := net.InterfaceByName(n.Bridge()); err == nil {
		if err := run(ctx, "ip", "link", "del", n.Bridge()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
