package render

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kmeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/pulumimock"
)

func renderStack(t *testing.T, stack string) string {
	t.Helper()
	r, err := StackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"), stack)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every object of every stack passes the real apiserver's validation and admission.
func TestEveryRenderedObjectIsAcceptedByTheAPIServer(t *testing.T) {
	c := localcluster.ForTest(t, localcluster.Options{})
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			dir := renderStack(t, stack)
			var log strings.Builder
			err := Apply(context.Background(), c.RESTConfig(), dir, ApplyOptions{DryRun: true, CreateNamespaces: true, Progress: &log})
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			order, _ := ReadOrder(dir)
			if got := strings.Count(log.String(), "\napply: "); got+1 < len(order.Objects) {
				t.Fatalf("only %d of %d objects reported:\n%s", got+1, len(order.Objects), log.String())
			}
		})
	}
}

// The dev stack, as `make up` deploys it: applied with waiting, every workload ready on kwok nodes,
// and a second apply changes nothing.
func TestDevStackBecomesReadyOnKwokNodes(t *testing.T) {
	c := localcluster.ForTest(t, localcluster.Options{Kwok: true})
	dir := renderStack(t, "dev")
	ctx := context.Background()
	var log strings.Builder
	if err := Apply(ctx, c.RESTConfig(), dir, ApplyOptions{Wait: true, Timeout: 3 * time.Minute, Progress: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	order, err := ReadOrder(dir)
	if err != nil {
		t.Fatal(err)
	}
	generations := map[string]int64{}
	for _, o := range order.Objects {
		if !Awaited(o.APIVersion, o.Kind) {
			continue
		}
		a, err := newApplier(c.RESTConfig(), ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := readManifest(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		ri, err := a.resource(u)
		if err != nil {
			t.Fatal(err)
		}
		live, err := ri.Get(ctx, o.Name, kmeta.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if done, note, err := Ready(live); !done || err != nil {
			t.Errorf("%s not ready after apply --wait: %s %v", o.Ref(), note, err)
		}
		generations[o.Ref()] = live.GetGeneration()
	}
	if len(generations) == 0 {
		t.Fatal("the dev stack has no workload to wait for")
	}
	// Every pod of the stack runs on a simulated node.
	for _, ns := range namespacesOf(order) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, kmeta.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if !strings.HasPrefix(p.Spec.NodeName, "kwok-node-") {
				t.Errorf("pod %s/%s on node %q", ns, p.Name, p.Spec.NodeName)
			}
		}
	}

	// Idempotent: the same render applied again leaves every object's generation unchanged.
	if err := Apply(ctx, c.RESTConfig(), dir, ApplyOptions{Wait: true, Timeout: time.Minute}); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	for _, o := range order.Objects {
		if g, ok := generations[o.Ref()]; ok {
			a, _ := newApplier(c.RESTConfig(), ApplyOptions{})
			u, _ := readManifest(dir, o)
			ri, _ := a.resource(u)
			live, err := ri.Get(ctx, o.Name, kmeta.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if live.GetGeneration() != g {
				t.Errorf("%s: generation %d -> %d after re-applying the same render", o.Ref(), g, live.GetGeneration())
			}
		}
	}

	var summary strings.Builder
	if err := Summary(ctx, c.RESTConfig(), order, &summary); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary.String(), "kwok-node-") {
		t.Errorf("summary names no node:\n%s", summary.String())
	}
}

func namespacesOf(o *Order) []string {
	seen := map[string]bool{}
	var out []string
	for _, obj := range o.Objects {
		if obj.Namespace != "" && !seen[obj.Namespace] {
			seen[obj.Namespace] = true
			out = append(out, obj.Namespace)
		}
	}
	return out
}

// A release Job that fails stops the apply before the Deployment that depends on it.
func TestFailedJobStopsTheApply(t *testing.T) {
	c := localcluster.ForTest(t, localcluster.Options{Kwok: true, KwokNodes: 1})
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		ns, err := corev1.NewNamespace(ctx, "ns", &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("release")}})
		if err != nil {
			return err
		}
		job, err := batchv1.NewJob(ctx, "migrate", &batchv1.JobArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("migrate"), Namespace: ns.Metadata.Name().Elem()},
			Spec: &batchv1.JobSpecArgs{
				BackoffLimit: pulumi.Int(0),
				Template: &corev1.PodTemplateSpecArgs{
					Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.StringMap{localcluster.SimulateLabel: pulumi.String("fail")}},
					Spec: &corev1.PodSpecArgs{
						RestartPolicy: pulumi.String("Never"),
						Containers:    corev1.ContainerArray{&corev1.ContainerArgs{Name: pulumi.String("migrate"), Image: pulumi.String("app:1")}},
					},
				},
			},
		})
		if err != nil {
			return err
		}
		labels := pulumi.StringMap{"app": pulumi.String("api")}
		_, err = appsv1.NewDeployment(ctx, "api", &appsv1.DeploymentArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("api"), Namespace: pulumi.String("release")},
			Spec: &appsv1.DeploymentSpecArgs{
				Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
				Template: &corev1.PodTemplateSpecArgs{
					Metadata: &metav1.ObjectMetaArgs{Labels: labels},
					Spec:     &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{Name: pulumi.String("api"), Image: pulumi.String("app:1")}}},
				},
			},
		}, pulumi.DependsOn([]pulumi.Resource{job}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := FromRecord("test", rec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	err = Apply(context.Background(), c.RESTConfig(), dir, ApplyOptions{Wait: true, Timeout: 2 * time.Minute})
	if !IsJobFailed(err) || !strings.Contains(err.Error(), "Job release/migrate failed") || !strings.Contains(err.Error(), "kubectl logs -n release job/migrate") {
		t.Fatalf("want a failed-Job error naming it and its logs, got %v", err)
	}
	cs, _ := kubernetes.NewForConfig(c.RESTConfig())
	if _, err := cs.AppsV1().Deployments("release").Get(context.Background(), "api", kmeta.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the Deployment after the failed Job was applied anyway (get: %v)", err)
	}
}
