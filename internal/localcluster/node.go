package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Real nodes: containerd, the kubelet, kube-proxy and the NetworkPolicy data plane
// (netpolicy.go) in a network namespace each, registered beside the kwok nodes, so what a stack
// deploys runs as real processes. CoreDNS serves the cluster's names from node 0.

// cgroupHierarchies are the cgroup v1 controllers the kubelet and runc use on this machine.
var cgroupHierarchies = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd"}

const cgroupMount = "/sys/fs/cgroup"

// checkRealNodeHost says, before anything is changed, why real nodes cannot run here: not root,
// no cgroup v1 hierarchies, a missing command.
// CheckRealNodeHost is checkRealNodeHost with the pinned binaries.
func CheckRealNodeHost() error {
	bins := map[string]string{}
	for _, b := range []string{"containerd", "kubelet", "kube-proxy", "coredns"} {
		p, err := findBinary(DefaultBinDir(), b)
		if err != nil {
			return fmt.Errorf("%w; %s", err, simulatedOnly)
		}
		bins[b] = p
	}
	return checkRealNodeHost(bins)
}

// simulatedOnly is the way out every refusal of real nodes names.
const simulatedOnly = "or start a simulated-only cluster, where nothing runs for real: `make up REAL_NODES=0` (`shoestring cluster up --real-nodes 0`)"

func checkRealNodeHost(bins map[string]string) error {
	if os.Geteuid() != 0 {
		return errors.New("real nodes need root (network namespaces, cgroups, mounts): run as root, " + simulatedOnly)
	}
	for _, h := range []string{"memory", "cpuset", "pids"} {
		if _, err := os.Stat(filepath.Join(cgroupMount, h, "cgroup.procs")); err != nil {
			return fmt.Errorf("real nodes need the cgroup v1 hierarchy %s at %s/%s (this machine's kubelet runs on cgroup v1): not found; %s", h, cgroupMount, h, simulatedOnly)
		}
	}
	for _, cmd := range []string{"ip", "nsenter", "iptables", "sysctl", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("real nodes need %s on PATH: install the set-up packages (`scripts/test-setup.sh`, or apt-get install containerd runc containernetworking-plugins iproute2 iptables util-linux), %s", cmd, simulatedOnly)
		}
	}
	for _, p := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/portmap"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("real nodes need the CNI plugin %s: apt-get install containernetworking-plugins, %s", p, simulatedOnly)
		}
	}
	for _, b := range []string{"containerd", "kubelet", "kube-proxy", "coredns"} {
		if bins[b] == "" {
			return fmt.Errorf("real nodes need %s", b)
		}
	}
	return nil
}

// makeCgroup creates the node's cgroup in every hierarchy, with cpuset's cpus and mems copied
// from the root (a v1 cpuset child starts empty, and the kubelet refuses one).
func makeCgroup(root string) error {
	for _, h := range cgroupHierarchies {
		base := filepath.Join(cgroupMount, h)
		if _, err := os.Stat(base); err != nil {
			continue
		}
		for _, d := range []string{root, filepath.Join(root, "system")} {
			p := filepath.Join(base, d)
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("creating cgroup %s: %w", p, err)
			}
			if h == "cpuset" {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					v, err := os.ReadFile(filepath.Join(base, f))
					if err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(p, f), v, 0o644); err != nil {
						return fmt.Errorf("writing %s/%s: %w", p, f, err)
					}
				}
			}
		}
	}
	return nil
}

// joinCgroup moves pid into the node's system cgroup; what it starts later (containerd's shims,
// and so the containers' runc) starts there too, so stopping the node finds every process.
func joinCgroup(root string, pid int) error {
	for _, h := range cgroupHierarchies {
		p := filepath.Join(cgroupMount, h, root, "system", "cgroup.procs")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("moving pid %d into %s: %w", pid, p, err)
		}
	}
	return nil
}

