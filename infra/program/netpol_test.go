package program

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/components/cluster"
	"github.com/shoestring-dev/shoestring/components/netpol"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

const k8sNetworkPolicy = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

// policy is a deployed NetworkPolicy's spec, by the component's name and the policy's.
func policy(t *testing.T, rec *pulumimock.Record, component, name string) map[string]any {
	t.Helper()
	return one(t, rec, k8sNetworkPolicy, component+"-"+name)["spec"].(map[string]any)
}

func rules(spec map[string]any, kind string) []any {
	r, _ := spec[kind].([]any)
	return r
}

func peer(rule any, i int) map[string]any {
	key := "from"
	if _, ok := rule.(map[string]any)["to"]; ok {
		key = "to"
	}
	return rule.(map[string]any)[key].([]any)[i].(map[string]any)
}

func portsOf(rule any) []string {
	var out []string
	for _, p := range rule.(map[string]any)["ports"].([]any) {
		m := p.(map[string]any)
		out = append(out, fmt.Sprintf("%s/%v", m["protocol"], m["port"]))
	}
	return out
}

func matchLabels(sel any) map[string]any {
	m, _ := sel.(map[string]any)["matchLabels"].(map[string]any)
	return m
}

// Every namespace a shipped stack owns starts from deny-all; the allow policies are the paths the
// definition names: api (and its worker, CronJobs and release Jobs) to MySQL and Redis, the edge
// to api's routed port, api's ingress from the nodes (the edge is on the host network), the DNS
// for everyone, and the DNS-sync controller to the API server and Cloudflare.
func TestShippedStacksDeriveTheirNetworkPolicies(t *testing.T) {
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg := loadStack(t, stack)
			rec := deployStack(t, stack)
			owned := map[string]string{"network-policies": cfg.Namespace, "edge-network-policies": cfg.Edge.Namespace}
			if cfg.DNSSync.Enabled {
				owned["dns-sync-network-policies"] = cfg.DNSSync.Namespace
			}
			for component, ns := range owned {
				deny := one(t, rec, k8sNetworkPolicy, component+"-default-deny")
				assert.Equal(t, ns, deny["metadata"].(map[string]any)["namespace"])
				spec := deny["spec"].(map[string]any)
				assert.Empty(t, matchLabels(spec["podSelector"]), "default-deny selects every pod of %s", ns)
				assert.Equal(t, []any{"Ingress", "Egress"}, spec["policyTypes"])
				assert.Empty(t, rules(spec, "ingress"))
				assert.Empty(t, rules(spec, "egress"))
			}

			dns := rules(policy(t, rec, "network-policies", "allow-dns"), "egress")
			require.Len(t, dns, 1)
			assert.Equal(t, map[string]any{"k8s-app": "kube-dns"}, matchLabels(peer(dns[0], 0)["podSelector"]))
			assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "kube-system"}, matchLabels(peer(dns[0], 0)["namespaceSelector"]))
			assert.Equal(t, cfg.NetworkPolicy.NodeCIDRs[0], peer(dns[0], 1)["ipBlock"].(map[string]any)["cidr"])
			assert.Equal(t, []string{"UDP/53", "TCP/53"}, portsOf(dns[0]))

			api := policy(t, rec, "network-policies", "api-egress")
			assert.Equal(t, map[string]any{"app.kubernetes.io/name": "api"}, matchLabels(api["podSelector"]),
				"one selector for the server, the worker, the CronJobs and the release Jobs")
			assert.Equal(t, []any{"Egress"}, api["policyTypes"])
			egress := rules(api, "egress")
			require.Len(t, egress, 2, "mysql and redis, what api's waitFor names")
			inCluster := cfg.Backing[0].Mode == stacks.BackingInCluster
			for i, b := range []struct {
				name, port string
				host       string
			}{{"mysql", "TCP/3306", cfg.Backing[0].Host}, {"redis", "TCP/6379", cfg.Backing[1].Host}} {
				assert.Equal(t, []string{b.port}, portsOf(egress[i]))
				p := peer(egress[i], 0)
				if inCluster {
					assert.Equal(t, map[string]any{"app.kubernetes.io/name": b.name, "app.kubernetes.io/component": "backing"}, matchLabels(p["podSelector"]))
					assert.Nil(t, p["namespaceSelector"], "the service's own namespace")
					in := rules(policy(t, rec, "network-policies", b.name+"-ingress"), "ingress")
					assert.Equal(t, map[string]any{"app.kubernetes.io/name": "api"}, matchLabels(peer(in[0], 0)["podSelector"]))
					assert.Equal(t, []string{b.port}, portsOf(in[0]))
				} else {
					assert.Equal(t, b.host+"/32", p["ipBlock"].(map[string]any)["cidr"], "an external database by its address")
					_, err := rec.One(k8sNetworkPolicy, "network-policies-"+b.name+"-ingress")
					assert.Error(t, err, "no ingress policy for a database outside the cluster")
				}
			}

			apiIn := policy(t, rec, "network-policies", "api-ingress")
			assert.Equal(t, map[string]any{"app.kubernetes.io/name": "api", "app.kubernetes.io/component": "server"}, matchLabels(apiIn["podSelector"]))
			fromNodes := rules(apiIn, "ingress")[0]
			assert.Equal(t, cfg.NetworkPolicy.NodeCIDRs[0], peer(fromNodes, 0)["ipBlock"].(map[string]any)["cidr"])
			assert.Equal(t, []string{"TCP/8080"}, portsOf(fromNodes))

			edge := policy(t, rec, "edge-network-policies", "edge")
			edgeEgress := rules(edge, "egress")
			toAPI := peer(edgeEgress[1], 0)
			assert.Equal(t, map[string]any{"app.kubernetes.io/name": "api", "app.kubernetes.io/component": "server"}, matchLabels(toAPI["podSelector"]))
			assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": cfg.Namespace}, matchLabels(toAPI["namespaceSelector"]))
			assert.Equal(t, []string{"TCP/8080"}, portsOf(edgeEgress[1]))

			if cfg.Edge.Playgrounds.Domain != "" {
				// The playgrounds' api falls back to this namespace's databases.
				in := rules(policy(t, rec, "network-policies", "mysql-ingress"), "ingress")
				require.Len(t, in, 2)
				assert.Equal(t, map[string]any{PlaygroundOfLabel: cfg.Namespace}, matchLabels(peer(in[1], 0)["namespaceSelector"]))
				assert.Equal(t, map[string]any{"app.kubernetes.io/name": "api"}, matchLabels(peer(in[1], 0)["podSelector"]))
				toGateway := peer(edgeEgress[2], 0)
				assert.Equal(t, map[string]any{PlaygroundOfLabel: cfg.Namespace}, matchLabels(toGateway["namespaceSelector"]))
			}

			if cfg.DNSSync.Enabled {
				sync := rules(policy(t, rec, "dns-sync-network-policies", "dns-sync"), "egress")
				require.Len(t, sync, 3)
				assert.Equal(t, "0.0.0.0/0", peer(sync[1], 0)["ipBlock"].(map[string]any)["cidr"], "the GKE API server's public endpoint")
				assert.Equal(t, []string{"TCP/443"}, portsOf(sync[1]))
				assert.Equal(t, []string{"TCP/443"}, portsOf(sync[2]), "the Cloudflare API")
			} else {
				_, err := rec.One(k8sNetworkPolicy, "dns-sync-network-policies-default-deny")
				assert.Error(t, err, "no controller, no namespace of its own")
			}
		})
	}
}

