package program_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/engine"
	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/stacks"
)

type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

var (
	jobsGVR        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// lifecycle drives one stack of a temporary project (Pulumi.yaml and an edited copy of a shipped
// stack file) with the real engine and Kubernetes provider against a local control plane.
type lifecycle struct {
	t          *testing.T
	project    string // the temporary project folder
	stack      string
	state      string // the local backend, passphrase and work copies
	kubeconfig string
	file       map[string]any // the stack file as YAML, edited between runs
}

func newLifecycle(t *testing.T, stack, kubeconfig string) *lifecycle {
	t.Helper()
	localcluster.SkipUnlessE2E(t)
	l := &lifecycle{t: t, project: t.TempDir(), stack: stack, state: t.TempDir(), kubeconfig: kubeconfig}
	b, err := os.ReadFile(filepath.Join("..", "..", "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(l.project, "Pulumi.yaml"), b, 0o644))
	// The stack's whole configuration, written out in its file (the shared definition merged and
	// the overrides applied), so the test edits what the stack deploys.
	raw, secret, err := stacks.ReadStackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	require.Empty(t, secret, "the shipped %s file holds no secrets", stack)
	raw, err = stacks.ResolveOverrides(raw, nil)
	require.NoError(t, err)
	cfg := map[string]any{}
	for k, v := range raw {
		var value any = v
		if json.Unmarshal([]byte(v), &value) != nil {
			value = v
		}
		if _, isText := value.(string); isText || value == nil {
			value = v // a top-level scalar stays the text the engine passes
		}
		cfg[k] = value
	}
	l.file = map[string]any{"config": cfg}
	return l
}

// devStackOnKwok is the dev stack of a temporary project on a local control plane with simulated
// nodes, with clients of that cluster and a context that ends after timeout.
func devStackOnKwok(t *testing.T, timeout time.Duration) (context.Context, *lifecycle, *kubernetes.Clientset, *dynamic.DynamicClient) {
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	return ctx, newLifecycle(t, "dev", cluster.KubeconfigPath()), client, dyn
}

// config is the stack file's config map, for edits.
func (l *lifecycle) config() map[string]any { return l.file["config"].(map[string]any) }

// service is the named entry of shoestring:services.
func (l *lifecycle) service(name string) map[string]any {
	for _, s := range l.config()["shoestring:services"].([]any) {
		if m := s.(map[string]any); m["name"] == name {
			return m
		}
	}
	l.t.Fatalf("no service %q in the stack file", name)
	return nil
}

// open writes the stack file and prepares the stack; wrap, if set, wraps the program.
func (l *lifecycle) open(ctx context.Context, wrap func(pulumi.RunFunc) pulumi.RunFunc) *engine.Stack {
	l.t.Helper()
	b, err := yaml.Marshal(l.file)
	require.NoError(l.t, err)
	require.NoError(l.t, os.WriteFile(filepath.Join(l.project, "Pulumi."+l.stack+".yaml"), b, 0o644))
	run := program.Run
	if wrap != nil {
		run = wrap(run)
	}
	s, err := engine.Open(ctx, engine.Options{
		ProjectDir: l.project, Stack: l.stack, StateDir: l.state, ExistingCluster: l.kubeconfig,
		Program: run, Plugins: plugins, PulumiRoot: pulumiRoot(l.t), Progress: testLog{l.t},
	})
	require.NoError(l.t, err)
	return s
}

func plugins(cfg *stacks.Config) []engine.Plugin {
	var out []engine.Plugin
	for _, p := range program.Plugins(cfg) {
		out = append(out, engine.Plugin{Name: p.Name, Version: p.Version})
	}
	return out
}

// pulumiRoot is the pinned CLI's folder (scripts/tools.sh), unless pulumi is on PATH.
func pulumiRoot(t *testing.T) string {
	dir := os.Getenv("SHOESTRING_TOOLS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "shoestring", "tools")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "pulumi")); err == nil {
		return dir
	}
	return ""
}

// changed are "op Type name" of a result's changing steps, sorted.
func changed(r engine.Result) []string {
	var out []string
	for _, c := range r.Changes.Changed() {
		typ := c.Type[strings.LastIndex(c.Type, ":")+1:]
		out = append(out, c.Op+" "+typ+" "+c.Name)
	}
	sort.Strings(out)
	return out
}

// TestDevStackLifecycleWithTheEngine runs the dev stack through the real Pulumi engine and
// Kubernetes provider on a local control plane with 3 simulated nodes, the way `make up` does:
// up from empty (release Jobs ordered around the rollout, every workload awaited by the
// provider), a preview with no change, a commonEnv change that touches exactly what reads it, a
// failing before-Job that stops the update with the old Deployment serving, a removed service
// deleted by the engine, and destroy leaving nothing, with no secret in plain text in the state.
func TestDevStackLifecycleWithTheEngine(t *testing.T) {
	ctx, l, client, dyn := devStackOnKwok(t, 12*time.Minute)
	var err error
	ns := l.config()["shoestring:namespace"].(string)
	// A second service, removed below; it reads common-config like every service.
	l.config()["shoestring:services"] = append(l.config()["shoestring:services"].([]any), map[string]any{
		"name": "web", "image": "ghcr.io/shoestring-dev/example-web:1.0.0",
		"ports":    []any{map[string]any{"name": "http", "port": 8080}},
		"env":      map[string]any{"APP_MODE": "web"},
		"cronJobs": []any{map[string]any{"name": "sitemap", "schedule": "0 3 * * *", "command": []any{"bin/sitemap"}}},
	})
	l.service("web")["secretEnv"] = []any{"SESSION_KEY"}

	// 1. Up from empty, with Jobs and Deployments watched to order the release Jobs.
	from := resourceVersion(ctx, t, dyn)
	jobs, deploys := watchAll(ctx, t, dyn, ns, from)
	s := l.open(ctx, nil)
	generated := s.GeneratedSecrets()
	require.NotEmpty(t, generated, "the dev stack's secrets are generated, not read from the repo")
	// The first update is interrupted while it creates objects (the CLI gets SIGINT, as from Ctrl-C
	// in a terminal); the next one continues from the saved state by itself, creating nothing twice.
	killed := signalCLIWhen(ctx, t, "up", syscall.SIGINT, func() bool {
		n, _ := client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		return n != nil && len(n.Items) > 0
	})
	_, err = s.Up(ctx)
	<-killed
	require.Error(t, err, "the interrupted update fails")
	up, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err, "the next update recovers from the interrupted one")
	t.Logf("up after the interrupted one: %v", up.Counts)
	for _, name := range []string{"api", "api-queue", "web"} {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), d.Status.ReadyReplicas, "Deployment %s ready when up returns", name)
	}
	for _, name := range []string{"mysql", "redis"} {
		st, err := client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), st.Status.ReadyReplicas, "StatefulSet %s ready", name)
	}
	edgeNS := up.Outputs["edgeNamespace"].Value.(string)
	ds, err := client.AppsV1().DaemonSets(edgeNS).Get(ctx, "edge-nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), ds.Status.NumberReady, "the edge runs one ready pod on each of the 3 nodes")
	// Pod security, enforced by the apiserver: the namespace is restricted, our pods were admitted
	// under it, and a privileged pod is refused.
	nsObj, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "restricted", nsObj.Labels["pod-security.kubernetes.io/enforce"])
	privileged := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "root", Image: "busybox:1.37", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)},
		}}},
	}
	_, err = client.CoreV1().Pods(ns).Create(ctx, privileged, metav1.CreateOptions{})
	require.Error(t, err, "the restricted level must refuse a privileged pod")
	assert.True(t, apierrors.IsForbidden(err), "%v", err)
	migrate := jobNamed(ctx, t, client, ns, "api-migrate-")
	warm := jobNamed(ctx, t, client, ns, "api-cache-warm-")
	migrated := firstRV(t, jobs, func(u *unstructured.Unstructured) bool { return u.GetName() == migrate && hasCondition(u, "Complete") })
	created := firstRV(t, deploys, func(u *unstructured.Unstructured) bool { return u.GetName() == "api" })
	apiReady := firstRV(t, deploys, func(u *unstructured.Unstructured) bool {
		r, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		return u.GetName() == "api" && r == 1
	})
	warmed := firstRV(t, jobs, func(u *unstructured.Unstructured) bool { return u.GetName() == warm })
	t.Logf("resource versions: before-Job complete %d, Deployment created %d, ready %d, after-Job created %d", migrated, created, apiReady, warmed)
	assert.Less(t, migrated, created, "the before-Job completes before the Deployment is created")
	assert.Less(t, apiReady, warmed, "the after-Job starts after the Deployment is ready")

	// 2. A preview right after changes nothing.
	pre, err := l.open(ctx, nil).Preview(ctx)
	require.NoError(t, err)
	assert.Empty(t, changed(pre), "a preview right after up")

	// 3. One commonEnv value: the ConfigMap, every workload reading it and the release Jobs whose
	// id hashes it; nothing else.
	l.config()["shoestring:commonEnv"].(map[string]any)["APP_ENV"] = "dev-2"
	pre, err = l.open(ctx, nil).Preview(ctx)
	require.NoError(t, err)
	var names []string
	for _, c := range pre.Changes.Changed() {
		names = append(names, c.Type[strings.LastIndex(c.Type, ":")+1:]+" "+c.Name)
	}
	names = dedupe(names)
	t.Logf("preview of a commonEnv change: %s", strings.Join(changed(pre), "; "))
	expected := []string{"ConfigMap common-config"}
	for _, d := range []string{"api", "api-queue", "web"} {
		expected = append(expected, "Deployment "+d)
	}
	for _, c := range []string{"api-report", "api-cleanup", "api-digest", "web-sitemap"} {
		expected = append(expected, "CronJob "+c)
	}
	for _, j := range []string{"api-migrate", "api-cache-warm", "api-demo-data"} {
		expected = append(expected, "Job "+j)
	}
	sort.Strings(expected)
	assert.Equal(t, expected, names, "exactly what reads common-config changes")
	for _, c := range pre.Changes.Changed() {
		if strings.HasSuffix(c.Type, ":ConfigMap") || strings.HasSuffix(c.Type, ":Job") {
			assert.Contains(t, []string{"replace", "create-replacement", "delete-replaced"}, c.Op, "%s %s is replaced", c.Type, c.Name)
		}
	}
	_, err = l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "common-config", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "dev-2", cm.Data["APP_ENV"])
	newMigrate := jobNamed(ctx, t, client, ns, "api-migrate-")
	assert.NotEqual(t, migrate, newMigrate, "a new release is a new Job")
	_, err = client.BatchV1().Jobs(ns).Get(ctx, migrate, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the old release's Job is deleted: %v", err)

	// 4. A failing before-Job (kwok's simulate-fail stage, put on the Job's pods by a transform):
	// the update fails naming its logs command, and the Deployment is not touched.
	before, err := client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err)
	l.service("api")["image"] = "ghcr.io/shoestring-dev/example-api:1.0.1"
	_, err = l.open(ctx, failMigrations).Up(ctx)
	require.Error(t, err, "the failing before-Job fails the update")
	assert.Contains(t, err.Error(), "kubectl")
	assert.Contains(t, err.Error(), "logs")
	after, err := client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.Spec.Template, after.Spec.Template, "the old Deployment's pod template is unchanged")
	assert.Equal(t, int32(1), after.Status.ReadyReplicas, "the old version keeps serving")
	// The same release without the failure goes through.
	_, err = l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)

	// 5. A service removed from the config: the engine deletes all of its objects.
	services := l.config()["shoestring:services"].([]any)
	l.config()["shoestring:services"] = services[:len(services)-1]
	if secrets, ok := l.config()["shoestring:secrets"].(map[string]any); ok {
		delete(secrets, "web")
	}
	removed, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)
	t.Logf("removing web: %s", strings.Join(changed(removed), "; "))
	_, err = client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "Deployment web deleted: %v", err)
	_, err = client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "Service web deleted: %v", err)
	_, err = client.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "ConfigMap web-config deleted: %v", err)
	_, err = client.CoreV1().Secrets(ns).Get(ctx, "web-secrets", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "Secret web-secrets deleted: %v", err)
	_, err = client.BatchV1().CronJobs(ns).Get(ctx, "web-sitemap", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "CronJob web-sitemap deleted: %v", err)

	// 6. Destroy: nothing of the stack is left, and the state holds no secret value in plain text.
	secretValues := secretsInCluster(ctx, t, client, ns)
	require.NotEmpty(t, secretValues)
	_, err = l.open(ctx, nil).Destroy(ctx)
	require.NoError(t, err)
	for _, n := range []string{ns, edgeNS} {
		got, err := client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err) || got.Status.Phase == corev1.NamespaceTerminating, "namespace %s removed: %v", n, err)
	}
	state := readState(t, l.state)
	for _, v := range secretValues {
		assert.NotContains(t, state, v, "a secret value in plain text in the state")
	}
}

