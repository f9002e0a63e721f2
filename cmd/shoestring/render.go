package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/engine"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	register("render", command{
		summary: "write a stack's Kubernetes objects as YAML with the real engine and provider: render --stack S --out DIR",
		run:     runRender,
	})
}

// Folders the Kubernetes provider's render mode writes under --out.
var renderDirs = []string{"0-crd", "1-manifest"}

// runRender runs the stack's program under the real engine with the Kubernetes provider in render
// mode (renderYamlToDirectory), on a throwaway state folder: every object the provider would apply
// is written to --out instead, and no cluster, GCP or Cloudflare is contacted (the Kubernetes side
// is retargeted as with --existing-cluster). The stack file is checked as by every command: a GKE
// stack must set every secret it refers to; a local stack's missing secrets, and values this
// machine cannot decrypt, are written as stacks.SecretPlaceholder, each named on stderr. Every
// secret value is written in plain text: the folder is for reading.
func runRender(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	project := fs.String("project", ".", "folder with Pulumi.yaml and Pulumi.<stack>.yaml")
	stack := fs.String("stack", "", "the stack to render")
	out := fs.String("out", "", "folder the objects are written to (its 0-crd and 1-manifest are replaced)")
	root := fs.String("pulumi-root", "", "folder whose bin/pulumi to use (default: pulumi on PATH, else $SHOESTRING_TOOLS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stack == "" || *out == "" {
		return errors.New("--stack and --out are required, e.g. render --stack prod --out .state/render/prod")
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	// The objects land in a fresh folder beside --out and replace its 0-crd and 1-manifest only
	// once the render succeeded: a refused or failed render leaves an earlier one as it was. The
	// folder's name is the same on every run (the provider records it), so two renders of the same
	// files are the same bytes.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	next := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".rendering")
	if err := os.RemoveAll(next); err != nil {
		return err
	}
	defer os.RemoveAll(next)
	state, err := os.MkdirTemp("", "shoestring-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)

	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	s, err := engine.Open(ctx, engine.Options{
		ProjectDir: *project, Stack: *stack, StateDir: state, RenderTo: next,
		Program: program.Run, Plugins: enginePlugins, PulumiRoot: pulumiRoot(*root), Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	for _, key := range s.GeneratedSecrets() {
		fmt.Fprintf(os.Stderr, "render %s: %s is not set: written as %q\n", *stack, key, stacks.SecretPlaceholder)
	}
	if _, err := s.Up(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := 0
	for _, d := range renderDirs {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(next, d)); err != nil {
			continue
		}
		if err := os.Rename(filepath.Join(next, d), filepath.Join(dir, d)); err != nil {
			return err
		}
		files, _ := filepath.Glob(filepath.Join(dir, d, "*.yaml"))
		n += len(files)
	}
	fmt.Fprintf(os.Stderr, "render %s: %d Kubernetes objects in %s in %.1fs (secret values in plain text: do not commit or share)\n",
		*stack, n, dir, time.Since(start).Seconds())
	return nil
}
