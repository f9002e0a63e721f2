package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/localimages"
)

// defaultClusterDir is where `cluster up` keeps the local control plane; Pulumi.dev.yaml's
// shoestring:cluster.existing.kubeconfig points at its kubeconfig.
const defaultClusterDir = ".state/cluster"

func init() {
	register("cluster", command{
		summary: "local cluster: cluster up|down|status [--dir .state/cluster] [--nodes 3] [--real-nodes 1]",
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
	realNodes := fs.Int("real-nodes", 1, "nodes that run containers (up; 0 = simulated nodes only: nothing runs for real)")
	edgePort := fs.Int("edge-port", 0, "127.0.0.1 port forwarded to the edge (agent)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return clusterUp(*dir, *nodes, *port, *realNodes)
	case "agent":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return localcluster.RunAgent(ctx, localcluster.AgentOptions{Dir: *dir, EdgePort: *edgePort, Log: os.Stderr})
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
	return fmt.Errorf("unknown subcommand %q: want up, down, status or agent", args[0])
}

func clusterUp(dir string, nodes, port, realNodes int) error {
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
	opts := localcluster.Options{
		Dir: dir, Kwok: true, KwokNodes: nodes, APIServerPort: port, Detached: true, Progress: os.Stderr,
		RealNodes: realNodes,
	}
	if realNodes == 0 {
		fmt.Fprintln(os.Stderr, "cluster: warning: no real node (--real-nodes 0): pods are only simulated, no container runs and no URL answers")
	} else {
		if err := localcluster.CheckRealNodeHost(); err != nil {
			return err
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		opts.AgentCommand = []string{self, "cluster", "agent"}
		root, err := repoRoot()
		if err != nil {
			return err
		}
		built, err := buildLocalImages(ctx, root, os.Stderr)
		if err != nil {
			return fmt.Errorf("%w\n(the real node runs only images built here; `make up REAL_NODES=0` starts a simulated-only cluster)", err)
		}
		opts.Images = localimages.Archives(built)
	}
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cluster: up at %s with %d simulated and %d real nodes; logs in %s/logs\n", c.State().APIServerURL, nodes, realNodes, dir)
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
