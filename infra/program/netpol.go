package program

import (
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shoestring-dev/shoestring/components/dnssync"
	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/components/netpol"
	"github.com/shoestring-dev/shoestring/components/service"
	"github.com/shoestring-dev/shoestring/stacks"
)

// PlaygroundOfLabel marks a playground's namespace with its base namespace: the base stack's
// policies admit the playgrounds' pods by it (a namespace selector cannot match a name prefix).
const PlaygroundOfLabel = "shoestring.dev/playground-of"

// Who is who, by the labels the components put on pods.
func servicePods(name string) map[string]string { return map[string]string{service.LabelName: name} }
func serverPods(name string) map[string]string {
	return map[string]string{service.LabelName: name, service.LabelComponent: service.ComponentServer}
}
func backingPods(name string) map[string]string {
	return map[string]string{service.LabelName: name, service.LabelComponent: "backing"}
}

// The cluster DNS: kube-dns pods on GKE (and any cluster running CoreDNS as pods labelled the
// kubeadm way); the nodes' addresses where it runs on the node (the local cluster's CoreDNS).
func dnsRule(np *stacks.NetworkPolicy) netpol.Rule {
	peers := []netpol.Peer{netpol.InNamespace("kube-system", map[string]string{"k8s-app": "kube-dns"})}
	for _, c := range np.NodeCIDRs {
		peers = append(peers, netpol.Peer{CIDR: c})
	}
	return netpol.Rule{Peers: peers, Ports: []netpol.Port{{Port: 53, Protocol: netpol.UDP}, {Port: 53, Protocol: netpol.TCP}}}
}

// target is what a waitFor entry connects to: pods (Selector in Namespace, "" for the stack's own)
// or an address, on Ports.
type target struct {
	name      string // the service or backing service in this namespace, "" otherwise
	namespace string
	pods      map[string]string
	cidr      string
	ports     []int
}

func (t target) peer(own string) netpol.Peer {
	if t.cidr != "" {
		return netpol.Peer{CIDR: t.cidr}
	}
	if t.namespace == own {
		return netpol.Peer{Pods: t.pods}
	}
	return netpol.InNamespace(t.namespace, t.pods)
}

// resolver turns waitFor entries into targets.
type resolver struct {
	cfg      *stacks.Config
	services map[string]*stacks.Service
	backing  map[string]*stacks.Backing
}

func newResolver(cfg *stacks.Config) *resolver {
	r := &resolver{cfg: cfg, services: map[string]*stacks.Service{}, backing: map[string]*stacks.Backing{}}
	for i := range cfg.Services {
		r.services[cfg.Services[i].Name] = &cfg.Services[i]
	}
	for i := range cfg.Backing {
		r.backing[cfg.Backing[i].Name] = &cfg.Backing[i]
	}
	return r
}

// resolve maps one waitFor entry; ok is false for what no policy can name (a command, a host
// outside the cluster known only by its DNS name).
func (r *resolver) resolve(entry string) (target, bool) {
	wf, err := stacks.ParseWaitFor(entry, r.cfg.Endpoints())
	if err != nil || wf.Kind == stacks.WaitCommand {
		return target{}, false
	}
	port := wf.Port
	named := wf.Kind == stacks.WaitTCP && entry == wf.Host // a bare name: every port of the target
	if wf.Kind == stacks.WaitHTTP {
		port = 80
		if u, err := url.Parse(wf.URL); err == nil && u.Port() != "" {
			port, _ = strconv.Atoi(u.Port()) // validated by stacks
		}
	}
	return r.host(wf.Host, port, named)
}

func (r *resolver) host(host string, port int, named bool) (target, bool) {
	ns := r.cfg.Namespace
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		return target{cidr: ip.String() + "/32", ports: []int{port}}, true
	}
	if s, ok := r.services[host]; ok {
		t := target{name: host, namespace: ns, pods: serverPods(host), ports: []int{port}}
		if named {
			t.ports = nil
			for _, p := range s.Ports {
				t.ports = append(t.ports, p.Port)
			}
		}
		return t, true
	}
	if b, ok := r.backing[host]; ok {
		if b.Mode == stacks.BackingExternal {
			return r.host(b.Host, b.Port, false)
		}
		t := target{name: host, namespace: ns, pods: backingPods(host), ports: []int{port}}
		if named {
			t.ports = []int{b.Port}
			for _, p := range b.Ports {
				if !slices.Contains(t.ports, p.Port) {
					t.ports = append(t.ports, p.Port)
				}
			}
		}
		return t, true
	}
	// <name>.<namespace>.svc[.<cluster domain>]: a Service of another namespace, whose pods carry
	// its name (services' and backing services' alike). <name>.<namespace> alone is not taken:
	// it reads like a domain outside the cluster ("example.org").
	parts := strings.Split(strings.TrimSuffix(host, "."+r.cfg.Edge.ClusterDomain), ".")
	if len(parts) == 3 && parts[2] == "svc" {
		return target{namespace: parts[1], pods: servicePods(parts[0]), ports: []int{port}}, true
	}
	// A short name this stack does not deploy: a playground resolves it in its base namespace.
	if len(parts) == 1 && r.cfg.Playground.IsPlayground() {
		return target{namespace: r.cfg.Playground.BaseNamespace, pods: servicePods(host), ports: []int{port}}, true
	}
	return target{}, false
}

func tcp(ports []int) []netpol.Port {
	out := make([]netpol.Port, 0, len(ports))
	for _, p := range ports {
		out = append(out, netpol.Port{Port: p, Protocol: netpol.TCP})
	}
	return out
}

func extraRule(r stacks.PolicyRule) netpol.Rule {
	peer := netpol.Peer{CIDR: r.CIDR}
	if r.Namespace != "" {
		peer = netpol.Peer{NamespaceLabels: map[string]string{netpol.NamespaceNameLabel: r.Namespace}}
	}
	out := netpol.Rule{Peers: []netpol.Peer{peer}}
	for _, p := range r.Ports {
		out.Ports = append(out.Ports, netpol.Port{Port: p, Protocol: r.Protocol})
	}
	return out
}

// NetworkPolicyPlan is every namespace's policies, in the order the namespaces are made.
type NetworkPolicyPlan struct {
	Workloads *netpol.Args
	Edge      *netpol.Args // nil in playgrounds (they share the base stack's edge)
	DNSSync   *netpol.Args // nil where the stack runs no DNS-sync controller
}

