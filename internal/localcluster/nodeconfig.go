package localcluster

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The real nodes' configuration files: containerd, CNI, kubelet, kube-proxy and CoreDNS.

// SandboxImage is the pod sandbox ("pause") image every real node's containerd runs; it is built
// locally (internal/localimages) like every other image, never pulled.
const SandboxImage = "shoestring.local/pause:3.10"

// RealNodeName is the name of real node i.
func RealNodeName(i int) string { return fmt.Sprintf("real-node-%d", i) }

// RealNodeLabel marks the Nodes that run containers ("true"); simulated ones carry "false".
const RealNodeLabel = "shoestring.dev/real-node"

// SimulatedTaint keeps pods off the kwok nodes when real nodes exist, so what a stack deploys
// runs for real unless a pod tolerates it (tests that need many nodes and no processes).
const SimulatedTaint = "shoestring.dev/simulated"

// nodePaths are one real node's folders and sockets. Sockets live under /run/shoestring: a unix
// socket path is limited to 107 bytes, which a test's temp folder can exceed.
type nodePaths struct {
	dir, run string
}

func (c *Cluster) nodePaths(i int) nodePaths {
	return nodePaths{
		dir: filepath.Join(c.dir, "nodes", fmt.Sprintf("n%d", i)),
		run: filepath.Join(runRoot, fmt.Sprintf("%d", c.state.Net.Slot), fmt.Sprintf("n%d", i)),
	}
}

// runRoot holds the real nodes' sockets and containerd's state (pod network namespaces, task
// bundles), per slot.
const runRoot = "/run/shoestring"

func (p nodePaths) containerdSocket() string { return filepath.Join(p.run, "containerd.sock") }
func (p nodePaths) containerdConfig() string { return filepath.Join(p.dir, "containerd.toml") }
func (p nodePaths) cniConfDir() string       { return filepath.Join(p.dir, "cni") }
func (p nodePaths) kubeletDir() string       { return filepath.Join(p.dir, "kubelet") }
func (p nodePaths) kubeletConfig() string    { return filepath.Join(p.dir, "kubelet.yaml") }
func (p nodePaths) kubeProxyConfig() string  { return filepath.Join(p.dir, "kube-proxy.yaml") }
func (p nodePaths) kubeconfig() string       { return filepath.Join(p.dir, "kubeconfig") }
func (p nodePaths) resolvConf() string       { return filepath.Join(p.dir, "resolv.conf") }

// cgroupRoot is the node's cgroup (in every v1 hierarchy): the kubelet puts its pods below
// kubepods, the node's own processes go to system; stopping the node kills what is in either.
func (c *Cluster) cgroupRoot(i int) string {
	return fmt.Sprintf("shoestring-%d-n%d", c.state.Net.Slot, i)
}

func containerdConfig(p nodePaths) string {
	// restrict_oom_score_adj: the machine's root lacks CAP_SYS_RESOURCE, and without it every
	// sandbox fails ("can't get final child's PID from pipe"). No registry is configured and the
	// node's namespace has no route out, so an image that is not imported fails to start instead
	// of being pulled.
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, filepath.Join(p.dir, "containerd"), filepath.Join(p.run, "state"), p.containerdSocket(),
		p.containerdSocket()+".ttrpc", SandboxImage, p.cniConfDir())
}

func cniConfig(n nodeNet, i int, p nodePaths) string {
	// No ipMasq: pods reach nothing outside the cluster; the one NAT rule for the host subnet
	// is the node namespace's own (nodenet.go).
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "shoestring",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": %q
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, n.PodSubnet(i), filepath.Join(p.dir, "ipam"))
}

func kubeletConfig(n nodeNet, i int, p nodePaths, cgroupRoot string) string {
	// Images are imported, not pulled: image garbage collection must never remove one.
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
cgroupRoot: /%s
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
clusterDNS: [%s]
clusterDomain: cluster.local
resolvConf: %s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%%
  imagefs.available: 2%%
serializeImagePulls: false
registerNode: true
maxPods: 110
podLogsDir: %s
`, n.NodeIP(i), cgroupRoot, p.containerdSocket(), clusterDNSIP, p.resolvConf(), filepath.Join(p.dir, "pod-logs"))
}

func kubeProxyConfig(n nodeNet, i int, p nodePaths) string {
	// conntrack maxPerCore 0: leave the kernel's conntrack table size alone (it is the host's).
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %s
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
healthzBindAddress: %s:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
`, p.kubeconfig(), podCIDR, RealNodeName(i), n.NodeIP(i))
}

// resolvConf is the nodes' resolver (hostNetwork pods with dnsPolicy Default read it): the
// cluster DNS only, which answers cluster names and nothing else.
func resolvConf() string {
	return "nameserver " + clusterDNSIP + "\nsearch cluster.local\noptions ndots:2\n"
}

// corefile serves cluster.local from the API and nothing else: no forward plugin, so a name
// outside the cluster gets REFUSED instead of a query leaving the machine.
func corefile(n nodeNet, kubeconfig string) string {
	return strings.TrimLeft(fmt.Sprintf(`
cluster.local:53 {
    bind %s
    errors
    health 127.0.0.1:8091
    ready 127.0.0.1:8181
    kubernetes cluster.local {
        kubeconfig %s shoestring-local
        pods insecure
    }
    cache 5
}
`, n.NodeIP(0), kubeconfig), "\n")
}