// launchInNode starts a node process inside node i's network namespace and cgroup.
func (c *Cluster) launchInNode(i int, name, binary string, args []string) (*proc, error) {
	logName := fmt.Sprintf("%s-n%d", name, i)
	p := &proc{
		name: logName, binary: binary, args: args, logPath: c.logPath(logName),
		wrapper: []string{"nsenter", "--net=" + c.state.Net.NetnsPath(i), "--"},
	}
	if err := p.start(c.opts.Detached); err != nil {
		return nil, fmt.Errorf("starting %s on %s: %w", name, RealNodeName(i), err)
	}
	if err := joinCgroup(c.cgroupRoot(i), p.pid()); err != nil {
		p.stop(5 * time.Second)
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, c.saveState()
}

// startRealNodes brings every real node up: namespace, containerd with the images imported,
// kubelet until its Node is Ready, kube-proxy, the NetworkPolicy data plane; then CoreDNS on
// node 0.
func (c *Cluster) startRealNodes(ctx context.Context) error {
	n := *c.state.Net
	for i := 0; i < c.opts.RealNodes; i++ {
		start := time.Now()
		p := c.nodePaths(i)
		for _, d := range []string{p.dir, p.run, p.cniConfDir(), p.kubeletDir()} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		nodeKubeconfig := Kubeconfig(c.nodeAPIServerURL(), c.pki.caPEM, c.pki.adminToken)
		files := map[string]string{
			p.containerdConfig(): containerdConfig(p),
			filepath.Join(p.cniConfDir(), "10-shoestring.conflist"): cniConfig(n, i, p),
			p.kubeletConfig():   kubeletConfig(n, i, p, c.cgroupRoot(i)),
			p.kubeProxyConfig(): kubeProxyConfig(n, i, p),
			p.kubeconfig():      nodeKubeconfig,
			p.resolvConf():      resolvConf(),
		}
		for path, data := range files {
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				return err
			}
		}
		if err := makeCgroup(c.cgroupRoot(i)); err != nil {
			return err
		}

		ctrd, err := c.launchInNode(i, "containerd", c.bins["containerd"], []string{"--config", p.containerdConfig()})
		if err != nil {
			return err
		}
		if err := c.waitFor(ctx, ctrd, "containerd on "+RealNodeName(i)+" to serve", 30*time.Second, func() bool {
			return exec.CommandContext(ctx, "ctr", "--address", p.containerdSocket(), "version").Run() == nil
		}); err != nil {
			return err
		}
		if err := c.importImages(ctx, p); err != nil {
			return err
		}

		if err := c.startKubelet(ctx, i); err != nil {
			return err
		}
		proxy, err := c.launchInNode(i, "kube-proxy", c.bins["kube-proxy"], []string{"--config", p.kubeProxyConfig(), "--v", "1"})
		if err != nil {
			return err
		}
		hc := proxyHealthClient(n, i)
		if err := c.waitFor(ctx, proxy, "kube-proxy on "+RealNodeName(i)+" to sync", 60*time.Second, func() bool {
			return hc() == nil
		}); err != nil {
			return err
		}
		if !c.opts.NoNetworkPolicies {
			if err := c.startNetworkPolicies(ctx, i); err != nil {
				return err
			}
		}
		c.progress("%s Ready at %s, pods in %s (%.1fs)", RealNodeName(i), n.NodeIP(i), n.PodSubnet(i), time.Since(start).Seconds())
	}
	return c.startCoreDNS(ctx)
}

