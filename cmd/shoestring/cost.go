package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/cost"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	register("cost", command{summary: "monthly cost estimate of a stack's cluster, or of every stack by billing account (price table in internal/cost)", run: runCost})
}

func runCost(args []string) error {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	stackFile := addStackFileFlags(fs, "price")
	all := fs.Bool("all", false, "every Pulumi.<stack>.yaml in --dir with a GKE cluster, with each billing account's total")
	dir := fs.String("dir", ".", "folder of the stack files (with --all, and for the stacks billing.sharedWith names)")
	asJSON := fs.Bool("json", false, "print the estimate as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *all {
		return costAll(os.Stdout, *dir, *asJSON)
	}
	path := stackFile.path()
	if *stackFile.file == "" {
		path = filepath.Join(*dir, path)
	}
	return costOne(os.Stdout, path, *asJSON)
}

// costOne prints one stack's estimate, after checking that the stacks it says share its billing
// account say so too (otherwise the free-tier credit would be counted twice or not at all).
func costOne(w io.Writer, path string, asJSON bool) error {
	cfg, _, err := stacks.CheckStackFile(path)
	if err != nil {
		return err
	}
	if cfg.Cluster.Mode != stacks.ClusterModeGKE {
		fmt.Fprintf(w, "%s: the cluster is an existing one (mode %q): nothing here is billed by this program\n", path, cfg.Cluster.Mode)
		return nil
	}
	dir, name := filepath.Dir(path), stackName(path)
	if err := checkSharedWith(dir, name, cfg); err != nil {
		return err
	}
	e, err := program.ClusterCost(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	g := &cfg.Cluster.GKE
	fmt.Fprintf(w, "%s (%d x %s, %s, %s)\n\n%s", path, g.NodeCount, g.MachineType, g.Provisioning, g.Zone, e.Table())
	return nil
}

// stackName is the stack of a Pulumi.<stack>.yaml path ("" for other file names).
func stackName(path string) string {
	base := filepath.Base(path)
	if !strings.HasPrefix(base, "Pulumi.") || !strings.HasSuffix(base, ".yaml") || base == "Pulumi.yaml" {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(base, "Pulumi."), ".yaml")
}

// checkSharedWith verifies shoestring:billing.sharedWith of stack `name` against the files of the
// stacks it names: each exists, has a GKE cluster and names this stack back.
func checkSharedWith(dir, name string, cfg *stacks.Config) error {
	for i, other := range cfg.Billing.SharedWith {
		key := fmt.Sprintf("%s:billing.sharedWith[%d]", stacks.Namespace, i)
		path := filepath.Join(dir, "Pulumi."+other+".yaml")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %q names a stack without a stack file (%s): list stacks of this repository only; count clusters managed elsewhere in %s:billing.otherClusters",
				key, other, path, stacks.Namespace)
		}
		oc, err := stacks.LoadStackFile(path)
		if err != nil {
			return err
		}
		if oc.Cluster.Mode != stacks.ClusterModeGKE {
			return fmt.Errorf("%s: %q has no GKE cluster of its own (cluster mode %q): remove it; only clusters share the free-tier credit", key, other, oc.Cluster.Mode)
		}
		if name != "" && !contains(oc.Billing.SharedWith, name) {
			return fmt.Errorf("%s: %q does not list %q back in its %s:billing.sharedWith: add %q there (or remove %q here), so the credit is split the same way in both estimates",
				key, other, name, stacks.Namespace, name, other)
		}
		if oc.Billing.ClustersOnAccount() != cfg.Billing.ClustersOnAccount() {
			return fmt.Errorf("%s: %q counts %d clusters on the billing account and this stack %d: make sharedWith and otherClusters agree",
				key, other, oc.Billing.ClustersOnAccount(), cfg.Billing.ClustersOnAccount())
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// accountTotal is what one billing account pays for the stacks sharing it.
type accountTotal struct {
	Stacks        []string `json:"stacks"`
	OtherClusters int      `json:"otherClusters"`
	TotalOnDemand float64  `json:"totalOnDemandUsd"`
	TotalSpot     float64  `json:"totalSpotUsd"`
	Total         float64  `json:"totalUsd"` // each stack at its configured model
}

// costAll prints every GKE stack's estimate and, per billing account (the stacks linked by
// billing.sharedWith), the sum: the figure the account is billed.
func costAll(w io.Writer, dir string, asJSON bool) error {
	files, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	cfgs := map[string]*stacks.Config{}
	ests := map[string]cost.Estimate{}
	var names []string
	for _, f := range files {
		name := stackName(f)
		cfg, _, err := stacks.CheckStackFile(f)
		if err != nil {
			return err
		}
		if cfg.Cluster.Mode != stacks.ClusterModeGKE {
			continue
		}
		if err := checkSharedWith(dir, name, cfg); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		e, err := program.ClusterCost(cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		cfgs[name], ests[name] = cfg, e
		names = append(names, name)
	}
	// The accounts: stacks joined through sharedWith (checked symmetric above).
	seen := map[string]bool{}
	var accounts []accountTotal
	for _, n := range names {
		if seen[n] {
			continue
		}
		group := append([]string{n}, cfgs[n].Billing.SharedWith...)
		sort.Strings(group)
		var es []cost.Estimate
		for _, g := range group {
			seen[g] = true
			es = append(es, ests[g])
		}
		a := accountTotal{Stacks: group, OtherClusters: cfgs[n].Billing.OtherClusters}
		a.TotalOnDemand, a.TotalSpot, a.Total = cost.Sum(es...)
		accounts = append(accounts, a)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"stacks": ests, "billingAccounts": accounts})
	}
	for _, n := range names {
		g := &cfgs[n].Cluster.GKE
		fmt.Fprintf(w, "== %s (%d x %s, %s, %s)\n\n%s\n", n, g.NodeCount, g.MachineType, g.Provisioning, g.Zone, ests[n].Table())
	}
	fmt.Fprintln(w, "== per billing account (the stacks billing.sharedWith links; the free-tier credit counted once)")
	for _, a := range accounts {
		other := ""
		if a.OtherClusters > 0 {
			other = fmt.Sprintf(" (+ %d clusters managed elsewhere, not priced here)", a.OtherClusters)
		}
		fmt.Fprintf(w, "%s%s: %.2f USD/month as configured (%.2f if all on-demand, %.2f if all spot/preemptible)\n",
			strings.Join(a.Stacks, " + "), other, a.Total, a.TotalOnDemand, a.TotalSpot)
	}
	return nil
}
