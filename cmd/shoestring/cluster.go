package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// defaultClusterDir is where `cluster up` keeps the local control plane; Pulumi.dev.yaml's
// shoestring:cluster.existing.kubeconfig points at its kubeconfig.
const defaultClusterDir = ".state/cluster"

func init() {
	register("cluster", command{
		summary: "local control plane: cluster up|down|status [--dir .state/cluster] [--nodes 3]",
		run:     runCluster,
	})
}

func runCluster(args []string) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: up, down or status")
	}
	fs := flag.NewFlagSet("cluster "+args[0], flag.ContinueOnError)
	dir := fs.String("dir", defaultClusterDir, "state folder (certs, etcd data, logs, kubeconfig, pids)")
	nodes := fs.Int("nodes", 3, "simulated kwok nodes (up)")
	port := fs.Int("port", 0, "kube-apiserver port on 127.0.0.1 (up; 0 = a free one)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return clusterUp(*dir, *nodes, *port)
	case "down":
		if err := localcluster.StopDir(*dir); err != nil {
			return err
		}
		if err := os.RemoveAll(*dir); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cluster: stopped and removed %s\n", *dir)
		return nil
	case "status":
		return clusterStatus(*dir)
	}
	return fmt.Errorf("unknown subcommand %q: want up, down or status", args[0])
}

func clusterUp(dir string, nodes, port int) error {
	if st, err := localcluster.ReadState(dir); err == nil {
		alive := st.Alive(dir)
		all := len(alive) > 0
		for _, ok := range alive {
			all = all && ok
		}
		if all && apiserverReady(dir) == nil {
			fmt.Fprintf(os.Stderr, "cluster: already running at %s (kubeconfig %s/kubeconfig)\n", st.APIServerURL, dir)
			return nil
		}
		// Half a cluster (a crash, a reboot): stop what is left and start again on the same data.
		fmt.Fprintf(os.Stderr, "cluster: %s holds a stopped or partial cluster; restarting it\n", dir)
		if err := localcluster.StopDir(dir); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{
		Dir: dir, Kwok: true, KwokNodes: nodes, APIServerPort: port, Detached: true, Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cluster: up at %s with %d simulated nodes; logs in %s/logs\n", c.State().APIServerURL, nodes, dir)
	fmt.Fprintf(os.Stderr, "cluster: export KUBECONFIG=%s\n", c.KubeconfigPath())
	return nil
}

func apiserverReady(dir string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", dir+"/kubeconfig")
	if err != nil {
		return err
	}
	cfg.Timeout = 3 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
	if err != nil {
		return fmt.Errorf("%w %s", err, body)
	}
	return nil
}

func clusterStatus(dir string) error {
	st, err := localcluster.ReadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no local cluster in %s: start one with `make cluster-up`", dir)
	}
	if err != nil {
		return err
	}
	alive := st.Alive(dir)
	names := make([]string, 0, len(alive))
	for _, p := range st.Processes {
		names = append(names, p.Name)
	}
	down := 0
	for _, p := range st.Processes {
		state := "running"
		if !alive[p.Name] {
			state = "NOT RUNNING"
			down++
		}
		fmt.Printf("%-24s pid %-7d %s (log %s)\n", p.Name, p.PID, state, p.Log)
	}
	if err := apiserverReady(dir); err != nil {
		return fmt.Errorf("apiserver %s is not ready: %v", st.APIServerURL, err)
	}
	fmt.Printf("apiserver %s ready; kubeconfig %s/kubeconfig\n", st.APIServerURL, dir)
	cfg, err := clientcmd.BuildConfigFromFlags("", dir+"/kubeconfig")
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	nl, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err
	}
	var ready []string
	for _, n := range nl.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				ready = append(ready, n.Name)
			}
		}
	}
	sort.Strings(ready)
	fmt.Printf("nodes: %d, Ready: %v\n", len(nl.Items), ready)
	if down > 0 {
		return fmt.Errorf("%d of %d processes are not running: `make cluster-down cluster-up` restarts it", down, len(names))
	}
	return nil
}
