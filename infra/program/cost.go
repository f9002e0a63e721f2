package program

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/shoestring-dev/shoestring/internal/cost"
	"github.com/shoestring-dev/shoestring/stacks"
)

// ClusterCost estimates a GKE stack's monthly cost from the price table in internal/cost: the nodes
// at its zone's region's prices, the in-cluster backing services' volumes, the edge and DNS-sync
// pods' share of the nodes, and the stack's part of its billing account's free-tier credit.
func ClusterCost(cfg *stacks.Config) (cost.Estimate, error) {
	g := &cfg.Cluster.GKE
	prices, err := cost.ForZone(g.Zone)
	if err != nil {
		return cost.Estimate{}, err
	}
	c := cost.Cluster{
		NodeCount: g.NodeCount, MachineType: g.MachineType, Discounted: g.Provisioning != stacks.ProvisioningStandard,
		DiskSizeGB: g.DiskSizeGB, DiskType: g.DiskType,
		ClustersOnBillingAccount: cfg.Billing.ClustersOnAccount(),
	}
	for _, b := range cfg.Backing {
		if b.Mode != stacks.BackingInCluster {
			continue
		}
		size, err := gib(b.StorageSize)
		if err != nil {
			return cost.Estimate{}, fmt.Errorf("backing %s: storageSize: %w", b.Name, err)
		}
		c.Volumes = append(c.Volumes, cost.Volume{Name: b.Name, SizeGB: size, StorageClass: b.StorageClass})
	}
	// Playground stacks run on their base stack's nodes and deploy no edge or DNS sync of their own.
	if !cfg.Playground.IsPlayground() {
		edge, err := pods("edge nginx (one per node)", g.NodeCount, cfg.Edge.Resources.CPU, cfg.Edge.Resources.Memory)
		if err != nil {
			return cost.Estimate{}, err
		}
		c.Pods = append(c.Pods, edge)
		if cfg.DNSSync.Enabled {
			sync, err := pods("DNS sync", cfg.DNSSync.Replicas, cfg.DNSSync.Resources.CPU, cfg.DNSSync.Resources.Memory)
			if err != nil {
				return cost.Estimate{}, err
			}
			c.Pods = append(c.Pods, sync)
		}
	}
	return prices.Estimate(c)
}

func pods(name string, count int, cpu, memory string) (cost.Pods, error) {
	q, err := resource.ParseQuantity(cpu)
	if err != nil {
		return cost.Pods{}, fmt.Errorf("%s: cpu %q: %w", name, cpu, err)
	}
	mem, err := gib(memory)
	if err != nil {
		return cost.Pods{}, fmt.Errorf("%s: memory: %w", name, err)
	}
	return cost.Pods{Name: name, Count: count, CPU: q.AsApproximateFloat64(), MemoryGB: mem}, nil
}

// gib converts a Kubernetes quantity to GiB, the unit GCP bills disks and memory in ("GB").
func gib(s string) (float64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a quantity: %w", s, err)
	}
	return q.AsApproximateFloat64() / (1 << 30), nil
}
