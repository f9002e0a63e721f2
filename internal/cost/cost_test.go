package cost

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPriceTableNamesItsSourceAndDatePerRegion(t *testing.T) {
	f := load()
	require.NotEmpty(t, f.Regions)
	assert.Contains(t, f.Global.Source, "cloud.google.com/kubernetes-engine/pricing")
	assert.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, f.Global.Date)
	for name, r := range f.Regions {
		assert.Regexp(t, `^[a-z]+-[a-z]+[0-9]+$`, name)
		assert.Contains(t, r.Source, name, "each region's source names the region it was read for")
		assert.Contains(t, r.Source, "cloud.google.com/compute/vm-instance-pricing", name)
		assert.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, r.Date, name)
		for mt, m := range r.MachineTypes {
			assert.Less(t, m.SpotHourly, m.OnDemandHourly, name+" "+mt)
			assert.Positive(t, m.VCPU, mt)
			assert.Positive(t, m.MemoryGB, mt)
		}
		for _, dt := range f.StorageClasses.DiskTypes {
			assert.Contains(t, r.DiskGBMonth, dt, "%s prices every disk type a storage class provisions", name)
		}
	}
	p := Table()
	assert.Equal(t, f.DefaultRegion, p.Region)
	assert.EqualValues(t, 730, p.HoursPerMonth)
	assert.Contains(t, f.StorageClasses.DiskTypes, f.StorageClasses.Default)
	assert.Equal(t, 5.04, p.Setup2018.WithFreeTierMonthly)
}

func cluster2018() Cluster {
	return Cluster{NodeCount: 3, MachineType: "e2-small", Discounted: true, DiskSizeGB: 10, DiskType: "pd-standard"}
}

func TestEstimateOfThe2018Cluster(t *testing.T) {
	// 3 x e2-small, 10 GB pd-standard each, preemptible: every figure worked by hand from prices.json.
	e, err := Table().Estimate(cluster2018())
	require.NoError(t, err)
	want := []Line{
		{Item: "nodes: 3 x e2-small", OnDemand: 36.79, Spot: 10.95},           // 3 x 0.0168 x 730 = 36.792; 3 x 0.005 x 730
		{Item: "boot disks: 3 x 10 GB pd-standard", OnDemand: 1.2, Spot: 1.2}, // 30 GB x 0.04
		{Item: "external IPv4: 3", OnDemand: 10.95, Spot: 5.48},               // 3 x 0.005 x 730; 3 x 0.0025 x 730 = 5.475
		{Item: "zonal cluster management fee", OnDemand: 73, Spot: 73},        // 0.10 x 730
		{Item: "free-tier credit (the only zonal cluster on its billing account)", OnDemand: -73, Spot: -73},
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
	assert.Equal(t, "us-central1", e.Region)
	table := e.Table()
	assert.Contains(t, table, "on-demand")
	assert.Contains(t, table, "spot/preempt")
	assert.Contains(t, table, "configured (spot/preemptible): 17.6")
	// The 2018 figure stays next to today's.
	assert.Contains(t, table, "2018 setup (3 x f1-micro preemptible, 10 GB disks, us-central1-a): 11.65 on-demand, 7.67 preemptible, 5.04 with the Always Free VM")
	assert.Contains(t, table, "as of 2026-11-23")
}

func TestTheFreeTierCreditIsCountedOncePerBillingAccount(t *testing.T) {
	p := Table()
	alone, err := p.Estimate(cluster2018())
	require.NoError(t, err)
	c := cluster2018()
	c.ClustersOnBillingAccount = 2 // sandbox and prod on one account
	shared, err := p.Estimate(c)
	require.NoError(t, err)
	credit := shared.Lines[len(shared.Lines)-1]
	assert.Equal(t, "free-tier credit (1/2: 2 zonal clusters share the account)", credit.Item)
	assert.InDelta(t, -37.20, credit.Spot, 0.001) // 74.40 / 2: the account's credit, not 2 x 73
	// Two such stacks add up to the account's bill: 2 x 73 of fees less 74.40 once.
	_, spot, _ := Sum(shared, shared)
	_, spotIfEachClaimedIt, _ := Sum(alone, alone)
	assert.InDelta(t, 2*(17.63+73)-74.40, spot, 0.011)
	assert.InDelta(t, 71.60, spot-spotIfEachClaimedIt, 0.011, "counting the credit in every stack understated the bill by this much")
	assert.Contains(t, shared.FreeTierNote, "2 zonal clusters bill to one account")
	assert.Contains(t, shared.Table(), "free tier: 2 zonal clusters")

	c.ClustersOnBillingAccount = 3
	three, err := p.Estimate(c)
	require.NoError(t, err)
	assert.InDelta(t, -24.80, three.Lines[len(three.Lines)-1].Spot, 0.001)
}

func TestTheFeeCreditNeverExceedsTheFee(t *testing.T) {
	p := Table()
	p.ClusterFreeTierMonthly = 1000
	e, err := p.Estimate(Cluster{NodeCount: 1, MachineType: "e2-micro", DiskSizeGB: 10, DiskType: "pd-standard", ClustersOnBillingAccount: 2})
	require.NoError(t, err)
	assert.InDelta(t, -73, e.Lines[len(e.Lines)-1].OnDemand, 0.001)
}

func TestRegionsOutsideTheTableAreNamedNotGuessed(t *testing.T) {
	_, err := ForZone("europe-west1-b")
	require.Error(t, err)
	var re *RegionError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, "europe-west1", re.Region)
	assert.Equal(t, Regions(), re.Covered)
	assert.Contains(t, err.Error(), `no prices for region "europe-west1" in internal/cost/prices.json (it covers us-central1)`)
	assert.Contains(t, err.Error(), "cloud.google.com/compute/vm-instance-pricing")

	p, err := ForZone("us-central1-f")
	require.NoError(t, err)
	assert.Equal(t, "us-central1", p.Region)
	assert.Equal(t, "us-central1", RegionOf("us-central1"))
	assert.Equal(t, "europe-west4", RegionOf("europe-west4-a"))
}

