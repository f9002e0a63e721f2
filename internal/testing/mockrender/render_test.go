package mockrender

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden renders in testdata/golden")

// Stacks are the committed stack files, rendered into goldens.
var Stacks = []string{"dev", "sandbox", "prod"}

func goldenDir(stack string) string { return filepath.Join("testdata", "golden", stack) }

func TestGoldenRenders(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			r, err := StackFile(filepath.Join("..", "..", "..", "Pulumi."+stack+".yaml"), stack)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.RemoveAll(goldenDir(stack)); err != nil {
					t.Fatal(err)
				}
				if err := r.Write(goldenDir(stack)); err != nil {
					t.Fatal(err)
				}
				return
			}
			got := t.TempDir()
			if err := r.Write(got); err != nil {
				t.Fatal(err)
			}
			if diff := diffTrees(goldenDir(stack), got); diff != "" {
				t.Errorf("render of %s differs from its golden (left: golden, right: now); if the change is intended, run `make render-golden` and commit the result:\n%s", stack, diff)
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		r, err := StackFile(filepath.Join("..", "..", "..", "Pulumi.prod.yaml"), "prod")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	if d := diffTrees(a, b); d != "" {
		t.Fatalf("two renders of the same stack differ:\n%s", d)
	}
}

// A program with a release Job that a Deployment depends on, a ConfigMap both use through an
// input, and a Secret: the waves keep the program's order, secrets never reach the files.
func TestOrderFollowsDependenciesAndSecretsArePlaceholders(t *testing.T) {
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		ns, err := corev1.NewNamespace(ctx, "ns", &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("app")}})
		if err != nil {
			return err
		}
		cm, err := corev1.NewConfigMap(ctx, "cm", &corev1.ConfigMapArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("common"), Namespace: ns.Metadata.Name()},
			Data:     pulumi.StringMap{"A": pulumi.String("1")},
		})
		if err != nil {
			return err
		}
		if _, err := corev1.NewSecret(ctx, "secret", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String("api"), Namespace: pulumi.String("app")},
			StringData: pulumi.StringMap{"TOKEN": pulumi.ToSecret(pulumi.String("real-token")).(pulumi.StringOutput)},
			Data:       pulumi.StringMap{"KEY": pulumi.ToSecret(pulumi.String("cmVhbA==")).(pulumi.StringOutput)},
		}); err != nil {
			return err
		}
		podSpec := &corev1.PodSpecArgs{
			RestartPolicy: pulumi.String("Never"),
			Containers: corev1.ContainerArray{&corev1.ContainerArgs{
				Name: pulumi.String("main"), Image: pulumi.String("app:1"),
				EnvFrom: corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: cm.Metadata.Name()}}},
			}},
		}
		migrate, err := batchv1.NewJob(ctx, "migrate", &batchv1.JobArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("migrate-1"), Namespace: pulumi.String("app")},
			Spec:     &batchv1.JobSpecArgs{Template: &corev1.PodTemplateSpecArgs{Spec: podSpec}},
		})
		if err != nil {
			return err
		}
		_, err = appsv1.NewDeployment(ctx, "api", &appsv1.DeploymentArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("api"), Namespace: pulumi.String("app")},
			Spec: &appsv1.DeploymentSpecArgs{
				Replicas: pulumi.Int(2),
				Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app": pulumi.String("api")}},
				Template: &corev1.PodTemplateSpecArgs{
					Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.StringMap{"app": pulumi.String("api")}},
					Spec:     &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{Name: pulumi.String("api"), Image: pulumi.String("app:1")}}},
				},
			},
		}, pulumi.DependsOn([]pulumi.Resource{migrate}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := FromRecord("test", rec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range r.Order.Objects {
		got = append(got, fmt.Sprintf("%s after %v", o.Ref(), o.DependsOn))
	}
	want := []string{
		"Namespace app after []",
		"ConfigMap app/common after [manifests/_cluster/namespace-app.yaml]",
		"Secret app/api after [manifests/_cluster/namespace-app.yaml]",
		"Job app/migrate-1 after [manifests/_cluster/namespace-app.yaml manifests/app/configmap-common.yaml]",
		// The SDK records the Job's own dependencies as the Deployment's too.
		"Deployment app/api after [manifests/_cluster/namespace-app.yaml manifests/app/configmap-common.yaml manifests/app/job-migrate-1.yaml]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "manifests", "app", "secret-api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(secret), "real-token") || strings.Contains(string(secret), "cmVhbA==") ||
		!strings.Contains(string(secret), "TOKEN: "+stacks.SecretPlaceholder) {
		t.Fatalf("secret manifest:\n%s", secret)
	}
	dep, _ := os.ReadFile(filepath.Join(dir, "manifests", "app", "deployment-api.yaml"))
	for _, want := range []string{"apiVersion: apps/v1\n", "kind: Deployment\n", "replicas: 2\n", "namespace: app\n"} {
		if !strings.Contains(string(dep), want) {
			t.Errorf("deployment manifest lacks %q:\n%s", want, dep)
		}
	}
	order, err := ReadOrder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(order.Objects) != 5 || order.Objects[4].DependsOn[0] != "manifests/_cluster/namespace-app.yaml" {
		t.Fatalf("order.json: %+v", order)
	}
}

func TestTypeTokens(t *testing.T) {
	cases := map[string]string{
		"kubernetes:apps/v1:Deployment":                       "apps/v1 Deployment",
		"kubernetes:core/v1:Service":                          "v1 Service",
		"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "rbac.authorization.k8s.io/v1 ClusterRole",
		"kubernetes:batch/v1:CronJob":                         "batch/v1 CronJob",
		"pulumi:providers:kubernetes":                         "",
		"gcp:container/cluster:Cluster":                       "",
	}
	for token, want := range cases {
		v, k, ok, err := kubernetesType(token)
		if err != nil || (want == "") == ok || (ok && v+" "+k != want) {
			t.Errorf("%s: %q %q %v %v, want %q", token, v, k, ok, err, want)
		}
	}
	for _, bad := range []string{"kubernetes:helm.sh/v3:Release", "kubernetes:apps/v1:DeploymentPatch", "kubernetes:yaml:ConfigFile"} {
		if _, _, _, err := kubernetesType(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

// diffTrees compares two folders file by file and returns a readable report ("" if equal).
func diffTrees(want, got string) string {
	files := func(root string) map[string]string {
		out := map[string]string{}
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = string(b)
			return nil
		})
		return out
	}
	w, g := files(want), files(got)
	names := map[string]bool{}
	for n := range w {
		names[n] = true
	}
	for n := range g {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, n := range sorted {
		wv, inW := w[n]
		gv, inG := g[n]
		switch {
		case !inW:
			fmt.Fprintf(&b, "+++ new file %s\n", n)
		case !inG:
			fmt.Fprintf(&b, "--- missing file %s\n", n)
		case wv != gv:
			fmt.Fprintf(&b, "~~~ %s\n%s", n, lineDiff(wv, gv))
		}
	}
	return b.String()
}

// lineDiff is a minimal line diff (longest common subsequence), "-" golden, "+" now.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&out, "  +%d: %s\n", j+1, y[j])
			j++
		default:
			fmt.Fprintf(&out, "  -%d: %s\n", i+1, x[i])
			i++
		}
	}
	return out.String()
}
