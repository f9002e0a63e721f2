// Package cost estimates what a stack's cluster costs per month, from the price table in
// prices.json (which names its sources and dates, per region). Nothing here calls a pricing API: the
// estimate is reproducible and reviewable in a pull request. A region the table does not cover is an
// error naming the regions it does, never a silent fallback to another region's prices.
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

// file is prices.json as written.
type file struct {
	HoursPerMonth float64 `json:"hoursPerMonth"`
	DefaultRegion string  `json:"defaultRegion"`
	Global        struct {
		Source       string `json:"source"`
		Date         string `json:"date"`
		ExternalIPv4 struct {
			Standard float64 `json:"standard"`
			Spot     float64 `json:"spot"`
		} `json:"externalIpv4Hourly"`
		ClusterFeeHourly       float64 `json:"clusterFeeHourly"`
		ClusterFreeTierMonthly float64 `json:"clusterFreeTierMonthly"`
	} `json:"global"`
	Regions        map[string]RegionPrices `json:"regions"`
	StorageClasses struct {
		Default   string            `json:"default"`
		DiskTypes map[string]string `json:"diskTypes"`
	} `json:"storageClasses"`
	Setup2018 Setup2018 `json:"setup2018"`
}

// RegionPrices are the prices that differ by region, with where and when they were read.
type RegionPrices struct {
	Source       string                 `json:"source"`
	Date         string                 `json:"date"`
	Caveat       string                 `json:"caveat"`
	MachineTypes map[string]MachineType `json:"machineTypes"`
	DiskGBMonth  map[string]float64     `json:"diskGbMonth"`
}

// Setup2018 is the original 2018 setup's figures, kept next to today's so the difference stays visible.
type Setup2018 struct {
	Source              string  `json:"source"`
	Cluster             string  `json:"cluster"`
	OnDemandMonthly     float64 `json:"onDemandMonthly"`
	PreemptibleMonthly  float64 `json:"preemptibleMonthly"`
	WithFreeTierMonthly float64 `json:"withFreeTierMonthly"`
	Since               string  `json:"since"`
}

// Prices is the price table resolved for one region: the region's machine and disk prices and the
// prices that are the same everywhere.
type Prices struct {
	Region        string
	Source        string
	Date          string
	Caveat        string
	HoursPerMonth float64
	MachineTypes  map[string]MachineType
	DiskGBMonth   map[string]float64
	ExternalIPv4  struct{ Standard, Spot float64 }
	// ClusterFeeHourly is a zonal cluster's management fee; ClusterFreeTierMonthly the credit a
	// billing account gets per month against those fees (not per cluster).
	ClusterFeeHourly       float64
	ClusterFreeTierMonthly float64
	// StorageClassDisks maps GKE's StorageClasses to the disk type they provision;
	// DefaultStorageClass is the one a volume without a class gets.
	StorageClassDisks   map[string]string
	DefaultStorageClass string
	Setup2018           Setup2018
	regions             []string
}

// MachineType is one machine type's size and hourly prices. VCPU is the sustained share of a CPU
// (shared-core E2 types burst above it), which is what requests are priced against.
type MachineType struct {
	VCPU           float64 `json:"vcpu"`
	MemoryGB       float64 `json:"memoryGb"`
	OnDemandHourly float64 `json:"onDemandHourly"`
	SpotHourly     float64 `json:"spotHourly"`
}

func load() file {
	var f file
	if err := json.Unmarshal(pricesJSON, &f); err != nil {
		panic("cost: prices.json is invalid: " + err.Error()) // embedded at build time; a test parses it
	}
	return f
}

// Table returns the price table for its default region (the one the shipped stacks use). Code that
// knows its cluster's zone uses ForZone instead.
func Table() Prices {
	f := load()
	p, err := f.resolve(f.DefaultRegion)
	if err != nil {
		panic("cost: prices.json: defaultRegion: " + err.Error())
	}
	return p
}

// ForZone returns the price table for the region of a GCP zone such as "europe-west1-b", or an
// error naming the regions the table covers.
func ForZone(zone string) (Prices, error) {
	return ForRegion(RegionOf(zone))
}

// ForRegion returns the price table for a region, or an error naming the regions the table covers.
func ForRegion(region string) (Prices, error) {
	return load().resolve(region)
}

// Regions lists the regions the table covers.
func Regions() []string {
	return slices.Sorted(maps.Keys(load().Regions))
}

// RegionOf is the region of a zone ("us-central1-a" -> "us-central1"); a region is returned as is.
func RegionOf(zone string) string {
	parts := strings.Split(zone, "-")
	if len(parts) == 3 && len(parts[2]) == 1 {
		return parts[0] + "-" + parts[1]
	}
	return zone
}

// RegionError says the table has no prices for a region.
type RegionError struct {
	Region  string
	Covered []string
}

