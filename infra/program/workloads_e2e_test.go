package program_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
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

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/pulumimock"
	"github.com/shoestring-dev/shoestring/internal/render"
	"github.com/shoestring-dev/shoestring/stacks"
)

type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// renderRelease renders the dev stack with the api service at image and returns the render folder
// and the objects; edit may change manifests before they are written.
func renderRelease(t *testing.T, image string, edit func(objs []render.Object)) (string, []render.Object) {
	t.Helper()
	cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi.dev.yaml"))
	require.NoError(t, err)
	for i := range cfg.Services {
		if cfg.Services[i].Name == "api" {
			cfg.Services[i].Image = image
		}
	}
	rec, err := pulumimock.Run("dev", func(ctx *pulumi.Context) error { return program.Deploy(ctx, cfg) })
	require.NoError(t, err)
	r, err := render.FromRecord("dev", rec)
	require.NoError(t, err)
	if edit != nil {
		edit(r.Order.Objects)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir))
	return dir, r.Order.Objects
}

func objectName(objs []render.Object, kind, prefix string) string {
	for _, o := range objs {
		if o.Kind == kind && o.Namespace == "apps" && strings.HasPrefix(o.Name, prefix) {
			return o.Name
		}
	}
	return ""
}

var (
	jobsGVR        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// TestWorkloadsOnTheLocalControlPlane applies the dev stack (a service, a worker, 3 CronJobs, a
// before-Job, after-Jobs, in-cluster MySQL and Redis) to a real apiserver with controllers and kwok
// nodes, then two more releases: one whose before-Job completes before the Deployment changes, and
// one whose before-Job fails, leaving the old Deployment serving. The namespace enforces the
// restricted Pod Security level in the real apiserver: our pods are admitted, a privileged one is not.
func TestWorkloadsOnTheLocalControlPlane(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	apply := func(dir string) error {
		return render.Apply(ctx, cluster.RESTConfig(), dir, render.ApplyOptions{Wait: true, Timeout: 3 * time.Minute, Progress: testLog{t}})
	}

	// Release 1: everything rolls out.
	dir1, objs1 := renderRelease(t, "ghcr.io/shoestring-dev/example-api:1.0.0", nil)
	require.NoError(t, apply(dir1))
	for _, name := range []string{"api", "api-queue"} {
		d, err := client.AppsV1().Deployments("apps").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), d.Status.AvailableReplicas, "Deployment %s available", name)
	}
	for _, name := range []string{"mysql", "redis"} {
		s, err := client.AppsV1().StatefulSets("apps").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), s.Status.ReadyReplicas, "StatefulSet %s ready", name)
	}
	crons, err := client.BatchV1().CronJobs("apps").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, crons.Items, 3)
	for _, prefix := range []string{"api-migrate-", "api-cache-warm-", "api-demo-data-"} {
		name := objectName(objs1, "Job", prefix)
		require.NotEmpty(t, name, prefix)
		j, err := client.BatchV1().Jobs("apps").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), j.Status.Succeeded, "Job %s completed", name)
	}

	// Pod security, enforced by the apiserver: the namespace is restricted, every pod of ours was
	// admitted under it, and a privileged pod is refused.
	ns, err := client.CoreV1().Namespaces().Get(ctx, "apps", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
	pods, err := client.CoreV1().Pods("apps").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(pods.Items), 4, "server, worker, mysql, redis and Job pods were admitted")
	privileged := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: "apps"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "root", Image: "busybox:1.37", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)},
		}}},
	}
	_, err = client.CoreV1().Pods("apps").Create(ctx, privileged, metav1.CreateOptions{})
	require.Error(t, err, "the restricted level must refuse a privileged pod")
	assert.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), `violates PodSecurity "restricted:latest"`)
	// And each of our pod templates, as a bare pod, passes a server-side dry run (no warnings either).
	for _, o := range objs1 {
		if o.Namespace != "apps" || (o.Kind != "Deployment" && o.Kind != "StatefulSet" && o.Kind != "Job") {
			continue
		}
		tmpl, _, _ := unstructured.NestedMap(o.Manifest, "spec", "template")
		pod := &unstructured.Unstructured{Object: tmpl}
		pod.SetAPIVersion("v1")
		pod.SetKind("Pod")
		pod.SetName("dry-" + o.Name)
		pod.SetNamespace("apps")
		if o.Kind == "StatefulSet" { // its volume comes from the claim template; any volume of that name will do
			require.NoError(t, unstructured.SetNestedSlice(pod.Object, []any{map[string]any{"name": "data", "emptyDir": map[string]any{}}}, "spec", "volumes"))
		}
		_, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace("apps").
			Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		assert.NoError(t, err, "%s %s's pod under the restricted level", o.Kind, o.Name)
	}

	// Release 2: the before-Job completes before the Deployment is updated. Both are watched; the
	// apiserver's resource versions (one etcd) order the two events.
	dir2, objs2 := renderRelease(t, "ghcr.io/shoestring-dev/example-api:1.0.1", nil)
	migrate2 := objectName(objs2, "Job", "api-migrate-")
	require.NotEqual(t, objectName(objs1, "Job", "api-migrate-"), migrate2, "a new release is a new Job")
	list, err := dyn.Resource(deploymentsGVR).Namespace("apps").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	from := list.GetResourceVersion()
	jobWatch, err := dyn.Resource(jobsGVR).Namespace("apps").Watch(ctx, metav1.ListOptions{ResourceVersion: from})
	require.NoError(t, err)
	defer jobWatch.Stop()
	deployWatch, err := dyn.Resource(deploymentsGVR).Namespace("apps").Watch(ctx, metav1.ListOptions{ResourceVersion: from})
	require.NoError(t, err)
	defer deployWatch.Stop()
	require.NoError(t, apply(dir2))

	completedAt := firstRV(t, jobWatch, func(u *unstructured.Unstructured) bool {
		return u.GetName() == migrate2 && hasCondition(u, "Complete")
	})
	updatedAt := firstRV(t, deployWatch, func(u *unstructured.Unstructured) bool {
		c, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		return u.GetName() == "api" && len(c) > 0 && c[0].(map[string]any)["image"] == "ghcr.io/shoestring-dev/example-api:1.0.1"
	})
	t.Logf("before-Job %s completed at resourceVersion %d, Deployment api updated at %d", migrate2, completedAt, updatedAt)
	assert.Less(t, completedAt, updatedAt, "the before-Job completes before the Deployment is updated")

	// Release 3: its migration fails (kwok's simulate-fail stage): the rollout stops there and the
	// old Deployment keeps serving.
	dir3, objs3 := renderRelease(t, "ghcr.io/shoestring-dev/example-api:1.0.2", func(objs []render.Object) {
		for _, o := range objs {
			if o.Kind == "Job" && strings.HasPrefix(o.Name, "api-migrate-") {
				require.NoError(t, unstructured.SetNestedField(o.Manifest, "fail", "spec", "template", "metadata", "labels", "shoestring.dev/simulate"))
			}
		}
	})
	err = apply(dir3)
	require.Error(t, err)
	assert.True(t, render.IsJobFailed(err), "the failed before-Job stops the rollout: %v", err)
	assert.Contains(t, err.Error(), objectName(objs3, "Job", "api-migrate-"))
	d, err := client.AppsV1().Deployments("apps").Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "ghcr.io/shoestring-dev/example-api:1.0.1", d.Spec.Template.Spec.Containers[0].Image, "the Deployment was not touched")
	assert.Equal(t, int32(1), d.Status.AvailableReplicas, "the old version keeps serving")
	_, err = client.BatchV1().Jobs("apps").Get(ctx, objectName(objs3, "Job", "api-cache-warm-"), metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no after-Job of the failed release")
}

// firstRV drains a watch and returns the resource version of the first event matching ok.
func firstRV(t *testing.T, w watch.Interface, ok func(*unstructured.Unstructured) bool) int64 {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-w.ResultChan():
			require.True(t, open, "watch closed before the event")
			u, isObj := ev.Object.(*unstructured.Unstructured)
			if !isObj || !ok(u) {
				continue
			}
			rv, err := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
			require.NoError(t, err)
			return rv
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

func ptr[T any](v T) *T { return &v }
