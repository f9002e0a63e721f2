package cost

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPriceTableNamesItsSourceAndDate(t *testing.T) {
	p := Table()
	assert.Contains(t, p.Source, "cloud.google.com/compute/vm-instance-pricing")
	assert.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, p.Date)
	assert.EqualValues(t, 730, p.HoursPerMonth)
	for name, mt := range p.MachineTypes {
		assert.Less(t, mt.SpotHourly, mt.OnDemandHourly, name)
		assert.Positive(t, mt.VCPU, name)
		assert.Positive(t, mt.MemoryGB, name)
	}
}

func TestEstimateOfTheSeedCluster(t *testing.T) {
	// 3 x e2-small, 10 GB pd-standard each, preemptible: every figure worked by hand from prices.json.
	e, err := Table().Estimate(Cluster{NodeCount: 3, MachineType: "e2-small", Discounted: true, DiskSizeGB: 10, DiskType: "pd-standard"})
	require.NoError(t, err)
	want := []Line{
		{Item: "nodes: 3 x e2-small", OnDemand: 36.79, Spot: 10.95},           // 3 x 0.0168 x 730 = 36.792; 3 x 0.005 x 730
		{Item: "boot disks: 3 x 10 GB pd-standard", OnDemand: 1.2, Spot: 1.2}, // 30 GB x 0.04
		{Item: "external IPv4: 3", OnDemand: 10.95, Spot: 5.48},               // 3 x 0.005 x 730; 3 x 0.0025 x 730 = 5.475
		{Item: "zonal cluster management fee", OnDemand: 73, Spot: 73},        // 0.10 x 730
		{Item: "free-tier credit (one zonal cluster)", OnDemand: -73, Spot: -73},
	}
	require.Len(t, e.Lines, len(want))
	for i := range want {
		assert.Equal(t, want[i].Item, e.Lines[i].Item)
		assert.InDelta(t, want[i].OnDemand, e.Lines[i].OnDemand, 0.005, want[i].Item)
		assert.InDelta(t, want[i].Spot, e.Lines[i].Spot, 0.005, want[i].Item)
	}
	assert.InDelta(t, 48.94, e.TotalOnDemand, 0.011)
	assert.InDelta(t, 17.63, e.TotalSpot, 0.011)
	assert.Equal(t, e.TotalSpot, e.Total)
	assert.Equal(t, "spot/preemptible", e.Model)
	table := e.Table()
	assert.Contains(t, table, "on-demand")
	assert.Contains(t, table, "spot/preempt")
	assert.Contains(t, table, "configured (spot/preemptible): 17.6")
}

func TestStandardNodesAreBilledOnDemand(t *testing.T) {
	e, err := Table().Estimate(Cluster{NodeCount: 1, MachineType: "e2-medium", DiskSizeGB: 20, DiskType: "pd-balanced"})
	require.NoError(t, err)
	assert.Equal(t, "on-demand", e.Model)
	assert.Equal(t, e.TotalOnDemand, e.Total)
	assert.InDelta(t, 2.0, e.Lines[1].OnDemand, 0.001) // 20 GB x 0.10
}

func TestTheFeeCreditNeverExceedsTheFee(t *testing.T) {
	p := Table()
	p.ClusterFreeTierMonthly = 1000
	e, err := p.Estimate(Cluster{NodeCount: 1, MachineType: "e2-micro", DiskSizeGB: 10, DiskType: "pd-standard"})
	require.NoError(t, err)
	assert.InDelta(t, -73, e.Lines[4].OnDemand, 0.001)
}

func TestUnknownMachineTypeNamesTheTable(t *testing.T) {
	_, err := Table().Estimate(Cluster{NodeCount: 1, MachineType: "n4-standard-2", DiskSizeGB: 10, DiskType: "pd-standard"})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), `"n4-standard-2"`) && strings.Contains(err.Error(), "internal/cost/prices.json"), err.Error())
}

func TestNodeHourlySplitsTheNodePriceBetweenCPUAndMemory(t *testing.T) {
	node, cpu, gb, err := Table().NodeHourly("e2-small", true)
	require.NoError(t, err)
	assert.InDelta(t, 0.005, node, 1e-9)
	assert.InDelta(t, 0.005, cpu, 1e-9)  // half the node price over 0.5 vCPU
	assert.InDelta(t, 0.00125, gb, 1e-9) // half the node price over 2 GB
	// A workload requesting the whole node costs the whole node.
	assert.InDelta(t, node, 0.5*cpu+2*gb, 1e-9)
}