// signalCLIWhen sends sig to the Pulumi CLI running op as soon as cond holds (polled); the channel
// closes once it has been sent or ctx ends.
func signalCLIWhen(ctx context.Context, t *testing.T, op string, sig syscall.Signal, cond func() bool) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if cond() {
				signalCLI(t, op, sig)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return done
}

// signalCLI sends sig to this process's Pulumi CLI child running the given operation. A CLI
// killed outright cannot stop the plugins it started: they are stopped when the test ends.
func signalCLI(t *testing.T, op string, sig syscall.Signal) {
	for _, p := range processes(t) {
		if p.ppid != os.Getpid() || len(p.args) < 2 || !strings.HasSuffix(p.args[0], "pulumi") || !slices.Contains(p.args, op) {
			continue
		}
		if sig == syscall.SIGKILL {
			var plugins []int
			for _, c := range processes(t) {
				if c.ppid == p.pid {
					plugins = append(plugins, c.pid)
				}
			}
			t.Cleanup(func() {
				for _, pid := range plugins {
					_ = syscall.Kill(pid, syscall.SIGTERM)
				}
			})
		}
		t.Logf("sending %v to the Pulumi CLI (pid %d) during %s", sig, p.pid, op)
		require.NoError(t, syscall.Kill(p.pid, sig))
		return
	}
	t.Fatalf("no Pulumi CLI child running %s", op)
}

