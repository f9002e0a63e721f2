// Package program is the shoestring Pulumi program: one stack's configuration in, the cluster and
// everything on it out. Stacks differ only in their config files; nothing here looks at a stack's name.
package program

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/cluster"
	"github.com/shoestring-dev/shoestring/components/dnssync"
	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/components/netpol"
	"github.com/shoestring-dev/shoestring/stacks"
)

// Run loads the stack's configuration and deploys it. Invalid configuration fails here, at preview.
func Run(ctx *pulumi.Context) error {
	cfg, err := stacks.Load(ctx)
	if err != nil {
		return err
	}
	return Deploy(ctx, cfg)
}

// Deploy builds the whole stack from a validated configuration.
func Deploy(ctx *pulumi.Context, cfg *stacks.Config) error {
	// 1. The cluster, and the Kubernetes provider every later component deploys through.
	k8s, err := cluster.New(ctx, "cluster", clusterArgs(&cfg.Cluster))
	if err != nil {
		return err
	}
	ctx.Export("kubeconfig", k8s.Kubeconfig)
	ctx.Export("clusterName", k8s.Name)
	if cfg.Cluster.Mode == stacks.ClusterModeGKE {
		ctx.Export("monthlyCost", monthlyCost(cfg))
	}

	// 2. The workloads: namespace, shared and per-service configuration, backing services, release
	// Jobs before and after the services' Deployments and CronJobs (see workloads.go).
	// Dev tooling joins through the pods' options: playground DNS search path, local images and
	// code mounts, dev-mode sidecars (see devtools.go).
	plan := PlanWorkloads(cfg)
	PlanDevTooling(cfg, plan)
	if cfg.Playground.IsPlayground() {
		plan.Environment.NamespaceLabels = map[string]string{PlaygroundOfLabel: cfg.Playground.BaseNamespace}
	}
	workloads, err := deployWorkloads(ctx, plan, k8s.Provider)
	if err != nil {
		return err
	}
	// NetworkPolicies (netpol.go): their own resources, selecting pods by label; no workload
	// depends on them and no pod template mentions them, so adding them restarts nothing.
	policies := PlanNetworkPolicies(cfg)
	if policies != nil {
		if err := deployNetworkPolicies(ctx, "network-policies", policies.Workloads, workloads.Environment.Namespace, k8s.Provider); err != nil {
			return err
		}
	}

	// 3. Dev tooling: the dev-mode keys Secret, the developers' commands and the playground record.
	if err := deployDevTooling(ctx, cfg, workloads, k8s.Provider); err != nil {
		return err
	}

	// The edge: nginx on every node, routing the services' hosts (after the workloads it routes to).
	// A playground stack shares its base stack's cluster, whose edge already routes
	// <feature>.<domain> to it: a second DaemonSet would fight over the nodes' ports 80 and 443.
	if !cfg.Playground.IsPlayground() {
		edgeArgs := EdgeArgs(cfg)
		if err := edgeCertificate(ctx, cfg, edgeArgs); err != nil {
			return err
		}
		edgeNginx, err := edge.New(ctx, "edge", edgeArgs, pulumi.Provider(k8s.Provider))
		if err != nil {
			return err
		}
		ctx.Export("edgeNamespace", edgeNginx.Namespace)
		if policies != nil {
			if err := deployNetworkPolicies(ctx, "edge-network-policies", policies.Edge, edgeNginx.NamespaceResource, k8s.Provider); err != nil {
				return err
			}
		}
	}

	// DNS sync: the controller keeping the Cloudflare name's A/AAAA records equal to the Ready
	// nodes' addresses, and the aliases' CNAMEs. Off where the stack says so (no Cloudflare), and in
	// playgrounds, whose base stack's controller already publishes the shared nodes.
	if cfg.DNSSync.Enabled && !cfg.Playground.IsPlayground() {
		sync, err := dnssync.New(ctx, "dnssync", DNSSyncArgs(cfg), pulumi.Provider(k8s.Provider))
		if err != nil {
			return err
		}
		ctx.Export("dnsName", pulumi.String(cfg.DNS.Name))
		ctx.Export("dnsAliases", sync.Aliases)
		if policies != nil && policies.DNSSync != nil {
			if err := deployNetworkPolicies(ctx, "dns-sync-network-policies", policies.DNSSync, sync.NamespaceResource, k8s.Provider); err != nil {
				return err
			}
		}
	}
	return nil
}

// deployNetworkPolicies creates one namespace's policies once after (its namespace) exists.
func deployNetworkPolicies(ctx *pulumi.Context, name string, a *netpol.Args, after pulumi.Resource, provider *kubernetes.Provider) error {
	a.After = []pulumi.Resource{after}
	_, err := netpol.New(ctx, name, a, pulumi.Provider(provider))
	return err
}