func (e *RegionError) Error() string {
	return fmt.Sprintf("no prices for region %q in internal/cost/prices.json (it covers %s): add the region's E2 and persistent disk prices from cloud.google.com/compute/vm-instance-pricing and cloud.google.com/compute/disks-image-pricing, with their date",
		e.Region, strings.Join(e.Covered, ", "))
}

func (f file) resolve(region string) (Prices, error) {
	r, ok := f.Regions[region]
	if !ok {
		return Prices{}, &RegionError{Region: region, Covered: slices.Sorted(maps.Keys(f.Regions))}
	}
	p := Prices{
		Region: region, Source: r.Source + "; " + f.Global.Source, Date: r.Date, Caveat: r.Caveat,
		HoursPerMonth: f.HoursPerMonth, MachineTypes: r.MachineTypes, DiskGBMonth: r.DiskGBMonth,
		ClusterFeeHourly: f.Global.ClusterFeeHourly, ClusterFreeTierMonthly: f.Global.ClusterFreeTierMonthly,
		StorageClassDisks: f.StorageClasses.DiskTypes, DefaultStorageClass: f.StorageClasses.Default,
		Setup2018: f.Setup2018,
	}
	if f.Global.Date > p.Date {
		p.Date = f.Global.Date
	}
	p.ExternalIPv4.Standard, p.ExternalIPv4.Spot = f.Global.ExternalIPv4.Standard, f.Global.ExternalIPv4.Spot
	p.regions = slices.Sorted(maps.Keys(f.Regions))
	return p, nil
}

// Cluster is what the estimate needs to know of a GKE cluster and what runs on it.
type Cluster struct {
	NodeCount   int
	MachineType string
	// Discounted is true for preemptible and Spot nodes (billed at Spot prices).
	Discounted bool
	DiskSizeGB int
	DiskType   string
	// Volumes are the persistent volumes the stack claims (one disk each, billed on top of the nodes).
	Volumes []Volume
	// Pods are the stack's own system pods (the edge, DNS sync): their requests are a share of the
	// nodes' price, shown but not added again.
	Pods []Pods
	// ClustersOnBillingAccount counts the zonal clusters billed to this cluster's billing account,
	// this one included (0 means 1): the free-tier credit is per billing account, so it is split.
	ClustersOnBillingAccount int
}

// Volume is one persistent volume claim.
type Volume struct {
	Name         string
	SizeGB       float64 // as requested (GiB, which GCP calls GB); billed rounded up to whole GB
	StorageClass string  // "" is the cluster's default class
}

// Pods is a group of identical pods and what each requests.
type Pods struct {
	Name     string
	Count    int
	CPU      float64 // cores
	MemoryGB float64 // GiB
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
	Total float64 `json:"totalUsd"`
	Model string  `json:"model"`
	// Shares are parts of the node price the stack's own system pods reserve (already in Lines).
	Shares []Line `json:"sharesOfNodes,omitempty"`
	// FreeTierNote says how the billing account's credit was counted.
	FreeTierNote string    `json:"freeTier"`
	Region       string    `json:"region"`
	Source       string    `json:"priceSource"`
	Date         string    `json:"priceDate"`
	Setup2018    Setup2018 `json:"setup2018"`
}