// The policies change no pod template and nothing waits for them: `up` of a stack that had none
// adds only NetworkPolicies, and restarts no workload.
func TestNetworkPoliciesLeaveEveryWorkloadAsItIs(t *testing.T) {
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			with := deployStack(t, stack)
			cfg := loadStack(t, stack)
			off := false
			cfg.NetworkPolicy.Enabled = &off
			without, err := pulumimock.Run(stack, func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
			require.NoError(t, err)
			assert.Empty(t, without.ByType(k8sNetworkPolicy))
			require.NotEmpty(t, with.ByType(k8sNetworkPolicy))

			var policyURNs []string
			for _, r := range with.Resources {
				if r.Type == k8sNetworkPolicy || r.Type == "shoestring:netpol:NetworkPolicies" {
					policyURNs = append(policyURNs, r.URN)
				}
			}
			others := map[string]pulumimock.Resource{}
			for _, r := range without.Resources {
				others[r.URN] = r
			}
			checked := 0
			for _, r := range with.Resources {
				if r.Type == k8sNetworkPolicy || r.Type == "shoestring:netpol:NetworkPolicies" {
					continue
				}
				o, ok := others[r.URN]
				require.True(t, ok, "%s exists only with policies", r.URN)
				assert.Equal(t, o.Plain(), r.Plain(), "%s differs with policies", r.URN)
				for _, d := range r.DependsOn {
					assert.NotContains(t, policyURNs, d, "%s waits for a policy", r.URN)
				}
				checked++
			}
			assert.Equal(t, len(without.Resources), checked)
		})
	}
}