// DNSSyncArgs maps shoestring:dns, shoestring:dnssync and the token secret to the component.
func DNSSyncArgs(cfg *stacks.Config) *dnssync.Args {
	d, s := &cfg.DNS, &cfg.DNSSync
	zone := d.ZoneID
	if zone == "" {
		zone = d.Zone
	}
	// The playgrounds' wildcard is one more CNAME to the synced name: <feature>.<domain> reaches
	// the nodes without a record per playground (and without a Cloudflare token in playgrounds).
	aliases := d.FullAliases()
	if w := cfg.PlaygroundWildcard(); w != "" {
		aliases = append(aliases, w)
	}
	return &dnssync.Args{
		Namespace: s.Namespace, Image: s.Image, Replicas: s.Replicas,
		Name: d.Name, Zone: zone, ZoneID: d.ZoneID, TTL: d.TTL, Proxied: d.Proxied, OwnerID: cfg.DNSOwnerID(),
		NodeSelector: s.NodeSelector, InternalIPFallback: s.InternalIPFallback, Resync: s.Resync, DryRun: s.DryRun,
		APIBaseURL: s.APIBaseURL,
		Token:      cfg.Secrets[stacks.DNSSyncSecretGroup][stacks.DNSSyncTokenName].Output(),
		CPURequest: s.Resources.CPU, MemoryRequest: s.Resources.Memory, MemoryLimit: s.Resources.MemoryLimit,
		GoMemLimit: s.GoMemLimit,
		Aliases:    aliases,
	}
}

// EdgeArgs maps the stack's edge section and its services' routes to the edge component.
func EdgeArgs(cfg *stacks.Config) *edge.Args {
	e := &cfg.Edge
	var routes []edge.Route
	for _, r := range cfg.EdgeRoutes() {
		routes = append(routes, edge.Route{Host: r.Host, PathPrefix: r.PathPrefix, Namespace: r.Namespace, Service: r.Service, Port: r.Port})
	}
	var pg *edge.Playgrounds
	if e.Playgrounds.Domain != "" {
		pg = &edge.Playgrounds{
			Domain: e.Playgrounds.Domain, NamespacePrefix: stacks.PlaygroundNamespace(""),
			Service: e.Playgrounds.GatewayService, Port: cfg.PlaygroundGatewayPort(),
		}
		for _, g := range cfg.PlaygroundExtraGateways() {
			pg.Extra = append(pg.Extra, edge.PlaygroundGateway{Service: g.Service, Port: g.Port})
		}
	}
	return &edge.Args{
		Namespace: e.Namespace, Image: e.Image, Routes: routes, CertificateSecret: e.CertificateSecret,
		CPURequest: e.Resources.CPU, MemoryRequest: e.Resources.Memory, MemoryLimit: e.Resources.MemoryLimit,
		Conf: edge.ConfOptions{
			HTTPPort: 80, HTTPSPort: 443, HealthPort: e.HealthPort,
			Resolvers: e.Resolver, ClusterDomain: e.ClusterDomain,
			ConnectTimeout: e.ConnectTimeout, ReadTimeout: e.ReadTimeout, SendTimeout: e.SendTimeout,
			ClientMaxBodySize: e.ClientMaxBodySize, Playgrounds: pg,
		},
	}
}

// monthlyCost is the cluster's estimate from the repo's price table, on-demand and spot side by side.
// A machine type or region missing from the table is reported in the output, not as a failure: the table
// lagging behind GCP must not block a deployment.
func monthlyCost(cfg *stacks.Config) pulumi.Map {
	e, err := ClusterCost(cfg)
	if err != nil {
		return pulumi.Map{"error": pulumi.String(err.Error())}
	}
	return pulumi.Map{
		"totalUsd":         pulumi.Float64(e.Total),
		"model":            pulumi.String(e.Model),
		"totalOnDemandUsd": pulumi.Float64(e.TotalOnDemand),
		"totalSpotUsd":     pulumi.Float64(e.TotalSpot),
		"table":            pulumi.String(e.Table()),
	}
}

func clusterArgs(c *stacks.Cluster) *cluster.Args {
	if c.Mode == stacks.ClusterModeExisting {
		return &cluster.Args{Existing: &cluster.ExistingArgs{Kubeconfig: c.Existing.Kubeconfig, Context: c.Existing.Context, RenderTo: c.Existing.RenderTo}}
	}
	g := c.GKE
	return &cluster.Args{GKE: &cluster.GKEArgs{
		Name: g.Name, Project: g.Project, Zone: g.Zone, Network: g.Network, Subnetwork: g.Subnetwork,
		NodeCount: g.NodeCount, MachineType: g.MachineType, Preemptible: g.Preemptible(), Spot: g.Spot(),
		DiskSizeGB: g.DiskSizeGB, DiskType: g.DiskType, NodeTag: g.NodeTag, OAuthScopes: g.OAuthScopes,
		ReleaseChannel: g.ReleaseChannel, DeletionProtection: g.DeletionProtection,
		FirewallSourceRanges: g.FirewallSourceRanges, DataplaneV2: g.DataplaneV2,
	}}
}
