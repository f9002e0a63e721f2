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
// It reads an nfqueue and accepts or drops each packet it is handed by the policies it watches.
//
// Upstream hands it packets with an nftables table whose rules end in the `queue` expression;
// kernels built without CONFIG_NFT_QUEUE (this machine's) refuse that table, so the controller's
// own table never appears (its log says "syncing nftables rules" with "no such file or
// directory"). The node's namespace therefore gets the same diversion from iptables' NFQUEUE
// target, which those kernels have: the first packet of every new connection from or to the
// node's pods, except those of uid-0 sockets on the node (the kubelet's probes, as upstream
// exempts them), goes to the queue, in mangle POSTROUTING, after kube-proxy's DNAT (so the
// destination is the pod) and before its masquerade (so the source is who really connected).
// Where the kernel does have nft_queue, the controller's table also queues the packets of the
// pods its policies select: a second look, with the same verdict. Everything lives in the node's
// namespace and goes with it; the host's netfilter is not touched.

const (
	// NetworkPolicyBinary is the data plane's binary in the tools' bin folder.
	NetworkPolicyBinary = "kube-network-policies"
	// networkPolicyQueue is the nfqueue the data plane reads (one per node namespace).
	networkPolicyQueue = 100
	// networkPolicyChain is the mangle chain that sends new connections to the queue.
	networkPolicyChain = "SHOESTRING-NETPOL"
	// nfqueueProc lists the bound queues of the reading process's network namespace.
	nfqueueProc = "net/netfilter/nfnetlink_queue"
)

// divertToQueue makes node i's mangle chain that queues the first packet of every new connection
// from or to its pods (again from scratch when a start is retried on the same namespace).
// Without --queue-bypass: while nothing reads the queue, such packets are dropped, closed as a
// NetworkPolicy means.
func (n nodeNet) divertToQueue(ctx context.Context, i int) error {
	ipt := func(args ...string) error {
		return n.inNetns(ctx, i, "iptables", append([]string{"-w", "-t", "mangle"}, args...)...)
	}
	if ipt("-C", "POSTROUTING", "-j", networkPolicyChain) == nil {
		if err := ipt("-D", "POSTROUTING", "-j", networkPolicyChain); err != nil {
			return err
		}
	}
	_ = ipt("-F", networkPolicyChain)
	_ = ipt("-X", networkPolicyChain)
	queue := []string{"-j", "NFQUEUE", "--queue-num", strconv.Itoa(networkPolicyQueue)}
	for _, rule := range [][]string{
		{"-N", networkPolicyChain},
		{"-A", networkPolicyChain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"},
		{"-A", networkPolicyChain, "-m", "owner", "--uid-owner", "0", "-j", "RETURN"},
		append([]string{"-A", networkPolicyChain, "-s", n.PodSubnet(i)}, queue...),
		append([]string{"-A", networkPolicyChain, "-d", n.PodSubnet(i)}, queue...),
		{"-A", "POSTROUTING", "-j", networkPolicyChain},
	} {
		if err := ipt(rule...); err != nil {
			return fmt.Errorf("sending %s's new pod connections to the NetworkPolicy data plane: %w; the kernel needs the iptables NFQUEUE target and the conntrack and owner matches (CONFIG_NETFILTER_XT_TARGET_NFQUEUE, ..._MATCH_CONNTRACK, ..._MATCH_OWNER), or start the cluster without enforcement (localcluster.Options.NoNetworkPolicies)", RealNodeName(i), err)
		}
	}
	return nil
}

// startNetworkPolicies runs the data plane on node i and waits until it reads its queue: it
// binds the queue only after its informers have synced, so from then on every new connection of
// the node's pods gets a verdict by the policies.
func (c *Cluster) startNetworkPolicies(ctx context.Context, i int) error {
	if err := c.state.Net.divertToQueue(ctx, i); err != nil {
		return err
	}
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