// A playground's pods reach the base namespace's databases (shared as external names), its
// gateway is reachable from the nodes, and its namespace carries the label the base's policies
// admit it by.
func TestPlaygroundPoliciesFallBackToTheBaseNamespace(t *testing.T) {
	cfg := loadStack(t, "sandbox")
	cfg.Playground.Branch, cfg.Playground.BaseNamespace = "play/login", cfg.Namespace
	cfg.Namespace = stacks.PlaygroundNamespace("login")
	for i := range cfg.Backing {
		b := &cfg.Backing[i]
		b.Mode, b.Host = stacks.BackingExternal, b.Name+".apps.svc.cluster.local"
	}
	rec, err := pulumimock.Run("play-login", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)

	ns := one(t, rec, "kubernetes:core/v1:Namespace", "play-login")
	assert.Equal(t, "apps", ns["metadata"].(map[string]any)["labels"].(map[string]any)[PlaygroundOfLabel])

	egress := rules(policy(t, rec, "network-policies", "api-egress"), "egress")
	require.Len(t, egress, 2)
	p := peer(egress[0], 0)
	assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "apps"}, matchLabels(p["namespaceSelector"]))
	assert.Equal(t, map[string]any{"app.kubernetes.io/name": "mysql"}, matchLabels(p["podSelector"]))
	assert.Equal(t, []string{"TCP/3306"}, portsOf(egress[0]))

	gw := rules(policy(t, rec, "network-policies", "api-ingress"), "ingress")
	assert.Equal(t, cfg.NetworkPolicy.NodeCIDRs[0], peer(gw[0], 0)["ipBlock"].(map[string]any)["cidr"])
	for _, r := range rec.ByType(k8sNetworkPolicy) {
		assert.Equal(t, cfg.Namespace, r.Plain()["metadata"].(map[string]any)["namespace"], "a playground owns only its namespace")
	}
}

// A service's networkPolicy section adds its paths to the derived ones.
func TestServiceNetworkPolicySectionAddsPaths(t *testing.T) {
	cfg := loadStack(t, "dev")
	cfg.Services[0].NetworkPolicy = stacks.ServiceNetworkPolicy{
		Egress:  []stacks.PolicyRule{{CIDR: "203.0.113.0/24", Ports: []int{443}, Protocol: "TCP"}},
		Ingress: []stacks.PolicyRule{{Namespace: "monitoring", Ports: []int{9090}, Protocol: "TCP"}},
	}
	rec, err := pulumimock.Run("dev", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	egress := rules(policy(t, rec, "network-policies", "api-egress"), "egress")
	require.Len(t, egress, 3)
	assert.Equal(t, "203.0.113.0/24", peer(egress[2], 0)["ipBlock"].(map[string]any)["cidr"])
	ingress := rules(policy(t, rec, "network-policies", "api-ingress"), "ingress")
	require.Len(t, ingress, 2)
	assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "monitoring"}, matchLabels(peer(ingress[0], 0)["namespaceSelector"]))
	assert.Equal(t, []string{"TCP/9090"}, portsOf(ingress[0]))
}

