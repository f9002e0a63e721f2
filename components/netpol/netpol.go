// Package netpol is a namespace's NetworkPolicies as a component: one policy that denies every
// pod's ingress and egress, and allow policies that open exactly the paths they list. The program
// derives the allow policies from what the definition already says (waitFor, routes, playground
// fallbacks); this package knows nothing of that, only of selectors, peers and ports.
//
// Policies select pods by their labels and never touch a pod template, so adding, changing or
// removing them restarts no workload.
package netpol

import (
	"maps"
	"slices"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:netpol:NetworkPolicies"

// DefaultDenyName is the policy that selects every pod of the namespace and allows nothing.
const DefaultDenyName = "default-deny"

// NamespaceNameLabel is the label the API server sets on every namespace to its name (Kubernetes
// 1.22 and later), which lets a peer name a namespace without the namespace opting in.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Protocols a port may have.
const (
	TCP = "TCP"
	UDP = "UDP"
)

// Args are the component's inputs: the namespace and its allow policies (the default-deny policy
// is always made).
type Args struct {
	Namespace string
	Policies  []Policy
	// After are what the policies wait for (the namespace).
	After []pulumi.Resource
}

// Policy allows traffic to (Ingress) and from (Egress) the pods its selector picks.
type Policy struct {
	// Name of the NetworkPolicy, unique in the namespace.
	Name string
	// Pods are the labels the policy's pods carry; empty selects every pod of the namespace.
	Pods    map[string]string
	Ingress []Rule
	Egress  []Rule
}

// Rule is one allow rule: from (ingress) or to (egress) any of Peers, on any of Ports. No peers
// means any address; no ports means any port.
type Rule struct {
	Peers []Peer
	Ports []Port
}

// Peer is one end of a path: pods (by labels, in the policy's namespace or in namespaces picked by
// NamespaceLabels) or an address range. Exactly one of Pods/NamespaceLabels and CIDR is set;
// Pods nil with NamespaceLabels set means every pod of those namespaces.
type Peer struct {
	Pods            map[string]string
	NamespaceLabels map[string]string
	CIDR            string
}

// Port is a port number and protocol ("TCP" when empty).
type Port struct {
	Port     int
	Protocol string
}

// InNamespace is a peer of pods with the given labels in the namespace named ns.
func InNamespace(ns string, pods map[string]string) Peer {
	return Peer{Pods: pods, NamespaceLabels: map[string]string{NamespaceNameLabel: ns}}
}

// NetworkPolicies is the component.
type NetworkPolicies struct {
	pulumi.ResourceState

	// Policies are the namespace's policies, the default-deny one first.
	Policies []*networkingv1.NetworkPolicy
}

// New creates the default-deny policy and every allow policy of a.
func New(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) (*NetworkPolicies, error) {
	n := &NetworkPolicies{}
	if err := ctx.RegisterComponentResource(TypeToken, name, n, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(n)}
	if len(a.After) > 0 {
		child = append(child, pulumi.DependsOn(a.After))
	}
	var names pulumi.StringArray
	for _, p := range All(a) {
		np, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+p.Name, PolicyArgs(a.Namespace, p), child...)
		if err != nil {
			return nil, err
		}
		n.Policies = append(n.Policies, np)
		names = append(names, pulumi.String(p.Name))
	}
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{"namespace": pulumi.String(a.Namespace), "policies": names}); err != nil {
		return nil, err
	}
	return n, nil
}

// All are the namespace's policies: default-deny first, then a's in order.
func All(a *Args) []Policy {
	return append([]Policy{{Name: DefaultDenyName}}, a.Policies...)
}

// PolicyArgs is one NetworkPolicy. A policy with neither ingress nor egress rules denies both
// (default-deny); otherwise its policyTypes are those it has rules for, so an allow policy never
// denies what another policy allows.
func PolicyArgs(namespace string, p Policy) *networkingv1.NetworkPolicyArgs {
	var types []string
	if len(p.Ingress) > 0 || len(p.Egress) == 0 {
		types = append(types, "Ingress")
	}
	if len(p.Egress) > 0 || len(p.Ingress) == 0 {
		types = append(types, "Egress")
	}
	spec := &networkingv1.NetworkPolicySpecArgs{
		PodSelector: selector(p.Pods),
		PolicyTypes: pulumi.ToStringArray(types),
	}
	if len(p.Ingress) > 0 {
		var in networkingv1.NetworkPolicyIngressRuleArray
		for _, r := range p.Ingress {
			rule := networkingv1.NetworkPolicyIngressRuleArgs{}
			if len(r.Peers) > 0 {
				rule.From = peers(r.Peers)
			}
			if len(r.Ports) > 0 {
				rule.Ports = ports(r.Ports)
			}
			in = append(in, rule)
		}
		spec.Ingress = in
	}
	if len(p.Egress) > 0 {
		var out networkingv1.NetworkPolicyEgressRuleArray
		for _, r := range p.Egress {
			rule := networkingv1.NetworkPolicyEgressRuleArgs{}
			if len(r.Peers) > 0 {
				rule.To = peers(r.Peers)
			}
			if len(r.Ports) > 0 {
				rule.Ports = ports(r.Ports)
			}
			out = append(out, rule)
		}
		spec.Egress = out
	}
	return &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(p.Name), Namespace: pulumi.String(namespace),
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("shoestring"), "app.kubernetes.io/component": pulumi.String("network-policy")},
		},
		Spec: spec,
	}
}

// selector is a label selector; an empty one (every pod) is written as {} rather than left out.
func selector(labels map[string]string) *metav1.LabelSelectorArgs {
	s := &metav1.LabelSelectorArgs{}
	if len(labels) > 0 {
		s.MatchLabels = pulumi.ToStringMap(labels)
	}
	return s
}

func peers(ps []Peer) networkingv1.NetworkPolicyPeerArray {
	var out networkingv1.NetworkPolicyPeerArray
	for _, p := range ps {
		if p.CIDR != "" {
			out = append(out, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(p.CIDR)}})
			continue
		}
		peer := networkingv1.NetworkPolicyPeerArgs{}
		if p.Pods != nil {
			peer.PodSelector = selector(p.Pods)
		}
		if p.NamespaceLabels != nil {
			peer.NamespaceSelector = selector(p.NamespaceLabels)
		}
		out = append(out, peer)
	}
	return out
}

func ports(ps []Port) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = TCP
		}
		out = append(out, networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(p.Port), Protocol: pulumi.String(proto)})
	}
	return out
}

// Merge adds rule r to the rules, or its ports to a rule with the same peers, keeping the order
// of first appearance; ports are deduplicated.
func Merge(rules []Rule, r Rule) []Rule {
	for i := range rules {
		if samePeers(rules[i].Peers, r.Peers) {
			for _, p := range r.Ports {
				if !slices.Contains(rules[i].Ports, p) {
					rules[i].Ports = append(rules[i].Ports, p)
				}
			}
			return rules
		}
	}
	return append(rules, r)
}

func samePeers(a, b []Peer) bool {
	return slices.EqualFunc(a, b, func(x, y Peer) bool {
		return x.CIDR == y.CIDR && (x.Pods == nil) == (y.Pods == nil) && maps.Equal(x.Pods, y.Pods) &&
			(x.NamespaceLabels == nil) == (y.NamespaceLabels == nil) && maps.Equal(x.NamespaceLabels, y.NamespaceLabels)
	})
}
