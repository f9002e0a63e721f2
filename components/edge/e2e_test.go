package edge_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/pulumimock"
	"github.com/shoestring-dev/shoestring/internal/render"
	"github.com/shoestring-dev/shoestring/stacks"
)

// The dev stack's edge, rendered and applied to the local control plane with simulated nodes,
// runs one ready nginx pod on every node; a config change replaces every pod.
func TestEdgeRollsOutOnEveryNode(t *testing.T) {
	const nodes = 3
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true, KwokNodes: nodes})
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi.dev.yaml"))
	require.NoError(t, err)
	args := program.EdgeArgs(cfg)
	deployEdge(ctx, t, cluster, args)

	nodeList, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, nodeList.Items, nodes)
	var allNodes []string
	for _, n := range nodeList.Items {
		allNodes = append(allNodes, n.Name)
	}
	sort.Strings(allNodes)

	ns, err := client.CoreV1().Namespaces().Get(ctx, args.Namespace, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "privileged", ns.Labels["pod-security.kubernetes.io/enforce"])

	conf, err := edge.Conf(args)
	require.NoError(t, err)
	assertOnePodPerNode(ctx, t, client, args.Namespace, allNodes, edge.Checksum(conf))

	// A config change (here a timeout) rolls every pod.
	args.Conf.ReadTimeout = "90s"
	changed, err := edge.Conf(args)
	require.NoError(t, err)
	require.NotEqual(t, edge.Checksum(conf), edge.Checksum(changed))
	deployEdge(ctx, t, cluster, args)
	assertOnePodPerNode(ctx, t, client, args.Namespace, allNodes, edge.Checksum(changed))
}

// deployEdge renders the edge component alone and applies it, waiting for the rollout.
func deployEdge(ctx context.Context, t *testing.T, cluster *localcluster.Cluster, args *edge.Args) {
	t.Helper()
	rec, err := pulumimock.Run("dev", func(ctx *pulumi.Context) error {
		_, err := edge.New(ctx, "edge", args)
		return err
	})
	require.NoError(t, err)
	r, err := render.FromRecord("dev", rec)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, r.Write(dir))
	require.NoError(t, render.Apply(ctx, cluster.RESTConfig(), dir, render.ApplyOptions{Wait: true, Timeout: 2 * time.Minute}))
}

// assertOnePodPerNode waits (bounded) until the DaemonSet's pods are exactly one Ready pod with
// the given config checksum on each node, on the host network.
func assertOnePodPerNode(ctx context.Context, t *testing.T, client kubernetes.Interface, namespace string, nodes []string, checksum string) {
	t.Helper()
	var last string
	for i := 0; i < 120; i++ {
		ds, err := client.AppsV1().DaemonSets(namespace).Get(ctx, edge.Name, metav1.GetOptions{})
		require.NoError(t, err)
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + edge.Name})
		require.NoError(t, err)
		var onNodes []string
		ok := int(ds.Status.DesiredNumberScheduled) == len(nodes) && int(ds.Status.NumberReady) == len(nodes) &&
			int(ds.Status.UpdatedNumberScheduled) == len(nodes)
		for _, p := range pods.Items {
			onNodes = append(onNodes, p.Spec.NodeName)
			ok = ok && p.DeletionTimestamp == nil && p.Annotations[edge.ChecksumAnnot] == checksum && p.Spec.HostNetwork && podReady(&p)
		}
		sort.Strings(onNodes)
		ok = ok && fmt.Sprint(onNodes) == fmt.Sprint(nodes)
		if ok {
			return
		}
		last = fmt.Sprintf("desired %d, ready %d, updated %d; pods on %v", ds.Status.DesiredNumberScheduled, ds.Status.NumberReady, ds.Status.UpdatedNumberScheduled, onNodes)
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the edge did not run one ready, current pod on each of %v within 60s: %s", nodes, last)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