// Dataplane V2, the data plane that enforces the policies on GKE, is the stack's choice.
func TestDataplaneV2FollowsTheStack(t *testing.T) {
	for _, stack := range []string{"sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			gke := one(t, deployStack(t, stack), "gcp:container/cluster:Cluster", "cluster")
			assert.Equal(t, cluster.AdvancedDatapath, gke["datapathProvider"])
			assert.NotNil(t, gke["ipAllocationPolicy"], "Dataplane V2 needs a VPC-native cluster")
		})
	}
	cfg := loadStack(t, "sandbox")
	cfg.Cluster.GKE.DataplaneV2 = false
	rec, err := pulumimock.Run("sandbox", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	gke := one(t, rec, "gcp:container/cluster:Cluster", "cluster")
	assert.Nil(t, gke["datapathProvider"], "GKE's default data plane")
}

func policyNamed(t *testing.T, a *netpol.Args, name string) *netpol.Policy {
	t.Helper()
	for i := range a.Policies {
		if a.Policies[i].Name == name {
			return &a.Policies[i]
		}
	}
	return nil
}

// Each waitFor form becomes its peer, and a path no waitFor names any more is gone.
func TestWaitForEntriesBecomeTheirPeers(t *testing.T) {
	cfg := loadStack(t, "dev")
	api := &cfg.Services[0]
	api.WaitFor = []string{"redis:6379", "10.1.2.3:5432", "users.accounts.svc.cluster.local:9000", "http://search.shop.svc:8081/health", "cmd: true", "example.org:443"}
	for i := range api.ReleaseJobs {
		api.ReleaseJobs[i].WaitFor = nil
	}
	plan := PlanNetworkPolicies(cfg)
	egress := policyNamed(t, plan.Workloads, "api-egress").Egress
	require.Len(t, egress, 4, "a command and a name outside the cluster give no peer")
	assert.Equal(t, netpol.Rule{Peers: []netpol.Peer{{Pods: backingPods("redis")}}, Ports: []netpol.Port{{Port: 6379, Protocol: "TCP"}}}, egress[0])
	assert.Equal(t, netpol.Rule{Peers: []netpol.Peer{{CIDR: "10.1.2.3/32"}}, Ports: []netpol.Port{{Port: 5432, Protocol: "TCP"}}}, egress[1])
	assert.Equal(t, netpol.Rule{Peers: []netpol.Peer{netpol.InNamespace("accounts", servicePods("users"))}, Ports: []netpol.Port{{Port: 9000, Protocol: "TCP"}}}, egress[2])
	assert.Equal(t, netpol.Rule{Peers: []netpol.Peer{netpol.InNamespace("shop", servicePods("search"))}, Ports: []netpol.Port{{Port: 8081, Protocol: "TCP"}}}, egress[3])
	assert.Nil(t, policyNamed(t, plan.Workloads, "mysql-ingress"), "nothing waits for mysql any more: its ingress policy is gone")
	assert.NotNil(t, policyNamed(t, plan.Workloads, "redis-ingress"))

	api.WaitFor = nil
	plan = PlanNetworkPolicies(cfg)
	assert.Nil(t, policyNamed(t, plan.Workloads, "api-egress"), "no waitFor, no egress beyond DNS")
	assert.Nil(t, policyNamed(t, plan.Workloads, "redis-ingress"))
}
