package dnssync

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/localimages"
)

// TestPreemptionDrillOnARealNode preempts a real node: its kubelet and every container on it are
// killed, as when a Spot VM is reclaimed, beside three simulated nodes. The edge is a real nginx
// on the real node (Ready only when it answers on port 80 of the node) and the DNS controller runs
// as a process against the Cloudflare double. The node goes NotReady by the node-lifecycle
// controller's own timing and its address leaves the records; when the kubelet comes back the
// edge's nginx answers again and the address returns. The name never serves zero addresses.
// Needs SHOESTRING_E2E=1 and root.
func TestPreemptionDrillOnARealNode(t *testing.T) {
	localcluster.SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	specs, err := localimages.Named(localimages.Pause, localimages.Nginx)
	require.NoError(t, err)
	built, err := (&localimages.Builder{RepoDir: repo, CacheDir: filepath.Dir(localcluster.DefaultBinDir())}).Build(ctx, specs)
	require.NoError(t, err)
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true, KwokNodes: 3, RealNodes: 1, Images: localimages.Archives(built)})
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)

	ns, ds := edgeDaemonSet()
	edge := &ds.Spec.Template.Spec.Containers[0]
	edge.Image, edge.ImagePullPolicy = localimages.Nginx, corev1.PullNever // Debian's default site on :80
	edge.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}},
		PeriodSeconds: 1,
	}
	_, err = kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.AppsV1().DaemonSets("edge").Create(ctx, ds, metav1.CreateOptions{})
	require.NoError(t, err)

	real := localcluster.RealNodeName(0)
	node, err := kube.CoreV1().Nodes().Get(ctx, real, metav1.GetOptions{})
	require.NoError(t, err)
	var realIP string
	for _, ad := range node.Status.Addresses {
		if ad.Type == corev1.NodeInternalIP {
			realIP = ad.Address
		}
	}
	require.NotEmpty(t, realIP)
	want := []string{a(realIP)} // the real node has no ExternalIP: --internal-ip-fallback
	for i := 0; i < 3; i++ {
		n, err := kube.CoreV1().Nodes().Get(ctx, localcluster.KwokNodeName(i), metav1.GetOptions{})
		require.NoError(t, err)
		want = append(want, a(externalIP(n)))
		waitEdgePod(t, ctx, kube, n.Name)
	}
	waitEdgePod(t, ctx, kube, real)
	answers := func() error {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(fmt.Sprintf("http://%s/", realIP))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	}
	require.NoError(t, answers(), "the edge's nginx answers on the real node")

	h := newHarness(t, kube, nil, nil)
	startProcess(t, buildBinary(t), "dnssync", cluster.KubeconfigPath(), h.cf.URL(),
		"--delete-delay", "1s", "--internal-ip-fallback")
	h.waitRecords(60*time.Second, want...)
	mon := &recordMonitor{}
	monCtx, stopMon := context.WithCancel(ctx)
	monDone := make(chan struct{})
	go func() { defer close(monDone); mon.run(monCtx, h) }()

	preempted := time.Now()
	require.NoError(t, cluster.PreemptRealNode(0))
	assert.Error(t, answers(), "nothing answers on the preempted node")
	without := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == a(realIP) })
	// The node-lifecycle controller's grace period (50 s by default) decides when the node is
	// NotReady; the records follow that.
	h.waitRecords(3*time.Minute, without...)
	t.Logf("preempted node's address out of DNS %s after its kubelet died", time.Since(preempted).Round(time.Second))

	resumed := time.Now()
	require.NoError(t, cluster.ResumeRealNode(ctx, 0))
	waitEdgePod(t, ctx, kube, real)
	require.NoError(t, answers(), "the edge's nginx answers again on the node")
	h.waitRecords(60*time.Second, want...)
	t.Logf("resumed node's edge Ready and address back in DNS %s after its kubelet restarted", time.Since(resumed).Round(time.Second))
	stopMon()
	<-monDone
	assert.False(t, mon.emptySeen(), "the name served zero addresses at some point")
}
