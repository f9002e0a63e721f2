package program_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/localimages"
	"github.com/shoestring-dev/shoestring/internal/testing/mockrender"
)

// probeResult is what a probe pod's TCP connect did.
type probeResult struct {
	connected bool
	message   string // nc's error when it did not connect
	elapsed   time.Duration
}

// probeScript tries a TCP connection to $ADDR:$PORT with a 5 s limit and prints the outcome and
// how long it took.
const probeScript = `start=$(date +%s%N)
if nc -z -v -w 5 "$ADDR" "$PORT" 2>/tmp/nc; then r=CONNECTED; else r="FAILED $(tr '\n' ' ' </tmp/nc)"; fi
echo "result $r"
echo "elapsed_ms $(( ($(date +%s%N) - start) / 1000000 ))"`

var (
	probeResultLine  = regexp.MustCompile(`(?m)^result (CONNECTED|FAILED.*)$`)
	probeElapsedLine = regexp.MustCompile(`(?m)^elapsed_ms (\d+)$`)
)

// probe runs a pod on the real node that connects to addr:port once and returns what happened.
// hostNetwork runs it on the node's network as a non-root user, as the edge's nginx workers are.
func probe(ctx context.Context, t *testing.T, client *kubernetes.Clientset, ns, name string, labels map[string]string, hostNetwork bool, addr string, port int) probeResult {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:      localcluster.RealNodeName(0),
			HostNetwork:   hostNetwork,
			RestartPolicy: corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65534)), RunAsGroup: ptr(int64(65534)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name: "probe", Image: localimages.WaitFor, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", probeScript},
				Env:     []corev1.EnvVar{{Name: "ADDR", Value: addr}, {Name: "PORT", Value: strconv.Itoa(port)}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	defer func() {
		_ = client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	}()
	var phase corev1.PodPhase
	for ctx.Err() == nil {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		if phase = p.Status.Phase; phase == corev1.PodSucceeded || phase == corev1.PodFailed {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, corev1.PodSucceeded, phase, "probe pod %s/%s ran its script", ns, name)
	b, err := client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	require.NoError(t, err)
	out := string(b)
	m, e := probeResultLine.FindStringSubmatch(out), probeElapsedLine.FindStringSubmatch(out)
	require.NotNil(t, m, "probe output: %s", out)
	require.NotNil(t, e, "probe output: %s", out)
	ms, _ := strconv.Atoi(e[1])
	r := probeResult{connected: m[1] == "CONNECTED", elapsed: time.Duration(ms) * time.Millisecond}
	if !r.connected {
		r.message = strings.TrimSpace(strings.TrimPrefix(m[1], "FAILED"))
	}
	t.Logf("probe %s/%s to %s:%d: connected=%v %s (%s)", ns, name, addr, port, r.connected, r.message, r.elapsed)
	return r
}

func clusterIP(ctx context.Context, t *testing.T, client *kubernetes.Clientset, ns, name string) string {
	t.Helper()
	svc, err := client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, svc.Spec.ClusterIP, "Service %s/%s has a cluster IP", ns, name)
	return svc.Spec.ClusterIP
}

// dataPlane is the real node's kube-network-policies process.
func dataPlane(t *testing.T, c *localcluster.Cluster) localcluster.ProcessState {
	t.Helper()
	for _, p := range c.State().Processes {
		if p.Name == "kube-network-policies-n0" {
			return p
		}
	}
	t.Fatalf("the real node runs no kube-network-policies; processes: %v", c.State().Processes)
	return localcluster.ProcessState{}
}

// evaluated is one packet the data plane logged at verbosity 2: `"Evaluating packet"
// srcPod="none" dstPod="apps/api-..." packet=<` and, on the next line, `[id] src:port dst:port
// proto` (the packet's String, then a hex dump).
var evaluated = regexp.MustCompile(`"Evaluating packet" srcPod="([^"]*)" dstPod="([^"]*)" packet=<\n\t\[\d+\] ([0-9.]+):(\d+) ([0-9.]+):(\d+) (\w+)`)

// TestNetworkPoliciesOnARealNode deploys the dev stack, its derived NetworkPolicies on, onto a
// real node whose data plane (kube-network-policies) enforces them, and probes real connections:
// the api reaches MySQL and Redis, the edge reaches the api, a pod that no waitFor names is cut
// from MySQL, a host-network process reaches a routed port but not MySQL, removing a waitFor
// entry and running up cuts its path; and with the policies off the same probe connects, so the
// refusal was theirs.
func TestNetworkPoliciesOnARealNode(t *testing.T) {
	localcluster.SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	t.Cleanup(cancel)
	// Verbosity 2: the data plane logs every packet it judges, with the addresses it saw.
	cluster, client := realNodeCluster(ctx, t, localcluster.Options{NetworkPolicyVerbosity: 2}, localimages.Catalogue())
	l := newLifecycle(t, "dev", cluster.KubeconfigPath())
	ns := l.config()["shoestring:namespace"].(string)
	// A service that needs Redis and nothing else, so its waitFor entry can be removed without
	// breaking the api (whose readiness needs Redis).
	l.config()["shoestring:services"] = append(l.config()["shoestring:services"].([]any), map[string]any{
		"name": "reporter", "image": localimages.WaitFor, "command": []any{"sleep", "infinity"},
		"waitFor": []any{"redis"}, "security": map[string]any{"runAsUser": 65534},
	})
	_, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)

	pols, err := client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, p := range pols.Items {
		names = append(names, p.Name)
	}
	require.Subset(t, names, []string{"default-deny", "allow-dns", "api-egress", "mysql-ingress", "redis-ingress", "api-ingress"}, "the dev stack's derived policies are in %s", ns)
	mysql, redis, api := clusterIP(ctx, t, client, ns, "mysql"), clusterIP(ctx, t, client, ns, "redis"), clusterIP(ctx, t, client, ns, "api")
	plane := dataPlane(t, cluster)

	t.Run("the api reaches MySQL and Redis, and the edge the api", func(t *testing.T) {
		// The api answers its JSON only when MySQL answers, and is Ready (so the edge sends it
		// requests) only when Redis answers too; the consumer takes what the api puts in Redis.
		st := statusWhen(ctx, t, cluster, "with the migrated schema and the demo rows", func(s apiStatus) bool {
			return s.MigrationVersion == 2 && s.Items >= 3
		})
		assert.Equal(t, "dev", st.AppEnv)
		code, body, err := get(ctx, cluster, "POST", "/queue/async", "netpol-1")
		require.NoError(t, err)
		require.Equal(t, 202, code, body)
		statusWhen(ctx, t, cluster, "with the item consumed", func(s apiStatus) bool { return s.Consumed == st.Consumed+1 })
	})

	t.Run("the data plane judged the edge's connections by the node's address", func(t *testing.T) {
		apiPods := podsOf(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server")
		require.Len(t, apiPods, 1)
		apiPod := ns + "/" + apiPods[0].Name
		nodeIP := cluster.State().Net.NodeIP(0)
		log, err := os.ReadFile(plane.Log)
		require.NoError(t, err)
		sources := map[string]int{}
		for _, m := range evaluated.FindAllStringSubmatch(string(log), -1) {
			// The edge connects to the api's port from outside any pod (srcPod "none").
			if m[2] == apiPod && m[1] == "none" && m[6] == "8080" && m[7] == "TCP" {
				sources[m[3]]++
			}
		}
		t.Logf("sources of connections to %s:8080 from outside a pod, as the data plane saw them: %v (node address %s)", apiPod, sources, nodeIP)
		require.NotEmpty(t, sources, "the data plane judged the edge's connections to the api (log %s)", plane.Log)
		for src := range sources {
			assert.Equal(t, nodeIP, src, "the edge's connection reaches the data plane with the node's address, before kube-proxy's masquerade")
		}
	})

	t.Run("a pod that no waitFor names cannot reach MySQL or Redis", func(t *testing.T) {
		for _, target := range []struct {
			name, addr string
			port       int
		}{{"mysql", mysql, 3306}, {"redis", redis, 6379}} {
			r := probe(ctx, t, client, ns, "stranger-"+target.name, map[string]string{"app.kubernetes.io/name": "stranger"}, false, target.addr, target.port)
			assert.False(t, r.connected, "a stranger pod connected to %s", target.name)
			// The data plane drops the first packet: no reset comes back, the connect times out.
			assert.Contains(t, r.message, "timed out", "the connection to %s is dropped, not refused", target.name)
			assert.GreaterOrEqual(t, r.elapsed, 4*time.Second, "nc waited for its 5 s limit")
		}
	})

	t.Run("a pod labelled as the api reaches MySQL and Redis", func(t *testing.T) {
		// The api's policies select it by app.kubernetes.io/name; another component of the same
		// service (a worker, a CronJob) is allowed the same, and is not the Service's endpoint.
		labels := map[string]string{"app.kubernetes.io/name": "api", "app.kubernetes.io/component": "probe"}
		assert.True(t, probe(ctx, t, client, ns, "as-api-mysql", labels, false, mysql, 3306).connected)
		assert.True(t, probe(ctx, t, client, ns, "as-api-redis", labels, false, redis, 6379).connected)
	})

	t.Run("a host-network process reaches the api's routed port but not MySQL", func(t *testing.T) {
		// What the edge's workers are: a non-root process on the node's network.
		assert.True(t, probe(ctx, t, client, "default", "host-api", nil, true, api, 8080).connected, "the node range is allowed on the routed port")
		r := probe(ctx, t, client, "default", "host-mysql", nil, true, mysql, 3306)
		assert.False(t, r.connected, "the node range is allowed on routed ports only")
		assert.Contains(t, r.message, "timed out")
	})

	t.Run("removing a waitFor entry and running up cuts that path", func(t *testing.T) {
		// The reporter's other pods (a worker, a Job) are allowed what its server is.
		labels := map[string]string{"app.kubernetes.io/name": "reporter", "app.kubernetes.io/component": "probe"}
		assert.True(t, probe(ctx, t, client, ns, "as-reporter-redis", labels, false, redis, 6379).connected, "waitFor: [redis] opens the path")
		assert.False(t, probe(ctx, t, client, ns, "as-reporter-mysql", labels, false, mysql, 3306).connected, "and no other")
		l.service("reporter")["waitFor"] = []any{}
		_, err := l.open(ctx, nil).Up(ctx)
		require.NoError(t, err)
		r := probe(ctx, t, client, ns, "as-reporter-redis-after", labels, false, redis, 6379)
		assert.False(t, r.connected, "up without the waitFor entry cut the path")
		assert.Contains(t, r.message, "timed out")
		// The api's own path to Redis is its own entry's, untouched.
		statusWhen(ctx, t, cluster, "after the reporter's change", func(s apiStatus) bool { return s.MigrationVersion == 2 })
	})

	t.Run("the data plane's memory", func(t *testing.T) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", plane.PID))
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") {
				t.Logf("kube-network-policies %s", strings.Join(strings.Fields(line), " "))
			}
		}
	})

	t.Run("with the policies off the same probe connects", func(t *testing.T) {
		apiUIDs := podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server")
		l.config()["shoestring:networkPolicy"] = map[string]any{"enabled": false}
		_, err := l.open(ctx, nil).Up(ctx)
		require.NoError(t, err)
		pols, err := client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, pols.Items, "up removed the policies")
		statusWhen(ctx, t, cluster, "without the policies", func(s apiStatus) bool { return s.MigrationVersion == 2 })
		labels := map[string]string{"app.kubernetes.io/name": "stranger"}
		assert.True(t, probe(ctx, t, client, ns, "stranger-open-mysql", labels, false, mysql, 3306).connected, "without policies the stranger reaches MySQL")
		assert.True(t, probe(ctx, t, client, "default", "host-open-mysql", nil, true, mysql, 3306).connected)
		assert.Equal(t, apiUIDs, podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server"), "switching the policies restarts no workload")
	})
}

// createPolicies sends the rendered NetworkPolicies to the apiserver.
func createPolicies(t *testing.T, ctx context.Context, c kubernetes.Interface, objs []mockrender.Object) int {
	t.Helper()
	n := 0
	for _, o := range objs {
		if o.Kind != "NetworkPolicy" {
			continue
		}
		b, err := json.Marshal(o.Manifest)
		require.NoError(t, err)
		var np networkingv1.NetworkPolicy
		require.NoError(t, json.Unmarshal(b, &np))
		_, err = c.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, &np, metav1.CreateOptions{})
		require.NoError(t, err, "NetworkPolicy %s/%s", np.Namespace, np.Name)
		n++
	}
	return n
}

// listen runs a pod on the real node that accepts TCP connections on 8080 (port name http, as
// the rendered Services target), labelled as a service's server.
func listen(ctx context.Context, t *testing.T, client *kubernetes.Clientset, ns, service string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-listener", Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/name": service, "app.kubernetes.io/component": "server"}},
		Spec: corev1.PodSpec{
			NodeName: localcluster.RealNodeName(0),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65534)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name: "listen", Image: localimages.WaitFor, ImagePullPolicy: corev1.PullNever,
				Command: []string{"nc", "-lk", "8080"},
				Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	for ctx.Err() == nil {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		require.NoError(t, err)
		if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("listener %s/%s never ran", ns, pod.Name)
}

