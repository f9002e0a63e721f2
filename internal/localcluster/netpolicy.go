package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The NetworkPolicy data plane of a real node: kube-network-policies (scripts/tools.sh builds it
// from tools/kube-network-policies) as a process in the node's network namespace, like CoreDNS.
// It installs one nftables table, `inet kube-network-policies`, whose postrouting chain sends the
// first packet of every connection to or from a local pod that a policy selects to an nfqueue;
// the process reads the queue and accepts or drops the packet by the policies it watches. The
// table lives in the node's namespace and goes with it; the host's netfilter is not touched.

const (
	// NetworkPolicyBinary is the data plane's binary in the tools' bin folder.
	NetworkPolicyBinary = "kube-network-policies"
	// networkPolicyQueue is the nfqueue the data plane reads (one per node namespace).
	networkPolicyQueue = 100
	// nfqueueProc lists the bound queues of the reading process's network namespace.
	nfqueueProc = "net/netfilter/nfnetlink_queue"
)

// checkNetworkPolicyHost says why the data plane cannot run here: the kernel's nfqueue.
func checkNetworkPolicyHost() error {
	if _, err := os.Stat(filepath.Join("/proc", nfqueueProc)); err != nil {
		return fmt.Errorf("the real nodes' NetworkPolicy data plane needs the kernel's nfnetlink_queue (/proc/%s: %v): load it with `modprobe nfnetlink_queue`, or start the cluster without enforcement (localcluster.Options.NoNetworkPolicies)", nfqueueProc, err)
	}
	return nil
}

// startNetworkPolicies runs the data plane on node i and waits until it reads its queue: it
// binds the queue only after its informers have synced and its nftables table is in place, so
// from then on every new connection of a pod a policy selects gets a verdict.
func (c *Cluster) startNetworkPolicies(ctx context.Context, i int) error {
	p := c.nodePaths(i)
	args := []string{
		"--kubeconfig", p.kubeconfig(),
		"--hostname-override", RealNodeName(i),
		"--nfqueue-id", strconv.Itoa(networkPolicyQueue),
		// Closed, as a NetworkPolicy means: while the process is not reading, selected pods'
		// new connections wait in the queue and are dropped.
		"--fail-open=false",
		"--v", strconv.Itoa(c.opts.NetworkPolicyVerbosity),
	}
	np, err := c.launchInNode(i, "kube-network-policies", c.bins[NetworkPolicyBinary], args)
	if err != nil {
		return err
	}
	return c.waitFor(ctx, np, "kube-network-policies on "+RealNodeName(i)+" to read nfqueue "+strconv.Itoa(networkPolicyQueue), 60*time.Second, func() bool {
		return queueBound(filepath.Join("/proc", strconv.Itoa(np.pid()), nfqueueProc), networkPolicyQueue)
	})
}

// queueBound reports whether a process reads queue in the network namespace whose
// nfnetlink_queue listing is at path (one line per bound queue, its number first).
func queueBound(path string, queue int) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 1 && fields[0] == strconv.Itoa(queue) {
			return true
		}
	}
	return false
}
