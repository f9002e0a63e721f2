package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/shoestring-dev/shoestring/internal/render"
)

func init() {
	register("apply", command{
		summary: "server-side apply a render in its order: apply --kubeconfig K --dir DIR [--dry-run] [--wait]",
		run:     runApply,
	})
}

func runApply(args []string) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the target cluster (default $KUBECONFIG)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: its current context)")
	dir := fs.String("dir", "", "a render folder (shoestring render --out) (required)")
	dryRun := fs.Bool("dry-run", false, "only let the apiserver validate and admit every object (dryRun=All)")
	createNS := fs.Bool("create-namespaces", false, "with --dry-run: create the render's Namespaces for real so the objects in them can be checked")
	wait := fs.Bool("wait", false, "wait until every Job has completed and every workload is ready, then print what runs where")
	timeout := fs.Duration("timeout", 5*time.Minute, "limit of each wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required (a folder written by `shoestring render`)")
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required (or set KUBECONFIG); the local cluster's is .state/cluster/kubeconfig")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: *kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: *kubeContext}).ClientConfig()
	if err != nil {
		return fmt.Errorf("--kubeconfig %s: %w", *kubeconfig, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = render.Apply(ctx, cfg, *dir, render.ApplyOptions{
		DryRun: *dryRun, CreateNamespaces: *createNS, Wait: *wait, Timeout: *timeout, Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	if *wait && !*dryRun {
		order, err := render.ReadOrder(*dir)
		if err != nil {
			return err
		}
		fmt.Println()
		return render.Summary(ctx, cfg, order, os.Stdout)
	}
	return nil
}