// startKubelet starts node i's kubelet and waits until its Node is Ready.
func (c *Cluster) startKubelet(ctx context.Context, i int) error {
	n, p := *c.state.Net, c.nodePaths(i)
	kubelet, err := c.launchInNode(i, "kubelet", c.bins["kubelet"], []string{
		"--config", p.kubeletConfig(),
		"--kubeconfig", p.kubeconfig(),
		"--root-dir", p.kubeletDir(),
		"--cert-dir", filepath.Join(p.kubeletDir(), "pki"),
		"--hostname-override", RealNodeName(i),
		"--node-ip", n.NodeIP(i),
		"--node-labels", RealNodeLabel + "=true",
		"--v", "1",
	})
	if err != nil {
		return err
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	return c.waitFor(ctx, kubelet, RealNodeName(i)+" to be Ready", 90*time.Second, func() bool {
		node, err := cs.CoreV1().Nodes().Get(ctx, RealNodeName(i), getOpts)
		return err == nil && nodeReady(node)
	})
}

// proxyHealthClient checks kube-proxy's healthz on the node's address.
func proxyHealthClient(n nodeNet, i int) func() error {
	hc := &http.Client{Timeout: time.Second}
	return func() error {
		resp, err := hc.Get(fmt.Sprintf("http://%s:10256/healthz", n.NodeIP(i)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("kube-proxy healthz: %s", resp.Status)
		}
		return nil
	}
}

// nodeAPIServerURL is how nodes and pods reach the apiserver: the bridge address.
func (c *Cluster) nodeAPIServerURL() string {
	return fmt.Sprintf("https://%s:%d", c.state.Net.HostIP(), c.state.APIPort)
}

// importImages imports every image tar the options name into the node's containerd.
func (c *Cluster) importImages(ctx context.Context, p nodePaths) error {
	for _, tar := range c.opts.Images {
		out, err := exec.CommandContext(ctx, "ctr", "--address", p.containerdSocket(), "-n", "k8s.io",
			"images", "import", "--no-unpack", tar).CombinedOutput()
		if err != nil {
			return fmt.Errorf("importing image %s: %v: %s", tar, err, strings.TrimSpace(string(out)))
		}
	}
	if len(c.opts.Images) > 0 {
		c.progress("imported %d images", len(c.opts.Images))
	}
	return nil
}

// startCoreDNS runs CoreDNS on node 0's address and points the kube-dns Service (the kubelet's
// clusterDNS) at it.
func (c *Cluster) startCoreDNS(ctx context.Context) error {
	n := *c.state.Net
	p := c.nodePaths(0)
	corePath := filepath.Join(p.dir, "Corefile")
	if err := os.WriteFile(corePath, []byte(corefile(n, p.kubeconfig())), 0o600); err != nil {
		return err
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: clusterDNSIP,
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
			},
		},
	}
	if _, err := cs.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the kube-dns Service: %w", err)
	}
	slice := fmt.Sprintf(`{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"kube-dns-coredns","namespace":"kube-system","labels":{"kubernetes.io/service-name":"kube-dns","endpointslice.kubernetes.io/managed-by":"localcluster.shoestring.dev"}},"addressType":"IPv4","endpoints":[{"addresses":[%q],"conditions":{"ready":true},"nodeName":%q}],"ports":[{"name":"dns","port":53,"protocol":"UDP"},{"name":"dns-tcp","port":53,"protocol":"TCP"}]}`, n.NodeIP(0), RealNodeName(0))
	if _, err := cs.DiscoveryV1().EndpointSlices("kube-system").Patch(ctx, "kube-dns-coredns", types.ApplyPatchType, []byte(slice), metav1.PatchOptions{FieldManager: "shoestring-localcluster", Force: ptr(true)}); err != nil {
		return fmt.Errorf("pointing kube-dns at CoreDNS: %w", err)
	}
	dns, err := c.launchInNode(0, "coredns", c.bins["coredns"], []string{"-conf", corePath})
	if err != nil {
		return err
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(n.NodeIP(0), "53"))
	}}
	return c.waitFor(ctx, dns, "CoreDNS to answer kubernetes.default.svc.cluster.local", 30*time.Second, func() bool {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		addrs, err := r.LookupHost(qctx, "kubernetes.default.svc.cluster.local.")
		return err == nil && len(addrs) == 1 && addrs[0] == kubernetesSvcIP
	})
}

// ClusterDNS is the address where CoreDNS answers (node 0's), reachable from the host; "" when
// the cluster has no real node.
func (c *Cluster) ClusterDNS() string {
	if c.state.Net == nil {
		return ""
	}
	return net.JoinHostPort(c.state.Net.NodeIP(0), "53")
}

// taintSimulatedNodes keeps pods off kwok nodes when real nodes exist (a pod there would look
// Running without a process) and labels them for what does want them.
func (c *Cluster) taintSimulatedNodes(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	for i := 0; i < c.opts.KwokNodes; i++ {
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"false"}},"spec":{"taints":[{"key":%q,"value":"true","effect":"NoSchedule"}]}}`, RealNodeLabel, SimulatedTaint)
		if _, err := cs.CoreV1().Nodes().Patch(ctx, KwokNodeName(i), types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("tainting simulated node %s: %w", KwokNodeName(i), err)
		}
	}
	return nil
}
