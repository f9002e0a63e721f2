package dnssync

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// edgeDaemonSet is the edge as the program deploys it (components/edge), reduced to what the
// drill checks: a DaemonSet on the host network with host port 80, tolerating every NoSchedule
// taint, in its own privileged namespace. kwok runs no containers; it marks the pods Ready.
func edgeDaemonSet() (*corev1.Namespace, *appsv1.DaemonSet) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "edge", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "privileged"}}}
	labels := map[string]string{"app.kubernetes.io/name": "edge-nginx", "app.kubernetes.io/part-of": "shoestring"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-nginx", Namespace: "edge", Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostNetwork: true,
					DNSPolicy:   corev1.DNSClusterFirstWithHostNet,
					Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27-alpine",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, HostPort: 80, Protocol: corev1.ProtocolTCP}}}},
				},
			},
		},
	}
	return ns, ds
}

// TestPreemptionDrill is the loop the setup relies on (preemptible nodes come back with
// new IPs and DNS follows them), on the local control plane: kwok's three
// simulated nodes, the edge DaemonSet on them, and the DNS controller as a process against the
// Cloudflare double. Each node is replaced in turn by a node with a new external IP (as a
// preempted Spot VM comes back): the new node joins, then the old one is deleted. Throughout, the
// name never serves zero addresses and serves a removed node's IP at most --delete-delay + 1 s;
// the edge has a Ready pod on each new node; at the end the records are exactly the new IPs.
// Needs SHOESTRING_E2E=1.
func TestPreemptionDrill(t *testing.T) {
	const deleteDelay = time.Second
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true, KwokNodes: 3})
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	ns, ds := edgeDaemonSet()
	_, err = kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.AppsV1().DaemonSets("edge").Create(ctx, ds, metav1.CreateOptions{})
	require.NoError(t, err)
	old := make([]string, 3)
	oldIPs := map[string]string{}
	for i := range old {
		old[i] = localcluster.KwokNodeName(i)
		n, err := kube.CoreV1().Nodes().Get(ctx, old[i], metav1.GetOptions{})
		require.NoError(t, err)
		oldIPs[old[i]] = externalIP(n)
		require.NotEmpty(t, oldIPs[old[i]], "simulated node %s has no ExternalIP", old[i])
	}
	for _, n := range old {
		waitEdgePod(t, ctx, kube, n)
	}

	h := newHarness(t, kube, nil, nil)
	bin := buildBinary(t)
	startProcess(t, bin, "dnssync", cluster.KubeconfigPath(), h.cf.URL(), "--delete-delay", deleteDelay.String())
	var want []string
	for _, n := range old {
		want = append(want, a(oldIPs[n]))
	}
	start := time.Now()
	h.waitRecords(60*time.Second, want...)
	t.Logf("controller start to the 3 records: %s", time.Since(start).Round(time.Millisecond))

	// Check the records at every change: the name never serves none.
	mon := &recordMonitor{}
	monCtx, stopMon := context.WithCancel(ctx)
	monDone := make(chan struct{})
	go func() { defer close(monDone); mon.run(monCtx, h) }()

	newIPs := map[string]string{}
	for i, oldName := range old {
		name := fmt.Sprintf("kwok-node-new-%d", i)
		ip := fmt.Sprintf("203.0.113.%d", 10+i)
		newIPs[name] = ip
		t0 := time.Now()
		createSimulatedNode(t, ctx, kube, name, ip, fmt.Sprintf("10.255.1.%d", i+1))
		h.waitRecords(60*time.Second, append(slices.Clone(want), a(ip))...)
		inDNS := time.Since(t0)
		waitEdgePod(t, ctx, kube, name)
		edgeReady := time.Since(t0)

		require.NoError(t, kube.CoreV1().Nodes().Delete(ctx, oldName, metav1.DeleteOptions{}))
		removed := time.Now()
		want = slices.DeleteFunc(append(want, a(ip)), func(s string) bool { return s == a(oldIPs[oldName]) })
		h.waitRecords(30*time.Second, want...)
		gone := time.Since(removed)
		t.Logf("node %d: new node's IP in DNS %s after it was created, its edge pod Ready after %s; old IP out of DNS %s after the node was deleted",
			i, inDNS.Round(time.Millisecond), edgeReady.Round(time.Millisecond), gone.Round(time.Millisecond))
		assert.LessOrEqual(t, gone, deleteDelay+time.Second, "removed node %s's IP served %s after its deletion", oldName, gone)
	}
	stopMon()
	<-monDone
	assert.False(t, mon.emptySeen(), "the name served zero addresses at some point")

	var final []string
	for _, ip := range newIPs {
		final = append(final, a(ip))
	}
	slices.Sort(final)
	h.quiet(2 * deleteDelay)
	assert.Equal(t, final, h.addrs(false), "at the end the records are exactly the new nodes' IPs")
}

func externalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeExternalIP {
			return a.Address
		}
	}
	return ""
}

// createSimulatedNode registers a node kwok manages (like localcluster's own), with the given
// external and internal IPs, and waits until kwok reports it Ready.
func createSimulatedNode(t *testing.T, ctx context.Context, kube kubernetes.Interface, name, externalIP, internalIP string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
		Annotations: map[string]string{localcluster.KwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
	}}
	_, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	require.NoError(t, err)
	patch := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":%q},{"type":"ExternalIP","address":%q},{"type":"Hostname","address":%q}]}}`,
		internalIP, externalIP, name)
	_, err = kube.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		n, err := kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return externalIP == ipOf(n)
			}
		}
		return false
	}, 60*time.Second, 100*time.Millisecond, "kwok did not make %s Ready with ExternalIP %s", name, externalIP)
}

func ipOf(n *corev1.Node) string { return externalIP(n) }

// waitEdgePod waits for a Ready edge pod on node.
func waitEdgePod(t *testing.T, ctx context.Context, kube kubernetes.Interface, node string) {
	t.Helper()
	require.Eventually(t, func() bool {
		pods, err := kube.CoreV1().Pods("edge").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					return true
				}
			}
		}
		return false
	}, 90*time.Second, 200*time.Millisecond, "no Ready edge pod on %s", node)
}

// recordMonitor follows the double's records at the test name on every change.
type recordMonitor struct {
	mu    sync.Mutex
	empty bool
}

func (m *recordMonitor) run(ctx context.Context, h *harness) {
	for {
		changed := h.cf.Changed()
		addrs := h.addrs(false)
		m.mu.Lock()
		if len(addrs) == 0 {
			m.empty = true
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func (m *recordMonitor) emptySeen() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.empty
}