// Estimate prices a cluster: its nodes, their boot disks and ephemeral external IPs (the nginx edge
// needs one per node), the persistent volumes, and the zonal cluster's management fee less its share
// of the billing account's free-tier credit.
func (p Prices) Estimate(c Cluster) (Estimate, error) {
	mt, ok := p.MachineTypes[c.MachineType]
	if !ok {
		return Estimate{}, fmt.Errorf("no price for machine type %q in region %s of the price table (have %s): add it to internal/cost/prices.json",
			c.MachineType, p.Region, strings.Join(slices.Sorted(maps.Keys(p.MachineTypes)), ", "))
	}
	disk, ok := p.DiskGBMonth[c.DiskType]
	if !ok {
		return Estimate{}, fmt.Errorf("no price for disk type %q in region %s of the price table", c.DiskType, p.Region)
	}
	n, h := float64(c.NodeCount), p.HoursPerMonth
	fee := p.ClusterFeeHourly * h
	clusters := c.ClustersOnBillingAccount
	if clusters < 1 {
		clusters = 1
	}
	// The account's credit covers fees up to its amount, whichever clusters they come from: each
	// cluster is credited its equal part, so the stacks' estimates add up to the account's bill.
	credit := math.Min(fee*float64(clusters), p.ClusterFreeTierMonthly) / float64(clusters)
	creditItem := "free-tier credit (the only zonal cluster on its billing account)"
	note := fmt.Sprintf("the billing account's free-tier credit (%.2f USD/month) covers this cluster's whole fee: no other zonal cluster bills to the account (shoestring:billing)", p.ClusterFreeTierMonthly)
	if clusters > 1 {
		creditItem = fmt.Sprintf("free-tier credit (1/%d: %d zonal clusters share the account)", clusters, clusters)
		note = fmt.Sprintf("%d zonal clusters bill to one account (shoestring:billing): its %.2f USD/month credit against %.2f USD of fees is split, %.2f each",
			clusters, p.ClusterFreeTierMonthly, fee*float64(clusters), cents(credit))
	}
	lines := []Line{
		{Item: fmt.Sprintf("nodes: %d x %s", c.NodeCount, c.MachineType), OnDemand: n * mt.OnDemandHourly * h, Spot: n * mt.SpotHourly * h},
		{Item: fmt.Sprintf("boot disks: %d x %d GB %s", c.NodeCount, c.DiskSizeGB, c.DiskType), OnDemand: n * float64(c.DiskSizeGB) * disk, Spot: n * float64(c.DiskSizeGB) * disk},
		{Item: fmt.Sprintf("external IPv4: %d", c.NodeCount), OnDemand: n * p.ExternalIPv4.Standard * h, Spot: n * p.ExternalIPv4.Spot * h},
	}
	for _, v := range c.Volumes {
		class := v.StorageClass
		if class == "" {
			class = p.DefaultStorageClass
		}
		dt, ok := p.StorageClassDisks[class]
		if !ok {
			return Estimate{}, fmt.Errorf("volume %s: no disk type known for storage class %q (have %s): add it to storageClasses in internal/cost/prices.json",
				v.Name, class, strings.Join(slices.Sorted(maps.Keys(p.StorageClassDisks)), ", "))
		}
		price, ok := p.DiskGBMonth[dt]
		if !ok {
			return Estimate{}, fmt.Errorf("volume %s: no price for disk type %q in region %s of the price table", v.Name, dt, p.Region)
		}
		gb := math.Ceil(v.SizeGB - 1e-9)
		m := gb * price
		lines = append(lines, Line{Item: fmt.Sprintf("volume %s: %g GB %s (%s)", v.Name, gb, dt, class), OnDemand: m, Spot: m})
	}
	lines = append(lines,
		Line{Item: "zonal cluster management fee", OnDemand: fee, Spot: fee},
		Line{Item: creditItem, OnDemand: -credit, Spot: -credit},
	)
	e := Estimate{Source: p.Source, Date: p.Date, Region: p.Region, Model: "on-demand", FreeTierNote: note, Setup2018: p.Setup2018}
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
	for _, pods := range c.Pods {
		if pods.Count == 0 {
			continue
		}
		var both [2]float64
		for i, discounted := range []bool{false, true} {
			_, perVCPU, perGB, _ := p.NodeHourly(c.MachineType, discounted) // the machine type was found above
			both[i] = cents(float64(pods.Count) * (pods.CPU*perVCPU + pods.MemoryGB*perGB) * h)
		}
		e.Shares = append(e.Shares, Line{
			Item:     fmt.Sprintf("%s: %d x %gm CPU / %gMi", pods.Name, pods.Count, math.Round(pods.CPU*1000), math.Round(pods.MemoryGB*1024)),
			OnDemand: both[0], Spot: both[1],
		})
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

// Table renders the estimate as a fixed-width table for `make cost`, with the original 2018 setup's figures
// underneath.
func (e Estimate) Table() string {
	var b strings.Builder
	row := func(item string, a, c float64) { fmt.Fprintf(&b, "%-58s %12.2f %12.2f\n", item, a, c) }
	fmt.Fprintf(&b, "%-58s %12s %12s\n", "monthly, USD ("+e.Region+")", "on-demand", "spot/preempt")
	for _, l := range e.Lines {
		row(l.Item, l.OnDemand, l.Spot)
	}
	row("total", e.TotalOnDemand, e.TotalSpot)
	fmt.Fprintf(&b, "configured (%s): %.2f USD/month\n", e.Model, e.Total)
	if len(e.Shares) > 0 {
		fmt.Fprintf(&b, "\nof the nodes' price, reserved by the stack's system pods (included above):\n")
		for _, l := range e.Shares {
			row("  "+l.Item, l.OnDemand, l.Spot)
		}
	}
	fmt.Fprintf(&b, "\nfree tier: %s\n", e.FreeTierNote)
	s := e.Setup2018
	fmt.Fprintf(&b, "2018 setup (%s): %.2f on-demand, %.2f preemptible, %.2f with the Always Free VM; since then: %s\n",
		s.Cluster, s.OnDemandMonthly, s.PreemptibleMonthly, s.WithFreeTierMonthly, s.Since)
	fmt.Fprintf(&b, "prices: %s, as of %s\n", e.Source, e.Date)
	return b.String()
}

// Sum adds estimates of clusters billed together (e.g. every stack on one billing account).
func Sum(es ...Estimate) (onDemand, spot, configured float64) {
	for _, e := range es {
		onDemand += e.TotalOnDemand
		spot += e.TotalSpot
		configured += e.Total
	}
	return cents(onDemand), cents(spot), cents(configured)
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }
