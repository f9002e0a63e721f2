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
	"github.com/shoestring-dev/shoestring/internal/localimages"
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

// create sends the rendered objects of these kinds (Namespace, Service) to the apiserver, in that order.
func create(t *testing.T, ctx context.Context, c kubernetes.Interface, objs []mockrender.Object, kinds ...string) {
	t.Helper()
	decode := func(o mockrender.Object, into any) {
		b, err := json.Marshal(o.Manifest)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, into))
	}
	for _, kind := range kinds {
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
			}
			require.NoError(t, err, "%s %s/%s", o.Kind, o.Namespace, o.Name)
		}
	}
}

// deployment is the rendered Deployment of that name.
func deployment(t *testing.T, objs []mockrender.Object, name string) appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	for _, o := range objs {
		if o.Kind == "Deployment" && o.Name == name {
			b, err := json.Marshal(o.Manifest)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &d))
			return d
		}
	}
	t.Fatalf("no Deployment %s in the render", name)
	return d
}

var services = `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}]},` +
	`{"name":"users","image":"example/users:1.0","ports":[{"name":"http","port":8080}]},` +
	`{"name":"orders","image":"example/orders:1.0","ports":[{"name":"http","port":8080}]}]`

// TestPlaygroundShortNamesResolveThroughCoreDNS renders a base stack and a playground of it, creates
// their namespaces and Services, and runs a pod with the playground gateway's own DNS settings on
// the real node: the kubelet writes its resolv.conf and CoreDNS answers. A short name the
// playground deploys resolves to its own Service; one it lacks falls back to the base namespace's.
// The workloads themselves are not created: their example images exist nowhere.
func TestPlaygroundShortNamesResolveThroughCoreDNS(t *testing.T) {
	localcluster.SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	specs, err := localimages.Named(localimages.Pause, localimages.WaitFor)
	require.NoError(t, err)
	cluster, client := realNodeCluster(ctx, t, localcluster.Options{}, specs)

	common := map[string]string{
		"shoestring:cluster": `{"mode":"existing","existing":{"kubeconfig":"` + cluster.KubeconfigPath() + `"}}`,
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
	base := renderStack(t, "sandbox", with(map[string]string{"shoestring:namespace": "shop", "shoestring:services": services}))
	play := renderStack(t, "play-login", with(map[string]string{
		"shoestring:namespace":  "play-login",
		"shoestring:playground": `{"branch":"play/login","baseNamespace":"shop","created":"2026-11-20T10:00:00Z"}`,
		"shoestring:services": `[{"name":"gateway","image":"example/gateway:2.0","ports":[{"name":"http","port":8080}]},` +
			`{"name":"users","image":"example/users:2.0","ports":[{"name":"http","port":8080}]}]`,
	}))
	create(t, ctx, client, base, "Namespace", "Service")
	create(t, ctx, client, play, "Namespace", "Service")

	spec := deployment(t, play, "gateway").Spec.Template.Spec
	require.NotNil(t, spec.DNSConfig, "the playground's pods carry a dnsConfig")
	assert.Nil(t, deployment(t, base, "gateway").Spec.Template.Spec.DNSConfig, "a base pod has no fallback search path")

	clusterIP := func(ns, name string) string {
		s, err := client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return s.Spec.ClusterIP
	}
	// What the pod's resolver answers, through glibc as an app's would.
	resolve := func(name string, dns *corev1.PodDNSConfig) string {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "resolve-", Namespace: "play-login"},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: spec.DNSPolicy, DNSConfig: dns,
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65534)),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{
					Name: "resolve", Image: localimages.WaitFor, ImagePullPolicy: corev1.PullNever,
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					Command: []string{"sh", "-c", `getent hosts "$0" || echo unresolved`, name},
				}},
			},
		}
		p, err := client.CoreV1().Pods("play-login").Create(ctx, pod, metav1.CreateOptions{})
		require.NoError(t, err)
		for ctx.Err() == nil {
			p, err = client.CoreV1().Pods("play-login").Get(ctx, p.Name, metav1.GetOptions{})
			require.NoError(t, err)
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		require.Equal(t, corev1.PodSucceeded, p.Status.Phase, "the resolver pod for %s finished", name)
		logs, err := client.CoreV1().Pods("play-login").GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		require.NoError(t, err)
		fields := strings.Fields(string(logs))
		require.NotEmpty(t, fields, "the resolver pod for %s printed nothing", name)
		return fields[0]
	}
	assert.Equal(t, clusterIP("shop", "orders"), resolve("orders", spec.DNSConfig), "what the playground lacks comes from the base")
	assert.Equal(t, clusterIP("play-login", "users"), resolve("users", spec.DNSConfig), "the playground's own copy wins")
	assert.Equal(t, "unresolved", resolve("orders", nil), "without the playground's search path nothing falls back")
}
