package program_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/internal/testing/mockrender"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// renderStack evaluates the program for a config and returns its Kubernetes objects.
func renderStack(t *testing.T, stack string, raw map[string]string) []mockrender.Object {
	t.Helper()
	cfg, err := stacks.Parse(raw, nil)
	require.NoError(t, err)
	rec, err := pulumimock.Run(stack, func(ctx *pulumi.Context) error { return program.Deploy(ctx, cfg) })
	require.NoError(t, err)
	r, err := mockrender.FromRecord(stack, rec)
	require.NoError(t, err)
	return r.Order.Objects
}

// create sends the rendered Namespaces, Services and Deployments to the apiserver (what the DNS
// search path test needs; the golden files in internal/testing/mockrender cover the rest of a render).
func create(t *testing.T, ctx context.Context, c kubernetes.Interface, objs []mockrender.Object) {
	t.Helper()
	decode := func(o mockrender.Object, into any) {
		b, err := json.Marshal(o.Manifest)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, into))
	}
	for _, kind := range []string{"Namespace", "Service", "Deployment"} {
		for _, o := range objs {
			if o.Kind != kind {
				continue
			}
			var err error
			switch kind {
			case "Namespace":
				var ns corev1.Namespace
				decode(o, &ns)
				_, err = c.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{})
			case "Service":
				var s corev1.Service
				decode(o, &s)
				_, err = c.CoreV1().Services(s.Namespace).Create(ctx, &s, metav1.CreateOptions{})
			case "Deployment":
				var d appsv1.Deployment
				decode(o, &d)
				_, err = c.AppsV1().Deployments(d.Namespace).Create(ctx, &d, metav1.CreateOptions{})
			}
			require.NoError(t, err, "%s %s/%s", o.Kind, o.Namespace, o.Name)
		}
	}
}

var services = `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}]},` +
	`{"name":"users","image":"example/users:1.0","ports":[{"name":"http","port":8080}]},` +
	`{"name":"orders","image":"example/orders:1.0","ports":[{"name":"http","port":8080}]}]`

// TestPlaygroundPodResolvesBaseServicesOnTheRealAPIServer deploys a base stack's services into
// "shop" and a playground of play/login (gateway and users only) into "play-login" on the local
// control plane, lets the controllers create the pods, and checks that the apiserver accepted the
// playground pods' dnsConfig, and that with that search path "orders" (only in the base) and
// "users" (in both) resolve to the right Services among those that really exist.
func TestPlaygroundPodResolvesBaseServicesOnTheRealAPIServer(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)

	common := map[string]string{
		"shoestring:cluster":     `{"mode":"existing","existing":{"kubeconfig":"` + cluster.KubeconfigPath() + `"}}`,
		"shoestring:podSecurity": `{"enforce":"baseline"}`,
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	create(t, ctx, client, renderStack(t, "sandbox", with(map[string]string{
		"shoestring:namespace": "shop", "shoestring:services": services,
	})))
	create(t, ctx, client, renderStack(t, "play-login", with(map[string]string{
		"shoestring:namespace":  "play-login",
		"shoestring:playground": `{"branch":"play/login","baseNamespace":"shop","created":"2026-11-20T10:00:00Z"}`,
		"shoestring:services": `[{"name":"gateway","image":"example/gateway:2.0","ports":[{"name":"http","port":8080}]},` +
			`{"name":"users","image":"example/users:2.0","ports":[{"name":"http","port":8080}]}]`,
	})))

	var pod corev1.Pod
	require.Eventually(t, func() bool {
		pods, err := client.CoreV1().Pods("play-login").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=gateway"})
		if err != nil || len(pods.Items) == 0 {
			return false
		}
		pod = pods.Items[0]
		return true
	}, 90*time.Second, 500*time.Millisecond, "the controllers never created the playground's gateway pod")

	require.NotNil(t, pod.Spec.DNSConfig, "the apiserver kept the pod's dnsConfig")
	assert.Equal(t, []string{"shop.svc.cluster.local"}, pod.Spec.DNSConfig.Searches)
	assert.Equal(t, corev1.DNSClusterFirst, pod.Spec.DNSPolicy)

	exists := func(fqdn string) bool {
		parts := strings.SplitN(fqdn, ".", 3) // <service>.<namespace>.svc.cluster.local
		if len(parts) != 3 || parts[2] != "svc.cluster.local" {
			return false
		}
		_, err := client.CoreV1().Services(parts[1]).Get(ctx, parts[0], metav1.GetOptions{})
		return err == nil
	}
	path := playground.PodSearchPath(pod.Namespace, "cluster.local", pod.Spec.DNSConfig.Searches)
	got, ok := playground.Resolve("orders", path, exists)
	assert.True(t, ok, "orders must resolve through the base namespace")
	assert.Equal(t, "orders.shop.svc.cluster.local", got)
	got, _ = playground.Resolve("users", path, exists)
	assert.Equal(t, "users.play-login.svc.cluster.local", got, "the playground's own users wins")

	// A base pod has no such search path.
	base, err := client.AppsV1().Deployments("shop").Get(ctx, "gateway", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, base.Spec.Template.Spec.DNSConfig)
}