// TestPlaygroundPoliciesOnARealNode (a short name: the kubelet's sockets live under the test's
// temp folder, and a unix socket path is limited to 107 bytes) renders a base stack with playgrounds
// and a playground of it, creates their namespaces, Services and derived NetworkPolicies on a
// cluster whose real node enforces them, and puts a listening pod behind each service's
// Service: the playground's gateway reaches its own users and the base's orders it falls back
// to; a pod of the playground the definition does not name, and the gateway's label in a
// namespace that is not a playground of the base, do not.
func TestPlaygroundPoliciesOnARealNode(t *testing.T) {
	localcluster.SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	specs, err := localimages.Named(localimages.Pause, localimages.WaitFor)
	require.NoError(t, err)
	cluster, client := realNodeCluster(ctx, t, localcluster.Options{}, specs)

	kc := `{"mode":"existing","existing":{"kubeconfig":"` + cluster.KubeconfigPath() + `"}}`
	base := renderStack(t, "sandbox", map[string]string{
		"shoestring:cluster": kc, "shoestring:namespace": "shop",
		"shoestring:edge": `{"playgrounds":{"domain":"play.example.com","gatewayService":"gateway"}}`,
		"shoestring:services": `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}],"waitFor":["users","orders"]},` +
			`{"name":"users","image":"example/users:1.0","ports":[{"name":"http","port":8080}]},` +
			`{"name":"orders","image":"example/orders:1.0","ports":[{"name":"http","port":8080}]}]`,
	})
	play := renderStack(t, "play-login", map[string]string{
		"shoestring:cluster": kc, "shoestring:namespace": "play-login",
		"shoestring:playground": `{"branch":"play/login","baseNamespace":"shop","created":"2026-11-20T10:00:00Z"}`,
		// What the playground does not deploy it names in the base namespace.
		"shoestring:services": `[{"name":"gateway","image":"example/gateway:2.0","ports":[{"name":"http","port":8080}],"waitFor":["users","orders.shop.svc:8080"]},` +
			`{"name":"users","image":"example/users:2.0","ports":[{"name":"http","port":8080}]}]`,
	})
	create(t, ctx, client, base, "Namespace", "Service")
	create(t, ctx, client, play, "Namespace", "Service")
	require.NotZero(t, createPolicies(t, ctx, client, base), "the base renders policies")
	require.NotZero(t, createPolicies(t, ctx, client, play), "the playground renders policies")
	_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	listen(ctx, t, client, "shop", "orders")
	listen(ctx, t, client, "play-login", "users")
	orders, users := clusterIP(ctx, t, client, "shop", "orders"), clusterIP(ctx, t, client, "play-login", "users")

	gateway := map[string]string{"app.kubernetes.io/name": "gateway", "app.kubernetes.io/component": "probe"}
	assert.True(t, probe(ctx, t, client, "play-login", "gateway-orders", gateway, false, orders, 8080).connected, "the playground's gateway reaches the base's orders")
	assert.True(t, probe(ctx, t, client, "play-login", "gateway-users", gateway, false, users, 8080).connected, "and its own users")
	stranger := probe(ctx, t, client, "play-login", "stranger-orders", map[string]string{"app.kubernetes.io/name": "stranger"}, false, orders, 8080)
	assert.False(t, stranger.connected, "a playground pod the definition does not name")
	assert.Contains(t, stranger.message, "timed out")
	outsider := probe(ctx, t, client, "elsewhere", "gateway-orders", gateway, false, orders, 8080)
	assert.False(t, outsider.connected, "the gateway's label outside a playground of shop")
	assert.Contains(t, outsider.message, "timed out")
}
