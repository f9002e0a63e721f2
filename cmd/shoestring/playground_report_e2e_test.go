package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/stacks"
)

// TestPlaygroundReportOnTheRealAPIServer: a playground stack recorded in a file backend by the real
// Pulumi CLI, its pods on the local apiserver; `shoestring playground report` prices their requests.
func TestPlaygroundReportOnTheRealAPIServer(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{})
	root := toolsDir()
	if _, err := os.Stat(filepath.Join(root, "bin", "pulumi")); err != nil {
		t.Fatalf("the Pulumi CLI is missing: run scripts/tools.sh pulumi")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	tmp := t.TempDir()
	project := filepath.Join(tmp, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "state"), 0o755))
	require.NoError(t, os.MkdirAll(project, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: shoestring\nruntime: go\n"), 0o644))
	// Spot e2-small nodes: 0.0050 USD/h for 0.5 vCPU and 2 GiB -> 0.005 per vCPU-hour, 0.00125 per GiB-hour.
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.sandbox.yaml"),
		[]byte("config:\n  shoestring:cluster:\n    gke:\n      zone: us-central1-a\n      machineType: e2-small\n      provisioning: spot\n"), 0o644))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(tmp, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "report-test")
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_HOME", filepath.Join(tmp, "pulumi-home"))

	// The playground's stack, recorded as `playground up` would (without provider resources).
	created := time.Now().Add(-10 * time.Hour)
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, SkipVersionCheck: true})
	require.NoError(t, err)
	stack, err := auto.UpsertStackInlineSource(ctx, "play-report", "shoestring", func(ctx *pulumi.Context) error {
		stacks.PlaygroundRecord{Branch: "play/report", Namespace: "play-report", Created: created}.Export(ctx)
		return nil
	}, auto.Pulumi(cmd), auto.WorkDir(tmp))
	require.NoError(t, err)
	_, err = stack.Up(ctx)
	require.NoError(t, err)

	// Its pods request 250m and 512Mi in all.
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "play-report"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	// No controller-manager in this cluster: the namespace's default ServiceAccount is made by hand.
	_, err = client.CoreV1().ServiceAccounts("play-report").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for name, req := range map[string][2]string{"api": {"200m", "384Mi"}, "worker": {"50m", "128Mi"}} {
		c := container(req[0], req[1])
		c.Name, c.Image = "app", "example/app:1"
		_, err = client.CoreV1().Pods("play-report").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	stderr := &bytes.Buffer{}
	out := captureStdout(t, func() {
		code := run([]string{"playground", "report", "--project", project, "--pulumi-root", root, "--kubeconfig", cluster.KubeconfigPath()}, stderr)
		assert.Equal(t, 0, code, stderr.String())
	})
	// 0.25 vCPU * 0.005 + 0.5 GiB * 0.00125 = 0.001875 USD/h: 1.37 USD a month (730 h), 0.02 so far.
	assert.Contains(t, out, "e2-small spot/preemptible")
	assert.Regexp(t, `play-report\s+play/report\s+10\.0\s+0\.250\s+0\.500\s+1\.37\s+0\.02`, out)
}