type process struct {
	pid, ppid int
	args      []string
}

// processes are the machine's processes, from /proc.
func processes(t *testing.T) []process {
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, process{pid: pid, ppid: ppid, args: strings.Split(string(cmdline), "\x00")})
	}
	return out
}

// failMigrations wraps the program so that the migrate Jobs' pods carry kwok's fail label.
func failMigrations(run pulumi.RunFunc) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		err := ctx.RegisterResourceTransform(func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			if args.Type != "kubernetes:batch/v1:Job" || !strings.Contains(args.Name, "migrate") {
				return nil
			}
			meta := nested(args.Props, "spec", "template", "metadata")
			if meta == nil {
				return nil
			}
			labels, _ := meta["labels"].(pulumi.Map)
			if labels == nil {
				labels = pulumi.Map{}
			}
			labels["shoestring.dev/simulate"] = pulumi.String("fail")
			meta["labels"] = labels
			return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
		})
		if err != nil {
			return err
		}
		return run(ctx)
	}
}

// nested walks maps of a transform's properties.
func nested(m pulumi.Map, path ...string) pulumi.Map {
	for _, p := range path {
		next, ok := m[p].(pulumi.Map)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

func dedupe(in []string) []string {
	sort.Strings(in)
	var out []string
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func resourceVersion(ctx context.Context, t *testing.T, dyn dynamic.Interface) string {
	list, err := dyn.Resource(deploymentsGVR).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	return list.GetResourceVersion()
}

// watchAll watches Jobs and Deployments of ns from a resource version, buffering every event.
func watchAll(ctx context.Context, t *testing.T, dyn dynamic.Interface, ns, from string) (jobs, deploys *recorded) {
	w := func(gvr schema.GroupVersionResource) *recorded {
		wi, err := dyn.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: from})
		require.NoError(t, err)
		t.Cleanup(wi.Stop)
		r := &recorded{events: make(chan *unstructured.Unstructured, 10000)}
		go func() {
			for ev := range wi.ResultChan() {
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && ev.Type != watch.Error {
					r.events <- u
				}
			}
		}()
		return r
	}
	return w(jobsGVR), w(deploymentsGVR)
}

type recorded struct {
	events chan *unstructured.Unstructured
	seen   []*unstructured.Unstructured
}

// firstRV returns the resource version of the first recorded event matching ok.
func firstRV(t *testing.T, r *recorded, ok func(*unstructured.Unstructured) bool) int64 {
	t.Helper()
	match := func(u *unstructured.Unstructured) (int64, bool) {
		if !ok(u) {
			return 0, false
		}
		rv, err := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
		require.NoError(t, err)
		return rv, true
	}
	for _, u := range r.seen {
		if rv, found := match(u); found {
			return rv
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case u := <-r.events:
			r.seen = append(r.seen, u)
			if rv, found := match(u); found {
				return rv
			}
		case <-timeout:
			t.Fatal("no matching watch event")
			return 0
		}
	}
}

func hasCondition(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ && fmt.Sprint(m["status"]) == "True" {
			return true
		}
	}
	return false
}

