package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shoestring-dev/shoestring/internal/cost"
	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/stacks"
)

// The commands over every playground of a base stack: list, report (with cost) and reap.

func playgroundList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("playground list", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := common.manager()
	if err != nil {
		return err
	}
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	writeList(os.Stdout, list, time.Now())
	return nil
}

func writeList(w io.Writer, list []playground.Stack, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tBRANCH\tAGE\tCREATED\tLAST UPDATE")
	for _, s := range list {
		branch := s.Branch
		if branch == "" {
			branch = "(none recorded)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, branch, s.Age(now).Round(time.Minute), stamp(s.Created), stamp(s.LastUpdate))
	}
	tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func playgroundReport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("playground report", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	kubeconfig := fs.String("kubeconfig", defaultKubeconfig(), "kubeconfig of the base stack's cluster (the pods' requests are read there)")
	machineType := fs.String("machine-type", "", "price nodes of this machine type (default: the base stack's cluster.gke.machineType)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := common.baseConfig()
	if err != nil {
		return err
	}
	mt, discounted := *machineType, base.Cluster.GKE.Provisioning != stacks.ProvisioningStandard
	if mt == "" {
		if base.Cluster.Mode != stacks.ClusterModeGKE {
			return fmt.Errorf("base stack %q has no GKE node price (cluster mode %q): pass --machine-type", common.base, base.Cluster.Mode)
		}
		mt = base.Cluster.GKE.MachineType
	}
	rates, err := playground.RatesFor(cost.Table(), mt, discounted)
	if err != nil {
		return err
	}
	m, err := common.manager()
	if err != nil {
		return err
	}
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	now := time.Now()
	var usages []playground.Usage
	for _, s := range list {
		u, err := namespaceUsage(ctx, client, s.Name)
		if err != nil {
			return err
		}
		u.Stack, u.Branch, u.Age = s.Name, s.Branch, s.Age(now)
		usages = append(usages, u)
	}
	fmt.Print(playground.Price(usages, rates).Table())
	return nil
}

// namespaceUsage sums the effective requests of the running pods of a playground's namespace.
func namespaceUsage(ctx context.Context, client kubernetes.Interface, ns string) (playground.Usage, error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return playground.Usage{}, fmt.Errorf("listing the pods of %s: %w", ns, err)
	}
	var u playground.Usage
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue // finished pods reserve nothing
		}
		e := podRequest(&p).Effective()
		u.CPUCores += e.CPUCores
		u.MemoryBytes += e.MemoryBytes
	}
	return u, nil
}

func podRequest(p *corev1.Pod) playground.PodRequest {
	res := func(c corev1.Container) playground.Resources {
		return playground.Resources{
			CPUCores:    float64(c.Resources.Requests.Cpu().MilliValue()) / 1000,
			MemoryBytes: float64(c.Resources.Requests.Memory().Value()),
		}
	}
	var r playground.PodRequest
	for _, c := range p.Spec.Containers {
		r.Containers = append(r.Containers, res(c))
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			r.Containers = append(r.Containers, res(c)) // a native sidecar runs alongside the app
			continue
		}
		r.InitContainers = append(r.InitContainers, res(c))
	}
	return r
}

func playgroundReap(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("playground reap", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	maxAge := fs.String("max-age", "", "destroy playgrounds older than this (default: the base stack's playground.maxAge)")
	remote := fs.String("branches-from", "origin", "git remote whose branches exist (git ls-remote --heads)")
	branchList := fs.String("branches", "", "comma-separated existing branches, instead of asking the remote")
	dryRun := fs.Bool("dry-run", false, "only print what would be removed")
	_ = fs.String("kubeconfig", defaultKubeconfig(), "unused by the command: destroy uses the kubeconfig path each playground recorded at up, which must exist")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := common.baseConfig()
	if err != nil {
		return err
	}
	age := base.Playground.MaxAgeDuration()
	if *maxAge != "" {
		if age, err = stacks.ParseAge(*maxAge); err != nil {
			return fmt.Errorf("--max-age %q: write whole days (\"7d\"), a duration (\"36h\") or \"0\" for no limit", *maxAge)
		}
	}
	branches := map[string]bool{}
	if *branchList != "" {
		for _, b := range strings.Split(*branchList, ",") {
			branches[strings.TrimSpace(b)] = true
		}
	} else {
		out, err := gitOutput(common.project, "ls-remote", "--heads", *remote)
		if err != nil {
			return fmt.Errorf("listing the branches of %s: %w (pass --branches to give them)", *remote, err)
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				branches[strings.TrimPrefix(f[1], "refs/heads/")] = true
			}
		}
		if len(branches) == 0 {
			return fmt.Errorf("%s lists no branches: refusing to treat every playground's branch as gone", *remote)
		}
	}
	m, err := common.manager()
	if err != nil {
		return err
	}
	removed, kept, err := m.Reap(ctx, branches, age, time.Now(), *dryRun)
	verb := "removed"
	if *dryRun {
		verb = "would remove"
	}
	for _, r := range removed {
		fmt.Printf("%s %s: %s\n", verb, r.Stack, r.Reason)
	}
	for _, k := range kept {
		fmt.Printf("kept %s: %s\n", k.Stack, k.Reason)
	}
	if len(removed) == 0 {
		fmt.Println("no playground to remove")
	}
	return err
}
