package playground

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/cost"
	"github.com/shoestring-dev/shoestring/stacks"
)

func TestCollision(t *testing.T) {
	n, _ := stacks.PlaygroundForBranch("play/Login_Form")
	existing := map[string]string{"play-login-form": "play/login-form"}
	err := CheckCollision(n, existing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"play/login-form"`)
	assert.Contains(t, err.Error(), "rename one of the branches")
	same, _ := stacks.PlaygroundForBranch("play/login-form")
	assert.NoError(t, CheckCollision(same, existing), "the same branch again is an update, not a collision")
	other, _ := stacks.PlaygroundForBranch("play/other")
	assert.NoError(t, CheckCollision(other, existing))
}

func TestServices(t *testing.T) {
	all := []string{"gateway", "users", "orders", "mail"}
	got, err := Services(all, []string{"mail", "users"}, "gateway")
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway", "users", "mail"}, got, "base order, gateway always")
	got, err = Services(all, nil, "gateway")
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway"}, got)
	_, err = Services(all, []string{"billing"}, "gateway")
	assert.ErrorContains(t, err, `changed service "billing"`)
	got, err = Services(all, []string{"mail"}, "gateway", "users")
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway", "users", "mail"}, got, "every gateway is deployed")
	_, err = Services(all, nil, "api-gw")
	assert.ErrorContains(t, err, "shoestring:edge.playgrounds.gatewayService")
}

func TestChangedServices(t *testing.T) {
	sources := map[string]string{"users": "services/users", "orders": "services/orders/", "mail": "mail"}
	got := ChangedServices([]string{"services/users/main.go", "services/orders/x/y.py", "services/usersx/z", "README.md", "mail"}, sources)
	assert.Equal(t, []string{"mail", "orders", "users"}, got)
	assert.Empty(t, ChangedServices([]string{"services/usersx/a"}, sources))
}

func TestReapNeverTouchesNonPlaygroundStacks(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	old := now.Add(-30 * 24 * time.Hour)
	stacks := []Stack{
		{Name: "prod", Branch: "play/prod", Created: old},        // a base stack, even with a branch recorded
		{Name: "sandbox", Created: old},                          // a base stack
		{Name: "play-demo", Created: old},                        // hand-made, no branch recorded
		{Name: "play-x", Branch: "play/other", Created: old},     // recorded branch maps elsewhere
		{Name: "play-gone", Branch: "play/gone", Created: now},   // branch deleted
		{Name: "play-stale", Branch: "play/stale", Created: old}, // too old
		{Name: "play-fresh", Branch: "play/fresh", Created: now}, // keeps
		{Name: "play-upd", Branch: "play/upd", LastUpdate: old},  // age from last update
	}
	branches := map[string]bool{"main": true, "play/stale": true, "play/fresh": true, "play/upd": true, "play/other": true, "play/prod": true}
	remove, kept := Reap(stacks, branches, 7*24*time.Hour, now)
	var names []string
	for _, r := range remove {
		names = append(names, r.Stack)
	}
	assert.Equal(t, []string{"play-gone", "play-stale", "play-upd"}, names)
	assert.Contains(t, remove[0].Reason, "no longer exists")
	assert.Contains(t, remove[1].Reason, "older than 168h0m0s")
	require.Len(t, kept, 2)
	assert.Equal(t, "play-demo", kept[0].Stack)
	assert.Equal(t, "play-x", kept[1].Stack)

	// Without an age limit only branch removal applies.
	remove, _ = Reap(stacks, branches, 0, now)
	require.Len(t, remove, 1)
	assert.Equal(t, "play-gone", remove[0].Stack)

	// An unknown branch list (empty) must not read as "every branch is gone".
	remove, _ = Reap(stacks, map[string]bool{}, 0, now)
	assert.Empty(t, remove)
}

func TestReportArithmetic(t *testing.T) {
	// e2-small spot: 0.0050 USD/h, 0.5 vCPU, 2 GB -> 0.005 per vCPU-hour, 0.00125 per GiB-hour.
	r, err := RatesFor(cost.Table(), "e2-small", true)
	require.NoError(t, err)
	assert.InDelta(t, 0.005, r.PerVCPUHour, 1e-12)
	assert.InDelta(t, 0.00125, r.PerGiBHour, 1e-12)
	assert.Equal(t, 730.0, r.HoursPerMonth)

	rep := Price([]Usage{
		{Stack: "play-a", Branch: "play/a", Age: 48 * time.Hour, CPUCores: 0.3, MemoryBytes: 512 << 20},
		{Stack: "play-b", Branch: "play/b", Age: 10 * time.Hour, CPUCores: 1, MemoryBytes: 2 << 30},
	}, r)
	// a: 0.3*0.005 + 0.5*0.00125 = 0.0015 + 0.000625 = 0.002125 USD/h
	// b: 1*0.005 + 2*0.00125 = 0.0075 USD/h
	require.Len(t, rep.Lines, 2)
	assert.Equal(t, "play-b", rep.Lines[0].Stack, "most expensive first")
	assert.InDelta(t, 0.0075, rep.Lines[0].HourlyUSD, 1e-12)
	assert.InDelta(t, 0.0075*730, rep.Lines[0].MonthlyUSD, 1e-9)
	assert.InDelta(t, 0.075, rep.Lines[0].SoFarUSD, 1e-12)
	assert.InDelta(t, 0.5, rep.Lines[1].MemoryGiB, 1e-12)
	assert.InDelta(t, 0.002125*48, rep.Lines[1].SoFarUSD, 1e-12)
	assert.InDelta(t, (0.0075+0.002125)*730, rep.TotalMonthly, 1e-9)
	assert.InDelta(t, 0.075+0.102, rep.TotalSoFar, 1e-9)
	table := rep.Table()
	assert.Contains(t, table, "play-b")
	assert.Contains(t, table, "7.03") // total per month: 0.009625*730 = 7.02625
	assert.Contains(t, table, "total (2 playgrounds)")

	_, err = RatesFor(cost.Table(), "n1-nonsense", false)
	assert.ErrorContains(t, err, "n1-nonsense")
}

func TestEffectiveRequests(t *testing.T) {
	p := PodRequest{
		Containers:     []Resources{{0.1, 100}, {0.2, 50}},
		InitContainers: []Resources{{0.5, 10}, {0.05, 120}},
	}
	e := p.Effective()
	assert.InDelta(t, 0.5, e.CPUCores, 1e-12)
	assert.InDelta(t, 150, e.MemoryBytes, 1e-12)
}
