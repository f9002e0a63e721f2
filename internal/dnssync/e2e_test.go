package dnssync

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// TestScenariosRealAPIServer runs the acceptance scenarios against a real kube-apiserver (the local
// control plane, apiserver only: bare Nodes whose status the test writes like a kubelet), then
// restarts the apiserver under a running controller. Needs SHOESTRING_E2E=1 (`make test`).
func TestScenariosRealAPIServer(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{})
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	// The controller reads Nodes through its own client, as in production.
	src, err := NewKubeClient(cluster.KubeconfigPath())
	require.NoError(t, err)
	clean := func(t *testing.T) (kubernetes.Interface, NodeSource) {
		// Nodes are cluster-wide: each scenario starts without any.
		require.NoError(t, kube.CoreV1().Nodes().DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{}))
		require.Eventually(t, func() bool {
			l, err := kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
			return err == nil && len(l.Items) == 0
		}, 10*time.Second, 50*time.Millisecond)
		return kube, src
	}
	runScenarios(t, clean)

	t.Run("the apiserver restarted mid-run", func(t *testing.T) {
		kube, src := clean(t)
		h := newHarness(t, kube, src, nil)
		h.createNode("n0", true, "192.0.2.1")
		h.createNode("n1", true, "192.0.2.2")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, cluster.RestartAPIServer(ctx))
		// The records survive the outage, and the controller's watch resumes: a change made after
		// the restart converges without restarting the controller.
		require.Equal(t, []string{a("192.0.2.1"), a("192.0.2.2")}, h.addrs(true))
		h.setStatus("n1", true, "192.0.2.22")
		h.waitRecords(60*time.Second, a("192.0.2.1"), a("192.0.2.22"))
		h.deleteNode("n0")
		h.waitRecords(60*time.Second, a("192.0.2.22"))
	})
}
