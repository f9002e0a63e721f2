package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	register("cost", command{summary: "monthly cost estimate of a stack's cluster (price table in internal/cost)", run: runCost})
}

func runCost(args []string) error {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	stackFile := addStackFileFlags(fs, "price")
	asJSON := fs.Bool("json", false, "print the estimate as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := stackFile.path()
	cfg, err := stackFile.load()
	if err != nil {
		return err
	}
	if cfg.Cluster.Mode != stacks.ClusterModeGKE {
		fmt.Printf("%s: the cluster is an existing one (mode %q): nothing here is billed by this program\n", path, cfg.Cluster.Mode)
		return nil
	}
	e, err := program.ClusterCost(&cfg.Cluster.GKE)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	fmt.Printf("%s (%d x %s, %s)\n\n%s", path, cfg.Cluster.GKE.NodeCount, cfg.Cluster.GKE.MachineType, cfg.Cluster.GKE.Provisioning, e.Table())
	return nil
}
