package playground

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/shoestring-dev/shoestring/internal/cost"
)

// Usage is what one playground reserves on the cluster: the sum over its pods of their effective
// requests (per pod: the larger of the sum of its containers' requests and its largest init
// container's request, the way the scheduler counts them).
type Usage struct {
	Stack       string
	Branch      string
	Age         time.Duration
	CPUCores    float64 // requested vCPUs, e.g. 0.25 for 250m
	MemoryBytes float64 // requested memory in bytes
}

// Rates are the prices a request is charged at, derived from the cluster's node price: half of a
// node-hour to its vCPUs and half to its memory (internal/cost.NodeHourly).
type Rates struct {
	MachineType   string
	Model         string  // "on-demand" or "spot/preemptible"
	PerVCPUHour   float64 // USD
	PerGiBHour    float64 // USD; GCP's "GB" of machine memory is a GiB
	HoursPerMonth float64
}

// RatesFor derives the rates from the price table for the sandbox cluster's nodes.
func RatesFor(p cost.Prices, machineType string, discounted bool) (Rates, error) {
	_, perVCPU, perGB, err := p.NodeHourly(machineType, discounted)
	if err != nil {
		return Rates{}, fmt.Errorf("pricing playgrounds: %w", err)
	}
	model := "on-demand"
	if discounted {
		model = "spot/preemptible"
	}
	return Rates{MachineType: machineType, Model: model, PerVCPUHour: perVCPU, PerGiBHour: perGB, HoursPerMonth: p.HoursPerMonth}, nil
}

const gib = 1 << 30

// Line is one playground's cost.
type Line struct {
	Usage
	MemoryGiB   float64
	HourlyUSD   float64
	MonthlyUSD  float64 // if it ran a whole month (Rates.HoursPerMonth)
	SoFarUSD    float64 // over its age
	AgeRoundedH float64 // age in hours, for the table
}

// Report is every playground's cost, most expensive first, and the totals.
type Report struct {
	Rates        Rates
	Lines        []Line
	TotalMonthly float64
	TotalSoFar   float64
}

// Price computes the report. Figures are rounded to cents only for display (Table), so totals are
// the exact sum of the lines.
func Price(usages []Usage, r Rates) Report {
	rep := Report{Rates: r}
	for _, u := range usages {
		memGiB := u.MemoryBytes / gib
		hourly := u.CPUCores*r.PerVCPUHour + memGiB*r.PerGiBHour
		l := Line{Usage: u, MemoryGiB: memGiB, HourlyUSD: hourly, MonthlyUSD: hourly * r.HoursPerMonth,
			SoFarUSD: hourly * u.Age.Hours(), AgeRoundedH: math.Round(u.Age.Hours()*10) / 10}
		rep.Lines = append(rep.Lines, l)
		rep.TotalMonthly += l.MonthlyUSD
		rep.TotalSoFar += l.SoFarUSD
	}
	sort.SliceStable(rep.Lines, func(i, j int) bool { return rep.Lines[i].MonthlyUSD > rep.Lines[j].MonthlyUSD })
	return rep
}

// Table renders the report as plain text, the body of the weekly report.
func (rep Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Playgrounds priced at %s %s node prices: %.5f USD per requested vCPU-hour, %.5f USD per requested GiB-hour\n",
		rep.Rates.MachineType, rep.Rates.Model, rep.Rates.PerVCPUHour, rep.Rates.PerGiBHour)
	fmt.Fprintf(&b, "%-40s %-30s %8s %6s %8s %10s %10s\n", "stack", "branch", "age (h)", "vCPU", "GiB", "USD/month", "USD so far")
	for _, l := range rep.Lines {
		fmt.Fprintf(&b, "%-40s %-30s %8.1f %6.3f %8.3f %10.2f %10.2f\n", l.Stack, l.Branch, l.AgeRoundedH, l.CPUCores, l.MemoryGiB, l.MonthlyUSD, l.SoFarUSD)
	}
	fmt.Fprintf(&b, "%-40s %-30s %8s %6s %8s %10.2f %10.2f\n", fmt.Sprintf("total (%d playgrounds)", len(rep.Lines)), "", "", "", "", rep.TotalMonthly, rep.TotalSoFar)
	return b.String()
}

// PodRequest is one pod's requests, per container, in cores and bytes.
type PodRequest struct {
	Containers     []Resources
	InitContainers []Resources
}

// Resources is one container's requests.
type Resources struct {
	CPUCores    float64
	MemoryBytes float64
}

// Effective is what the scheduler reserves for a pod: per resource, the larger of the sum of its
// containers and its largest init container (init containers run one at a time, before the rest).
func (p PodRequest) Effective() Resources {
	var sum, maxInit Resources
	for _, c := range p.Containers {
		sum.CPUCores += c.CPUCores
		sum.MemoryBytes += c.MemoryBytes
	}
	for _, c := range p.InitContainers {
		maxInit.CPUCores = math.Max(maxInit.CPUCores, c.CPUCores)
		maxInit.MemoryBytes = math.Max(maxInit.MemoryBytes, c.MemoryBytes)
	}
	return Resources{CPUCores: math.Max(sum.CPUCores, maxInit.CPUCores), MemoryBytes: math.Max(sum.MemoryBytes, maxInit.MemoryBytes)}
}
