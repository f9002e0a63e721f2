package stacks

import (
	"fmt"
	"net"
	"slices"
)

// NetworkPolicyConfig is the stack's NetworkPolicies: derived from the definition (waitFor,
// routes, playground fallbacks; docs/network-policies.md), on unless the stack turns them off.
type NetworkPolicyConfig struct {
	NetworkPolicy NetworkPolicy `config:"networkPolicy"`
}

// NetworkPolicy is the stack-wide part of the derived policies.
type NetworkPolicy struct {
	// Enabled makes a default-deny policy in every namespace the stack owns and the allow
	// policies derived from the definition. Default true. Policies are enforced only by a data
	// plane that implements them (on GKE: cluster.gke.dataplaneV2).
	Enabled *bool `json:"enabled"`
	// NodeCIDRs are the nodes' address ranges. The edge runs on the host network, so an enforcing
	// data plane sees its connections to the routed services as coming from a node address: the
	// routed services' ingress allows these ranges on their routed ports. The local cluster's DNS
	// (CoreDNS on a node address) is allowed there too. Default: "10.128.0.0/9" (every subnet of
	// an auto-mode VPC, GKE's "default" network) on GKE with cluster.gke.network "default";
	// "10.213.0.0/16" (the local cluster's node bridge) on an existing cluster; required on GKE
	// with another network.
	NodeCIDRs []string `json:"nodeCIDRs"`
	// APIServer is where the DNS-sync controller reaches the Kubernetes API.
	APIServer APIServerEndpoint `json:"apiServer"`
}

// APIServerEndpoint is the Kubernetes API as a NetworkPolicy sees it: the address behind the
// kubernetes Service.
type APIServerEndpoint struct {
	// CIDRs the API server's address is in. Default: "0.0.0.0/0" on GKE (the control plane's
	// public endpoint, an address GKE assigns at creation); the node ranges (nodeCIDRs) on an
	// existing cluster (the local cluster's API server listens on the node bridge).
	CIDRs []string `json:"cidrs"`
	// Port of the API server; 0 allows any port. Default 443 on GKE, 0 on an existing cluster
	// (the local cluster picks a free port).
	Port int `json:"port"`
}

// ServiceNetworkPolicy is what a service adds to its derived policies.
type ServiceNetworkPolicy struct {
	// Ingress are more sources that may connect to the service's pods. Default: none.
	Ingress []PolicyRule `json:"ingress"`
	// Egress are more destinations the service's pods (workers, CronJobs and release Jobs
	// included) may connect to, e.g. an external API by its address range. Default: none.
	Egress []PolicyRule `json:"egress"`
}

// PolicyRule is one extra path: exactly one of CIDR and Namespace, on Ports.
type PolicyRule struct {
	// CIDR is an address range ("203.0.113.0/24"; "0.0.0.0/0" for anywhere).
	CIDR string `json:"cidr"`
	// Namespace names a namespace whose every pod is the peer.
	Namespace string `json:"namespace"`
	// Ports are the ports allowed (required: at least one).
	Ports []int `json:"ports"`
	// Protocol of the ports: "TCP" (default) or "UDP".
	Protocol string `json:"protocol"`
}

// Defaults of the network policies.
const (
	DefaultGKENodeCIDR      = "10.128.0.0/9"
	DefaultLocalNodeCIDR    = "10.213.0.0/16"
	DefaultGKEAPIServerPort = 443
)

func (c *NetworkPolicyConfig) defaults() { c.NetworkPolicy = NetworkPolicy{} }

// PoliciesEnabled says whether the stack makes NetworkPolicies.
func (n *NetworkPolicy) PoliciesEnabled() bool { return n.Enabled == nil || *n.Enabled }

func (c *NetworkPolicyConfig) checkAndFillDefaults(all *Config) []FieldError {
	const k = Namespace + ":networkPolicy"
	n := &c.NetworkPolicy
	var errs []FieldError
	gke := all.Cluster.Mode == ClusterModeGKE
	if len(n.NodeCIDRs) == 0 {
		switch {
		case !gke:
			n.NodeCIDRs = []string{DefaultLocalNodeCIDR}
		case all.Cluster.GKE.Network == "default":
			n.NodeCIDRs = []string{DefaultGKENodeCIDR}
		case n.PoliciesEnabled():
			errs = append(errs, fieldErr(k+".nodeCIDRs", nil, "is required on GKE with cluster.gke.network "+fmt.Sprintf("%q", all.Cluster.GKE.Network),
				"give the primary range of the nodes' subnetwork (gcloud compute networks subnets describe <subnet> --format='value(ipCidrRange)'), e.g. [\"10.10.0.0/20\"], or set enabled: false"))
		}
	}
	for i, r := range n.NodeCIDRs {
		errs = append(errs, checkCIDR(fmt.Sprintf("%s.nodeCIDRs[%d]", k, i), r)...)
	}
	if len(n.APIServer.CIDRs) == 0 {
		if gke {
			n.APIServer.CIDRs = []string{"0.0.0.0/0"}
		} else {
			n.APIServer.CIDRs = slices.Clone(n.NodeCIDRs)
		}
	}
	for i, r := range n.APIServer.CIDRs {
		errs = append(errs, checkCIDR(fmt.Sprintf("%s.apiServer.cidrs[%d]", k, i), r)...)
	}
	if n.APIServer.Port == 0 && gke {
		n.APIServer.Port = DefaultGKEAPIServerPort
	}
	if p := n.APIServer.Port; p < 0 || p > 65535 {
		errs = append(errs, fieldErr(k+".apiServer.port", p, "is not a port", "give 1-65535, or 0 for any port"))
	}
	for i := range all.Services {
		s := &all.Services[i]
		key := fmt.Sprintf("%s:services[%d].networkPolicy", Namespace, i)
		for j := range s.NetworkPolicy.Ingress {
			errs = append(errs, s.NetworkPolicy.Ingress[j].check(fmt.Sprintf("%s.ingress[%d]", key, j))...)
		}
		for j := range s.NetworkPolicy.Egress {
			errs = append(errs, s.NetworkPolicy.Egress[j].check(fmt.Sprintf("%s.egress[%d]", key, j))...)
		}
	}
	return errs
}

// networkPolicyWarnings: policies GKE's default data plane would not enforce.
func (c *Config) networkPolicyWarnings() []FieldError {
	if c.Cluster.Mode != ClusterModeGKE || !c.NetworkPolicy.PoliciesEnabled() || c.Cluster.GKE.DataplaneV2 {
		return nil
	}
	return []FieldError{fieldErr(Namespace+":cluster.gke.dataplaneV2", false,
		"leaves the NetworkPolicies of shoestring:networkPolicy unenforced: GKE's default data plane ignores them",
		"set it to true (this replaces an existing cluster), or set shoestring:networkPolicy.enabled to false")}
}

func checkCIDR(key, v string) []FieldError {
	if _, ipnet, err := net.ParseCIDR(v); err != nil || ipnet.IP.To4() == nil {
		return []FieldError{fieldErr(key, v, "is not an IPv4 CIDR", "write an address range such as \"10.0.0.0/16\" or \"203.0.113.7/32\"")}
	}
	return nil
}

func (r *PolicyRule) check(key string) []FieldError {
	var errs []FieldError
	switch {
	case (r.CIDR == "") == (r.Namespace == ""):
		errs = append(errs, fieldErr(key, fmt.Sprintf("cidr %q, namespace %q", r.CIDR, r.Namespace), "must set exactly one of cidr and namespace",
			"give cidr: \"203.0.113.0/24\" for an address range or namespace: \"monitoring\" for every pod of a namespace"))
	case r.CIDR != "":
		errs = append(errs, checkCIDR(key+".cidr", r.CIDR)...)
	case !isDNSLabel(r.Namespace):
		errs = append(errs, fieldErr(key+".namespace", r.Namespace, "is not a namespace name", "use a DNS label: lowercase letters, digits and hyphens"))
	}
	if len(r.Ports) == 0 {
		errs = append(errs, fieldErr(key+".ports", nil, "is required", "list the ports the path uses, e.g. [443]"))
	}
	for i, p := range r.Ports {
		if p < 1 || p > 65535 {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.ports[%d]", key, i), p, "is not a port", "give a port number 1-65535"))
		}
	}
	switch r.Protocol {
	case "":
		r.Protocol = "TCP"
	case "TCP", "UDP":
	default:
		errs = append(errs, fieldErr(key+".protocol", r.Protocol, "is not a protocol", "use \"TCP\" (the default) or \"UDP\""))
	}
	return errs
}
