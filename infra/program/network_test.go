package program

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// A team's own VPC: the cluster, its nodes and the firewall rule are made in the stack's network
// and subnet, not in "default".
func TestTheClusterUsesTheStacksNetworkAndSubnet(t *testing.T) {
	cfg, err := stacks.Parse(map[string]string{
		"shoestring:cluster":       `{"gke":{"zone":"europe-west1-b","network":"shop-vpc","subnetwork":"shop-nodes"}}`,
		"shoestring:networkPolicy": `{"nodeCIDRs":["10.10.0.0/20"]}`,
	}, nil)
	require.NoError(t, err)
	rec, err := pulumimock.Run("x", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	gke := one(t, rec, gkeCluster, "cluster")
	assert.Equal(t, "shop-vpc", gke["network"])
	assert.Equal(t, "shop-nodes", gke["subnetwork"])
	assert.Equal(t, "shop-vpc", one(t, rec, gcpFirewall, "cluster-http")["network"])

	_, err = stacks.Parse(map[string]string{"shoestring:cluster": `{"gke":{"zone":"europe-west1-b","subnetwork":"Shop Nodes"}}`}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:cluster.gke.subnetwork: "Shop Nodes" is not a subnetwork name`)
}
