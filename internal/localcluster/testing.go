package localcluster

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// E2EEnv enables end-to-end tests (set by `make test` and CI).
const E2EEnv = "SHOESTRING_E2E"

// ReuseEnv names a kubeconfig of an already running cluster (e.g. .state/cluster/kubeconfig
// after `make cluster-up`) that ForTest hands out instead of starting a new one: quicker when
// iterating on one test. The cluster is not stopped afterwards and RestartAPIServer is refused.
const ReuseEnv = "SHOESTRING_TEST_KUBECONFIG"

// SkipUnlessE2E skips t unless end-to-end tests are enabled.
func SkipUnlessE2E(t testing.TB) {
	t.Helper()
	if os.Getenv(E2EEnv) == "" {
		t.Skipf("end-to-end test: needs the local control plane; run `make test` (or set %s=1 after `make tools`)", E2EEnv)
	}
}

// ForTest starts a cluster for t and stops it when t ends. It skips t without SHOESTRING_E2E=1;
// with it, a missing binary or a failed start fails t.
func ForTest(t testing.TB, opts Options) *Cluster {
	t.Helper()
	SkipUnlessE2E(t)
	if path := os.Getenv(ReuseEnv); path != "" {
		c, err := reuse(path)
		if err != nil {
			t.Fatalf("localcluster: %s=%s: %v", ReuseEnv, path, err)
		}
		return c
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("localcluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("localcluster: stop: %v", err)
		}
	})
	return c
}

// reuse wraps an existing cluster's kubeconfig; Stop and RestartAPIServer do nothing to it.
func reuse(path string) (*Cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	c := &Cluster{reused: cfg, reusedPath: path, stopped: true}
	return c, nil
}
