package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// cluster up starts a detached control plane that outlives the command, a second up reuses it,
// status reports it, down stops every process and removes the folder.
func TestClusterUpStatusDown(t *testing.T) {
	localcluster.SkipUnlessE2E(t)
	dir := filepath.Join(t.TempDir(), "cluster")
	t.Cleanup(func() { _ = localcluster.StopDir(dir) })

	if err := runCluster([]string{"up", "--dir", dir, "--nodes", "1"}); err != nil {
		t.Fatal(err)
	}
	st, err := localcluster.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range st.Processes {
		names = append(names, p.Name)
	}
	if want := "etcd kube-apiserver kube-controller-manager kube-scheduler kwok containerd-n0 kubelet-n0 kube-proxy-n0 kube-network-policies-n0 coredns-n0 agent"; strings.Join(names, " ") != want {
		t.Fatalf("want the processes %s; got %s", want, strings.Join(names, " "))
	}
	// The agent forwards 127.0.0.1 to the real node's port 80 (nothing serves there yet: the
	// connection is accepted and closed).
	if st.EdgePort == 0 {
		t.Fatal("no edge port in the state")
	}
	if err := runCluster([]string{"up", "--dir", dir}); err != nil {
		t.Fatalf("second up: %v", err)
	}
	again, _ := localcluster.ReadState(dir)
	if again.APIServerURL != st.APIServerURL || again.Processes[1].PID != st.Processes[1].PID {
		t.Fatalf("second up restarted the cluster: %+v -> %+v", st, again)
	}
	if err := runCluster([]string{"status", "--dir", dir}); err != nil {
		t.Fatalf("status: %v", err)
	}
	if err := runCluster([]string{"down", "--dir", dir}); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Processes {
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "cmdline")); err == nil && strings.Contains(string(b), dir) {
			t.Errorf("%s (pid %d) still running after down", p.Name, p.PID)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("down left %s behind", dir)
	}
}
