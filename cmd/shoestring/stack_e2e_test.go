package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// copyProject makes a project folder with the repository's Pulumi.yaml and the given stack files.
func copyProject(t *testing.T, stacks ...string) string {
	dir := t.TempDir()
	for _, f := range append([]string{"Pulumi.yaml"}, stackFiles(stacks)...) {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	return dir
}

func stackFiles(stacks []string) []string {
	var out []string
	for _, s := range stacks {
		out = append(out, "Pulumi."+s+".yaml")
	}
	return out
}

// TestStacksAndAPlaygroundWithTheEngine drives the CLI the way users do, with the real engine and
// Kubernetes provider on a local control plane: the Kubernetes side of sandbox and prod retargeted
// at it (`up --existing-cluster`, no GKE and no Cloudflare plugin needed) and destroyed; then the dev
// stack as a base and a playground of it (`playground up --local`) whose real objects run next to
// the base's, removed again by `playground down`.
func TestStacksAndAPlaygroundWithTheEngine(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{Kwok: true})
	kc := cluster.KubeconfigPath()
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	project := copyProject(t, "dev", "sandbox", "prod")
	state := t.TempDir()
	cli := func(args ...string) (string, int) {
		var stderr bytes.Buffer
		var code int
		out := captureStdout(t, func() { code = run(args, &stderr) })
		t.Logf("shoestring %s:\n%s%s", strings.Join(args, " "), out, stderr.String())
		return out + stderr.String(), code
	}
	common := []string{"--project", project, "--state", state}

	// A GKE stack as committed sets none of its secrets: refused at once, before any plugin is
	// looked for, naming each (a retargeted run generates them instead).
	out, code := cli(append([]string{"preview", "--stack", "sandbox"}, common...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "shoestring:secrets.api.DB_PASSWORD: is referenced but not set")

	for _, stack := range []string{"sandbox", "prod"} {
		out, code = cli(append([]string{"up", "--stack", stack, "--existing-cluster", kc}, common...)...)
		require.Equal(t, 0, code, "up %s retargeted", stack)
		assert.Contains(t, out, "ready (awaited by the Kubernetes provider)")
		d, err := client.AppsV1().Deployments("apps").Get(ctx, "api", metav1.GetOptions{})
		require.NoError(t, err, "%s's api Deployment", stack)
		assert.Equal(t, d.Status.Replicas, d.Status.ReadyReplicas)
		out, code = cli(append([]string{"up", "--stack", stack, "--existing-cluster", kc}, common...)...)
		require.Equal(t, 0, code)
		assert.Contains(t, out, "no changes", "a second up of %s", stack)
		_, code = cli(append([]string{"destroy", "--stack", stack, "--existing-cluster", kc}, common...)...)
		require.Equal(t, 0, code, "destroy %s", stack)
		requireGone(ctx, t, client, "apps")
	}

	// The dev stack as a playground's base, and a playground of its api service.
	_, code = cli(append([]string{"up", "--stack", "dev", "--existing-cluster", kc}, common...)...)
	require.Equal(t, 0, code)
	pg := []string{"--local", "--state", state, "--base", "dev", "--project", project}
	_, code = cli(append([]string{"playground", "up", "--branch", "play/demo", "--services", "api", "--kubeconfig", kc}, pg...)...)
	require.Equal(t, 0, code, "playground up")
	d, err := client.AppsV1().Deployments("play-demo").Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err, "the playground's own api")
	assert.Equal(t, int32(1), d.Status.ReadyReplicas)
	_, err = client.AppsV1().Deployments("apps").Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err, "the base's api runs beside it")
	out, code = cli(append([]string{"playground", "list"}, pg...)...)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "play-demo")
	_, code = cli(append([]string{"playground", "down", "--stack", "play-demo"}, pg...)...)
	require.Equal(t, 0, code, "playground down")
	requireGone(ctx, t, client, "play-demo")
	_, err = client.AppsV1().Deployments("apps").Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err, "the base is untouched")
	_, code = cli(append([]string{"destroy", "--stack", "dev", "--existing-cluster", kc}, common...)...)
	require.Equal(t, 0, code)
}

// requireGone waits until a namespace is deleted (the engine deletes it; its finalizer runs after).
func requireGone(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s still there after destroy: %v", ns, err)
		}
		time.Sleep(time.Second)
	}
}
