// Package program is the shoestring Pulumi program: one stack's configuration in, the cluster and
// everything on it out. Stacks differ only in their config files; nothing here looks at a stack's name.
package program

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/cluster"
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
	return nil
}

func clusterArgs(c *stacks.Cluster) *cluster.Args {
	if c.Mode == stacks.ClusterModeExisting {
		return &cluster.Args{Existing: &cluster.ExistingArgs{Kubeconfig: c.Existing.Kubeconfig, Context: c.Existing.Context}}
	}
	g := c.GKE
	return &cluster.Args{GKE: &cluster.GKEArgs{
		Name: g.Name, Project: g.Project, Zone: g.Zone, Network: g.Network,
		NodeCount: g.NodeCount, MachineType: g.MachineType, Preemptible: g.Preemptible(), Spot: g.Spot(),
		DiskSizeGB: g.DiskSizeGB, DiskType: g.DiskType, NodeTag: g.NodeTag, OAuthScopes: g.OAuthScopes,
		ReleaseChannel: g.ReleaseChannel, DeletionProtection: g.DeletionProtection,
		FirewallSourceRanges: g.FirewallSourceRanges,
	}}
}
