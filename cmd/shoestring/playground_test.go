package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shoestring-dev/shoestring/internal/playground"
)

func container(cpu, mem string) corev1.Container {
	return corev1.Container{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}
}

func TestNamespaceUsageCountsWhatTheSchedulerReserves(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := container("50m", "32Mi")
	sidecar.RestartPolicy = &always
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "users", Namespace: "play-x"}, Spec: corev1.PodSpec{
			Containers:     []corev1.Container{container("100m", "128Mi"), container("50m", "64Mi")},
			InitContainers: []corev1.Container{container("500m", "16Mi"), sidecar}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		{ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "play-x"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{container("2", "1Gi")}}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{container("1", "1Gi")}}},
	}
	client := fake.NewSimpleClientset(pods[0], pods[1], pods[2])
	u, err := namespaceUsage(t.Context(), client, "play-x")
	require.NoError(t, err)
	// containers 100m+50m+50m (native sidecar) = 200m < init 500m; memory 128+64+32 = 224Mi > 16Mi.
	assert.InDelta(t, 0.5, u.CPUCores, 1e-9)
	assert.InDelta(t, 224<<20, u.MemoryBytes, 1)
}

func TestWriteList(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	writeList(&b, []playground.Stack{
		{Name: "play-a", Branch: "play/a", Created: now.Add(-26 * time.Hour)},
		{Name: "play-hand"},
	}, now)
	assert.Contains(t, b.String(), "play-a")
	assert.Contains(t, b.String(), "26h0m0s")
	assert.Contains(t, b.String(), "2026-11-22 10:00")
	assert.Contains(t, b.String(), "(none recorded)")
}

func TestPlaygroundCommandErrors(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"playground", "up", "--branch", "feature/x"}, &stderr))
	assert.Contains(t, stderr.String(), "play/<feature>")
	stderr.Reset()
	assert.Equal(t, 1, run([]string{"playground", "down", "--stack", "sandbox", "--pulumi-root", t.TempDir()}, &stderr))
	assert.Contains(t, stderr.String(), "not a playground stack")
	stderr.Reset()
	assert.Equal(t, 1, run([]string{"playground", "fly"}, &stderr))
	assert.Contains(t, stderr.String(), "want up, down, list, report or reap")
}
