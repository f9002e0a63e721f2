package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/engine"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	for _, op := range []string{"preview", "up", "destroy"} {
		register(op, command{
			summary: op + " a stack with the Pulumi engine, state kept locally: " + op + " --stack S [--existing-cluster KUBECONFIG]",
			run:     func(args []string) error { return runStack(op, args, os.Stdout) },
		})
	}
}

// stackFlags are the flags of preview, up and destroy.
type stackFlags struct {
	project, stack, existing, stateDir, pulumiRoot string
}

func (f *stackFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.project, "project", ".", "folder with Pulumi.yaml and Pulumi.<stack>.yaml")
	fs.StringVar(&f.stack, "stack", "dev", "the stack")
	fs.StringVar(&f.existing, "existing-cluster", "", "kubeconfig of a cluster to deploy the stack's Kubernetes side to, instead of its own (no GKE, no Cloudflare; the stack file is not edited)")
	fs.StringVar(&f.stateDir, "state", "", "folder of the local backend, passphrase and work copies (default <project>/.state/pulumi)")
	fs.StringVar(&f.pulumiRoot, "pulumi-root", "", "folder whose bin/pulumi to use (default: pulumi on PATH, else $SHOESTRING_TOOLS)")
}

func (f *stackFlags) open(ctx context.Context, progress io.Writer) (*engine.Stack, error) {
	root := pulumiRoot(f.pulumiRoot)
	return engine.Open(ctx, engine.Options{
		ProjectDir: f.project, Stack: f.stack, StateDir: f.stateDir, ExistingCluster: f.existing,
		Program: program.Run, Plugins: enginePlugins, PulumiRoot: root, Progress: progress,
	})
}

// enginePlugins is program.Plugins in the engine's terms.
func enginePlugins(cfg *stacks.Config) []engine.Plugin {
	var out []engine.Plugin
	for _, p := range program.Plugins(cfg) {
		out = append(out, engine.Plugin{Name: p.Name, Version: p.Version})
	}
	return out
}

// pulumiRoot is the --pulumi-root flag when given, else "" (pulumi from PATH) when the user has the
// CLI, else the pinned build's folder.
func pulumiRoot(flag string) string {
	if flag != "" {
		return flag
	}
	if _, err := exec.LookPath("pulumi"); err == nil {
		return ""
	}
	return toolsDir()
}

// interruptible is a context cancelled by the first Ctrl-C or SIGTERM: the engine is then asked to
// stop (it finishes the operations in flight and saves the state). A second signal is the default
// action again.
func interruptible() (context.Context, func()) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

func runStack(op string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(op, flag.ContinueOnError)
	var f stackFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see %s -h)", fs.Arg(0), op)
	}
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	s, err := f.open(ctx, out)
	if err != nil {
		return err
	}
	for _, key := range s.GeneratedSecrets() {
		fmt.Fprintf(out, "%s: generated a random value for %s (kept encrypted in %s, not in the repository)\n", op, key, "the local state")
	}
	var res engine.Result
	switch op {
	case "preview":
		res, err = s.Preview(ctx)
	case "up":
		res, err = s.Up(ctx)
	case "destroy":
		res, err = s.Destroy(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w (the next %s continues from the saved state)", err, op)
		}
		return err
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, summary(op, s.Name(), res, time.Since(start)))
	if op == "up" {
		fmt.Fprint(out, reachIt(s.Config(), res))
		return checkServing(ctx, s.Config(), out)
	}
	return nil
}

// summary says what changed: counts per operation and the changed resources by name.
func summary(op, stack string, res engine.Result, took time.Duration) string {
	var b strings.Builder
	changed := res.Changes.Changed()
	if len(changed) == 0 {
		fmt.Fprintf(&b, "%s %s: no changes (%d resources unchanged) in %.1fs\n", op, stack, res.Counts["same"], took.Seconds())
		return b.String()
	}
	var ops []string
	for k, n := range res.Counts {
		ops = append(ops, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(ops)
	fmt.Fprintf(&b, "%s %s: %s in %.1fs\n", op, stack, strings.Join(ops, ", "), took.Seconds())
	if len(changed) <= 40 {
		for _, c := range changed {
			fmt.Fprintf(&b, "  %-18s %s %s\n", c.Op, shortType(c.Type), c.Name)
		}
	}
	return b.String()
}

// reachIt lists what the provider awaited (every workload in the stack is ready when up returns)
// and how to reach it.
func reachIt(cfg *stacks.Config, res engine.Result) string {
	var b strings.Builder
	ready := map[string][]string{}
	for _, c := range res.Changes {
		switch t := shortType(c.Type); t {
		case "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob":
			if c.Op != "delete" && c.Op != "delete-replaced" {
				ready[t] = append(ready[t], c.Name)
			}
		}
	}
	if len(ready) > 0 {
		fmt.Fprintln(&b, "ready (awaited by the Kubernetes provider):")
		kinds := make([]string, 0, len(ready))
		for k := range ready {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			sort.Strings(ready[k])
			fmt.Fprintf(&b, "  %-12s %s\n", k+"s", strings.Join(ready[k], ", "))
		}
	}
	if cfg.Cluster.Mode == stacks.ClusterModeExisting {
		fmt.Fprintf(&b, "reach it: KUBECONFIG=%s kubectl -n %s get pods\n", cfg.Cluster.Existing.Kubeconfig, cfg.Namespace)
	}
	for _, s := range cfg.Services {
		for _, r := range s.Routes {
			fmt.Fprintf(&b, "  http://%s%s -> %s (through the edge on every node's port 80)\n", r.Host, r.PathPrefix, s.Name)
		}
	}
	var keys []string
	for k, v := range res.Outputs {
		if !v.Secret && k != "kubeconfig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintln(&b, "outputs:")
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s: %v\n", k, res.Outputs[k].Value)
		}
	}
	return b.String()
}

func shortType(t string) string {
	if i := strings.LastIndex(t, ":"); i >= 0 {
		return t[i+1:]
	}
	return t
}