// jobNamed is the name of the one Job of ns whose name starts with prefix.
func jobNamed(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, prefix string) string {
	t.Helper()
	list, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, j := range list.Items {
		if strings.HasPrefix(j.Name, prefix) {
			names = append(names, j.Name)
		}
	}
	require.Len(t, names, 1, "Jobs %s*: %v", prefix, names)
	return names[0]
}

// secretsInCluster are the values of every Secret of ns (the generated and configured secrets).
func secretsInCluster(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) []string {
	list, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var out []string
	for _, s := range list.Items {
		for _, v := range s.Data {
			if len(v) >= 8 {
				out = append(out, string(v))
			}
		}
	}
	return out
}

// readState is every file of the local backend, concatenated.
func readState(t *testing.T, stateDir string) string {
	var b strings.Builder
	require.NoError(t, filepath.Walk(filepath.Join(stateDir, "backend"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		b.Write(data)
		return err
	}))
	require.NotZero(t, b.Len(), "the backend holds the state")
	return b.String()
}

func ptr[T any](v T) *T { return &v }

// TestKilledUpdateRecovers kills the Pulumi CLI (SIGKILL, as the SDK does 10 s after a Ctrl-C
// the CLI could not finish in time, or a crash) while it awaits a Deployment it has just created:
// the state keeps that create as a pending operation and the CLI's lock stays behind. The next up
// removes the lock, imports the pending object by its name and converges: every workload once and
// ready, and a preview after it changes nothing.
func TestKilledUpdateRecovers(t *testing.T) {
	ctx, l, client, _ := devStackOnKwok(t, 10*time.Minute)
	ns := l.config()["shoestring:namespace"].(string)
	// A Deployment the provider has created and now awaits: its create is in flight.
	killed := signalCLIWhen(ctx, t, "up", syscall.SIGKILL, func() bool {
		d, _ := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		return d != nil && len(d.Items) > 0
	})
	_, err := l.open(ctx, nil).Up(ctx)
	<-killed
	require.Error(t, err, "the killed update fails")
	state := readState(t, l.state)
	require.Contains(t, state, `"pending_operations"`, "the killed update left operations pending")
	require.Regexp(t, `"type":\s*"creating"`, state, "among them a create")

	up, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err, "the next update recovers from the killed one")
	t.Logf("up after the killed one: %v", up.Counts)
	deploys, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, d := range deploys.Items {
		names = append(names, d.Name)
		assert.Equal(t, int32(1), d.Status.ReadyReplicas, "Deployment %s ready", d.Name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"api", "api-queue"}, names, "each Deployment once")
	for _, name := range []string{"mysql", "redis"} {
		st, err := client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), st.Status.ReadyReplicas, "StatefulSet %s ready", name)
	}
	for _, j := range []string{"api-migrate-", "api-cache-warm-", "api-demo-data-"} {
		jobNamed(ctx, t, client, ns, j) // exactly one Job of each
	}
	pre, err := l.open(ctx, nil).Preview(ctx)
	require.NoError(t, err)
	assert.Empty(t, changed(pre), "a preview after the recovery")
}
