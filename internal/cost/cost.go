// Package cost estimates what a stack's cluster costs per month, from the price table in
// prices.json (which names its source and date). Nothing here calls a pricing API: the estimate is
// reproducible and reviewable in a pull request.
package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

//go:embed prices.json
var pricesJSON []byte

// Prices is the price table.
type Prices struct {
	Source        string                 `json:"source"`
	Date          string                 `json:"date"`
	Caveat        string                 `json:"caveat"`
	HoursPerMonth float64                `json:"hoursPerMonth"`
	MachineTypes  map[string]MachineType `json:"machineTypes"`
	DiskGBMonth   map[string]float64     `json:"diskGbMonth"`
	ExternalIPv4  struct {
		Standard float64 `json:"standard"`
		Spot     float64 `json:"spot"`
	} `json:"externalIpv4Hourly"`
	ClusterFeeHourly       float64 `json:"clusterFeeHourly"`
	ClusterFreeTierMonthly float64 `json:"clusterFreeTierMonthly"`
}

// MachineType is one machine type's size and hourly prices. VCPU is the sustained share of a CPU
// (shared-core E2 types burst above it), which is what requests are priced against.
type MachineType struct {
	VCPU           float64 `json:"vcpu"`
	MemoryGB       float64 `json:"memoryGb"`
	OnDemandHourly float64 `json:"onDemandHourly"`
	SpotHourly     float64 `json:"spotHourly"`
}

// Table returns the embedded price table.
func Table() Prices {
	var p Prices
	if err := json.Unmarshal(pricesJSON, &p); err != nil {
		panic("cost: prices.json is invalid: " + err.Error()) // embedded at build time; a test parses it
	}
	return p
}

// Cluster is what the estimate needs to know of a GKE cluster.
type Cluster struct {
	NodeCount   int
	MachineType string
	// Discounted is true for preemptible and Spot nodes (billed at Spot prices).
	Discounted bool
	DiskSizeGB int
	DiskType   string
}

// Line is one item of the estimate with its monthly price both ways, so the choice of
// provisioning model is visible side by side.
type Line struct {
	Item     string  `json:"item"`
	OnDemand float64 `json:"onDemandUsd"`
	Spot     float64 `json:"spotUsd"`
}

// Estimate is a cluster's monthly cost.
type Estimate struct {
	Lines         []Line  `json:"lines"`
	TotalOnDemand float64 `json:"totalOnDemandUsd"`
	TotalSpot     float64 `json:"totalSpotUsd"`
	// Total is the total for the configured provisioning model.
	Total  float64 `json:"totalUsd"`
	Model  string  `json:"model"`
	Source string  `json:"priceSource"`
	Date   string  `json:"priceDate"`
}

// Estimate prices a cluster: its nodes, their boot disks and ephemeral external IPs (the nginx edge
// needs one per node), and the zonal cluster's management fee less the free-tier credit that covers
// one zonal cluster per billing account.
func (p Prices) Estimate(c Cluster) (Estimate, error) {
	mt, ok := p.MachineTypes[c.MachineType]
	if !ok {
		return Estimate{}, fmt.Errorf("no price for machine type %q in the price table (have %s): add it to internal/cost/prices.json",
			c.MachineType, strings.Join(slices.Sorted(maps.Keys(p.MachineTypes)), ", "))
	}
	disk, ok := p.DiskGBMonth[c.DiskType]
	if !ok {
		return Estimate{}, fmt.Errorf("no price for disk type %q in the price table", c.DiskType)
	}
	n, h := float64(c.NodeCount), p.HoursPerMonth
	fee := p.ClusterFeeHourly * h
	lines := []Line{
		{Item: fmt.Sprintf("nodes: %d x %s", c.NodeCount, c.MachineType), OnDemand: n * mt.OnDemandHourly * h, Spot: n * mt.SpotHourly * h},
		{Item: fmt.Sprintf("boot disks: %d x %d GB %s", c.NodeCount, c.DiskSizeGB, c.DiskType), OnDemand: n * float64(c.DiskSizeGB) * disk, Spot: n * float64(c.DiskSizeGB) * disk},
		{Item: fmt.Sprintf("external IPv4: %d", c.NodeCount), OnDemand: n * p.ExternalIPv4.Standard * h, Spot: n * p.ExternalIPv4.Spot * h},
		{Item: "zonal cluster management fee", OnDemand: fee, Spot: fee},
		{Item: "free-tier credit (one zonal cluster)", OnDemand: -math.Min(fee, p.ClusterFreeTierMonthly), Spot: -math.Min(fee, p.ClusterFreeTierMonthly)},
	}
	e := Estimate{Source: p.Source, Date: p.Date, Model: "on-demand"}
	for i := range lines {
		lines[i].OnDemand, lines[i].Spot = cents(lines[i].OnDemand), cents(lines[i].Spot)
		e.TotalOnDemand += lines[i].OnDemand
		e.TotalSpot += lines[i].Spot
	}
	e.Lines = lines
	e.TotalOnDemand, e.TotalSpot = cents(e.TotalOnDemand), cents(e.TotalSpot)
	e.Total = e.TotalOnDemand
	if c.Discounted {
		e.Total, e.Model = e.TotalSpot, "spot/preemptible"
	}
	return e, nil
}

// NodeHourly is the price of one node-hour, and the price of a requested vCPU-hour and GB-hour
// derived from it (half of the node price to each, by the machine type's size), for pricing what a
// workload reserves on the cluster.
func (p Prices) NodeHourly(machineType string, discounted bool) (node, perVCPU, perGB float64, err error) {
	mt, ok := p.MachineTypes[machineType]
	if !ok {
		return 0, 0, 0, fmt.Errorf("no price for machine type %q in the price table", machineType)
	}
	node = mt.OnDemandHourly
	if discounted {
		node = mt.SpotHourly
	}
	return node, node / 2 / mt.VCPU, node / 2 / mt.MemoryGB, nil
}

// Table renders the estimate as a fixed-width table for `make cost`.
func (e Estimate) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-44s %12s %12s\n", "monthly, USD", "on-demand", "spot/preempt")
	for _, l := range e.Lines {
		fmt.Fprintf(&b, "%-44s %12.2f %12.2f\n", l.Item, l.OnDemand, l.Spot)
	}
	fmt.Fprintf(&b, "%-44s %12.2f %12.2f\n", "total", e.TotalOnDemand, e.TotalSpot)
	fmt.Fprintf(&b, "configured (%s): %.2f USD/month\nprices: %s, as of %s\n", e.Model, e.Total, e.Source, e.Date)
	return b.String()
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }
