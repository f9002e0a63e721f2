package program

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

func TestTheShippedSandboxEstimateHasVolumesSystemPodsAndHalfTheCredit(t *testing.T) {
	cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi.sandbox.yaml"))
	require.NoError(t, err)
	e, err := ClusterCost(cfg)
	require.NoError(t, err)
	items := map[string]float64{}
	for _, l := range e.Lines {
		items[l.Item] = l.Spot
	}
	// The in-cluster MySQL (5Gi) and Redis (1Gi) volumes on GKE's default class (pd-balanced).
	assert.Equal(t, 0.50, items["volume mysql: 5 GB pd-balanced (standard-rwo)"])
	assert.Equal(t, 0.10, items["volume redis: 1 GB pd-balanced (standard-rwo)"])
	// Sandbox and prod share one billing account: half of the 74.40 credit each.
	assert.Equal(t, -37.20, items["free-tier credit (1/2: 2 zonal clusters share the account)"])
	require.Len(t, e.Shares, 2, "the edge and DNS-sync pods' share of the nodes")
	assert.True(t, strings.HasPrefix(e.Shares[0].Item, "edge nginx (one per node): 3 x 10m CPU / 16Mi"), e.Shares[0].Item)
	assert.True(t, strings.HasPrefix(e.Shares[1].Item, "DNS sync: 1 x 5m CPU / 24Mi"), e.Shares[1].Item)
	// 17.63 for the nodes' items, + 0.60 of volumes, + 73 - 37.20 of fee not covered.
	assert.InDelta(t, 17.63+0.60+35.80, e.Total, 0.011)
}

func TestAZoneOutsideThePriceTableIsSaidNotPricedWithUSCentral(t *testing.T) {
	cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi.sandbox.yaml"))
	require.NoError(t, err)
	cfg.Cluster.GKE.Zone = "europe-west1-b"
	_, err = ClusterCost(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no prices for region "europe-west1"`)

	// The stack output says so too, and the deployment itself is not blocked by the table.
	var got map[string]any
	var wg sync.WaitGroup
	wg.Add(1)
	_, err = pulumimock.Run("sandbox", func(ctx *pulumi.Context) error {
		monthlyCost(cfg).ToMapOutput().ApplyT(func(m map[string]any) error {
			got = m
			wg.Done()
			return nil
		})
		return nil
	})
	require.NoError(t, err)
	wg.Wait()
	assert.Contains(t, got["error"], `no prices for region "europe-west1" in internal/cost/prices.json (it covers us-central1)`)
	assert.NotContains(t, got, "totalUsd")
}