func TestPersistentVolumesArePricedByTheirStorageClassesDisk(t *testing.T) {
	c := cluster2018()
	c.Volumes = []Volume{
		{Name: "mysql", SizeGB: 5},                             // default class standard-rwo: pd-balanced
		{Name: "redis", SizeGB: 0.5, StorageClass: "standard"}, // pd-standard, billed as 1 GB
		{Name: "pg", SizeGB: 20, StorageClass: "premium-rwo"},  // pd-ssd
	}
	e, err := Table().Estimate(c)
	require.NoError(t, err)
	base, err := Table().Estimate(cluster2018())
	require.NoError(t, err)
	got := map[string]float64{}
	for _, l := range e.Lines {
		if strings.HasPrefix(l.Item, "volume ") {
			got[l.Item] = l.Spot
			assert.Equal(t, l.OnDemand, l.Spot, "a disk costs the same whatever the nodes' model")
		}
	}
	assert.Equal(t, map[string]float64{
		"volume mysql: 5 GB pd-balanced (standard-rwo)": 0.50, // 5 x 0.10
		"volume redis: 1 GB pd-standard (standard)":     0.04,
		"volume pg: 20 GB pd-ssd (premium-rwo)":         3.40, // 20 x 0.17
	}, got)
	assert.InDelta(t, base.TotalSpot+3.94, e.TotalSpot, 0.001)

	c.Volumes = []Volume{{Name: "x", SizeGB: 1, StorageClass: "fast-nvme"}}
	_, err = Table().Estimate(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `volume x: no disk type known for storage class "fast-nvme" (have premium-rwo, standard, standard-rwo)`)
}

func TestSystemPodsShowTheirShareOfTheNodesWithoutAddingIt(t *testing.T) {
	c := cluster2018()
	c.Pods = []Pods{{Name: "edge nginx (one per node)", Count: 3, CPU: 0.010, MemoryGB: 16.0 / 1024}, {Name: "DNS sync", Count: 1, CPU: 0.005, MemoryGB: 24.0 / 1024}}
	e, err := Table().Estimate(c)
	require.NoError(t, err)
	base, err := Table().Estimate(cluster2018())
	require.NoError(t, err)
	assert.Equal(t, base.TotalSpot, e.TotalSpot, "the pods run on nodes already priced")
	require.Len(t, e.Shares, 2)
	assert.Equal(t, "edge nginx (one per node): 3 x 10m CPU / 16Mi", e.Shares[0].Item)
	// Spot e2-small: 0.005/h, half to 0.5 vCPU (0.005 per vCPU-h), half to 2 GB (0.00125 per GB-h):
	// 3 x (0.010 x 0.005 + 16/1024 x 0.00125) x 730 = 0.152.
	assert.InDelta(t, 0.15, e.Shares[0].Spot, 0.001)
	assert.InDelta(t, 0.51, e.Shares[0].OnDemand, 0.001) // same with 0.0168/h: 0.5106
	assert.Equal(t, "DNS sync: 1 x 5m CPU / 24Mi", e.Shares[1].Item)
	assert.Contains(t, e.Table(), "reserved by the stack's system pods (included above)")
}

func TestStandardNodesAreBilledOnDemand(t *testing.T) {
	e, err := Table().Estimate(Cluster{NodeCount: 1, MachineType: "e2-medium", DiskSizeGB: 20, DiskType: "pd-balanced"})
	require.NoError(t, err)
	assert.Equal(t, "on-demand", e.Model)
	assert.Equal(t, e.TotalOnDemand, e.Total)
	assert.InDelta(t, 2.0, e.Lines[1].OnDemand, 0.001) // 20 GB x 0.10
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

func TestEstimateJSONCarriesRegionFreeTierAnd2018Setup(t *testing.T) {
	e, err := Table().Estimate(cluster2018())
	require.NoError(t, err)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "us-central1", m["region"])
	assert.NotEmpty(t, m["freeTier"])
	assert.EqualValues(t, 5.04, m["setup2018"].(map[string]any)["withFreeTierMonthly"])
}