// PlanNetworkPolicies derives the stack's policies from its definition; nil when the stack turns
// them off. Every namespace gets default-deny; the allow policies open:
//   - DNS for every pod;
//   - each service's pods (workers, CronJobs and release Jobs carry the service's name label too)
//     to what its waitFor entries and its release Jobs' name, on the target's ports, and the
//     targets' ingress from them (and from the same services in the playgrounds of this base);
//   - the edge to every routed service's port, and the routed services' ingress from the nodes
//     (the edge is on the host network);
//   - the DNS-sync controller to the API server and to the Cloudflare API (443);
//   - each service's own networkPolicy section.
func PlanNetworkPolicies(cfg *stacks.Config) *NetworkPolicyPlan {
	np := &cfg.NetworkPolicy
	if !np.PoliciesEnabled() {
		return nil
	}
	ns := cfg.Namespace
	r := newResolver(cfg)
	dns := netpol.Policy{Name: "allow-dns", Egress: []netpol.Rule{dnsRule(np)}}
	work := &netpol.Args{Namespace: ns, Policies: []netpol.Policy{dns}}

	// ingress[name] are the rules into a service's or backing service's pods.
	ingress := map[string][]netpol.Rule{}
	var order []string
	addIngress := func(name string, rule netpol.Rule) {
		if _, seen := ingress[name]; !seen {
			order = append(order, name)
		}
		ingress[name] = netpol.Merge(ingress[name], rule)
	}
	playgroundsOfThis := cfg.Edge.Playgrounds.Domain != "" && !cfg.Playground.IsPlayground()
	for _, s := range cfg.Services {
		entries := slices.Clone(s.WaitFor)
		for _, j := range s.ReleaseJobs {
			entries = append(entries, j.WaitFor...)
		}
		var egress []netpol.Rule
		for _, e := range entries {
			t, ok := r.resolve(e)
			if !ok {
				continue
			}
			egress = netpol.Merge(egress, netpol.Rule{Peers: []netpol.Peer{t.peer(ns)}, Ports: tcp(t.ports)})
			if t.name == "" {
				continue
			}
			addIngress(t.name, netpol.Rule{Peers: []netpol.Peer{{Pods: servicePods(s.Name)}}, Ports: tcp(t.ports)})
			if playgroundsOfThis {
				addIngress(t.name, netpol.Rule{Peers: []netpol.Peer{{Pods: servicePods(s.Name),
					NamespaceLabels: map[string]string{PlaygroundOfLabel: ns}}}, Ports: tcp(t.ports)})
			}
		}
		for _, x := range s.NetworkPolicy.Egress {
			egress = netpol.Merge(egress, extraRule(x))
		}
		for _, x := range s.NetworkPolicy.Ingress {
			addIngress(s.Name, extraRule(x))
		}
		if len(egress) > 0 {
			work.Policies = append(work.Policies, netpol.Policy{Name: s.Name + "-egress", Pods: servicePods(s.Name), Egress: egress})
		}
	}

	// The edge's connections come from the host network: a node address.
	var nodes []netpol.Peer
	for _, c := range np.NodeCIDRs {
		nodes = append(nodes, netpol.Peer{CIDR: c})
	}
	var edgeEgress []netpol.Rule
	routed := func(svc string, port int) {
		addIngress(svc, netpol.Rule{Peers: nodes, Ports: tcp([]int{port})})
	}
	if cfg.Playground.IsPlayground() {
		if g := cfg.Edge.Playgrounds.GatewayService; g != "" {
			routed(g, cfg.PlaygroundGatewayPort())
		}
		for _, g := range cfg.PlaygroundExtraGateways() {
			routed(g.Service, g.Port)
		}
	} else {
		for _, rt := range cfg.EdgeRoutes() {
			routed(rt.Service, rt.Port)
			edgeEgress = netpol.Merge(edgeEgress, netpol.Rule{Peers: []netpol.Peer{netpol.InNamespace(rt.Namespace, serverPods(rt.Service))},
				Ports: tcp([]int{rt.Port})})
		}
		if playgroundsOfThis {
			gw := map[string]int{cfg.Edge.Playgrounds.GatewayService: cfg.PlaygroundGatewayPort()}
			for _, g := range cfg.PlaygroundExtraGateways() {
				gw[g.Service] = g.Port
			}
			for _, name := range slices.Sorted(maps.Keys(gw)) {
				edgeEgress = netpol.Merge(edgeEgress, netpol.Rule{Peers: []netpol.Peer{{Pods: serverPods(name),
					NamespaceLabels: map[string]string{PlaygroundOfLabel: ns}}}, Ports: tcp([]int{gw[name]})})
			}
		}
	}
	for _, name := range order {
		pods := serverPods(name)
		if _, isBacking := r.backing[name]; isBacking {
			pods = backingPods(name)
		}
		work.Policies = append(work.Policies, netpol.Policy{Name: name + "-ingress", Pods: pods, Ingress: ingress[name]})
	}
	plan := &NetworkPolicyPlan{Workloads: work}
	if cfg.Playground.IsPlayground() {
		return plan
	}

	// The edge is on the host network, which most data planes do not police; its policy says what
	// it needs for those that do.
	e := &cfg.Edge
	edgePolicy := netpol.Policy{Name: "edge", Pods: map[string]string{service.LabelName: edge.Name},
		Ingress: []netpol.Rule{{Ports: tcp([]int{80, 443, e.HealthPort})}},
		Egress:  append([]netpol.Rule{dnsRule(np)}, edgeEgress...)}
	plan.Edge = &netpol.Args{Namespace: e.Namespace, Policies: []netpol.Policy{edgePolicy}}

	if cfg.DNSSync.Enabled {
		api := netpol.Rule{}
		for _, c := range np.APIServer.CIDRs {
			api.Peers = append(api.Peers, netpol.Peer{CIDR: c})
		}
		if np.APIServer.Port != 0 {
			api.Ports = tcp([]int{np.APIServer.Port})
		}
		// The Cloudflare API has no fixed address a policy could name: 443 anywhere.
		cloudflare := netpol.Rule{Peers: []netpol.Peer{{CIDR: "0.0.0.0/0"}}, Ports: tcp([]int{443})}
		plan.DNSSync = &netpol.Args{Namespace: cfg.DNSSync.Namespace, Policies: []netpol.Policy{
			{Name: "dns-sync", Pods: map[string]string{service.LabelName: dnssync.Name}, Egress: []netpol.Rule{dnsRule(np), api, cloudflare}},
		}}
	}
	return plan
}
