package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shoestring-dev/shoestring/internal/render"
)

func init() {
	register("render", command{
		summary: "write a stack's Kubernetes manifests, apply order and cloud summary: render --stack dev --out DIR",
		run:     runRender,
	})
}

func runRender(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	stack := fs.String("stack", "", "stack name; its config is Pulumi.<stack>.yaml (required)")
	out := fs.String("out", "", "output folder; its manifests/ is replaced (required)")
	dir := fs.String("project-dir", ".", "folder holding the Pulumi.<stack>.yaml files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stack == "" || *out == "" {
		return errors.New("--stack and --out are required, e.g. render --stack dev --out .state/render/dev")
	}
	path := filepath.Join(*dir, "Pulumi."+*stack+".yaml")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--stack %s: %w (want a stack file Pulumi.<stack>.yaml in %s)", *stack, err, *dir)
	}
	r, err := render.StackFile(path, *stack)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := r.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "render: %s: %d Kubernetes objects in %d waves, %d cloud resources -> %s\n",
		*stack, len(r.Order.Objects), r.Order.Waves, len(r.Cloud), *out)
	return nil
}
