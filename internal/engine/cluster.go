package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shoestring-dev/shoestring/stacks"
)

// ErrClusterDown is returned by Open when a stack's existing cluster does not answer.
var ErrClusterDown = errors.New("the cluster does not answer")

// clusterReachable checks, for a stack on an existing cluster, that its apiserver answers, so a
// stopped local control plane is one line instead of the provider's failure on every object.
func clusterReachable(cfg *stacks.Config) error {
	if cfg.Cluster.Mode != stacks.ClusterModeExisting || cfg.Cluster.Existing.RenderTo != "" {
		return nil // no cluster to ask: GKE is made by the run, a render contacts none
	}
	path := cfg.Cluster.Existing.Kubeconfig
	if err := ping(path, cfg.Cluster.Existing.Context); err != nil {
		hint := "start it, or point shoestring:cluster.existing.kubeconfig at a running cluster"
		if filepath.Base(filepath.Dir(path)) == "cluster" && strings.Contains(path, ".state") {
			hint = "start the local control plane with `make cluster-up` (or `make up`)"
		}
		return fmt.Errorf("%w: %s (%v): %s", ErrClusterDown, path, firstLine(err), hint)
	}
	return nil
}

// restConfig is a kubeconfig's client configuration (its current context, or kubeContext), with
// a timeout for each request.
func restConfig(kubeconfig, kubeContext string, timeout time.Duration) (*rest.Config, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = timeout
	return cfg, nil
}

// ping asks the apiserver of a kubeconfig for its version, briefly.
func ping(kubeconfig, kubeContext string) error {
	cfg, err := restConfig(kubeconfig, kubeContext, 3*time.Second)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = dc.ServerVersion()
	return err
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
