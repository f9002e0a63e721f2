package localcluster

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestKwokConfigHasEveryStage(t *testing.T) {
	cfg, err := kwokConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete", "pod-simulate-fail", "pv-bind", "pv-delete", "pvc-provision", "pvc-delete"} {
		if !strings.Contains(string(cfg), "name: "+name+"\n") {
			t.Errorf("kwok config lacks Stage %s", name)
		}
	}
	if n := strings.Count(string(cfg), "---\n"); n != 10 {
		t.Errorf("want 10 documents, got %d", n)
	}
}

func TestBusyPortIsFoundInLogs(t *testing.T) {
	log := `{"level":"fatal","msg":"listen tcp 127.0.0.1:43125: bind: address already in use"}`
	if got := busyPort(log); got != 43125 {
		t.Fatalf("busyPort = %d", got)
	}
	if got := busyPort("all fine"); got != 0 {
		t.Fatalf("busyPort = %d", got)
	}
}

func TestMissingBinaryNamesItAndTheFix(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start succeeded without binaries")
	}
	for _, want := range []string{"etcd not found", "make tools"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// fakeBins is a bin folder whose binaries are all present but never start successfully.
func fakeBins(t *testing.T) string {
	dir := t.TempDir()
	for _, n := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\necho \"$0: simulated crash\" >&2\nexit 3\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCrashingBinaryIsReportedWithItsLog(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(context.Background(), Options{BinDir: fakeBins(t), Dir: dir})
	if err == nil {
		t.Fatal("Start succeeded with crashing binaries")
	}
	if !strings.Contains(err.Error(), "etcd exited before etcd to be healthy") || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("error %q should name etcd and quote its log", err)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !os.IsNotExist(err) {
		t.Errorf("a failed start left %s behind", stateFile)
	}
}

func TestBusyAPIServerPortIsAClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{BinDir: fakeBins(t), APIServerPort: port})
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(port)+" on 127.0.0.1 is busy") {
		t.Fatalf("want a busy-port error, got %v", err)
	}
}

// processesOf lists the live processes a cluster's state names.
func processesOf(t *testing.T, c *Cluster) []ProcessState {
	var live []ProcessState
	for _, p := range c.State().Processes {
		if pidAlive(p.PID, p.Binary, c.Dir()) {
			live = append(live, p)
		}
	}
	return live
}

func TestTwoClustersAtOnceAndCleanStop(t *testing.T) {
	SkipUnlessE2E(t)
	var wg sync.WaitGroup
	clusters := make([]*Cluster, 2)
	errs := make([]error, 2)
	for i := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			clusters[i], errs[i] = Start(ctx, Options{Dir: t.TempDir()})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("cluster %d: %v", i, err)
		}
		defer clusters[i].Stop()
	}
	if clusters[0].State().APIPort == clusters[1].State().APIPort {
		t.Fatal("both clusters got the same port")
	}
	// Each is its own cluster: a namespace created in one does not exist in the other.
	ctx := context.Background()
	a, _ := kubernetes.NewForConfig(clusters[0].RESTConfig())
	b, _ := kubernetes.NewForConfig(clusters[1].RESTConfig())
	if _, err := a.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CoreV1().Namespaces().Get(ctx, "only-in-a", metav1.GetOptions{}); err == nil {
		t.Fatal("namespace of cluster a visible in cluster b")
	}
	// The kubeconfig file works for clients that only read it.
	cfg, err := clientcmd.BuildConfigFromFlags("", clusters[1].KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	kc, _ := kubernetes.NewForConfig(cfg)
	if _, err := kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("kubeconfig client: %v", err)
	}

	// ForTest hands out a running cluster named by ReuseEnv, never stopping or restarting it.
	t.Run("reuse", func(t *testing.T) {
		t.Setenv(ReuseEnv, clusters[1].KubeconfigPath())
		reused := ForTest(t, Options{Kwok: true})
		rc, _ := kubernetes.NewForConfig(reused.RESTConfig())
		if _, err := rc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("reused cluster: %v", err)
		}
		if err := reused.RestartAPIServer(ctx); err == nil || !strings.Contains(err.Error(), ReuseEnv) {
			t.Fatalf("RestartAPIServer of a reused cluster: %v", err)
		}
		if err := reused.Stop(); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := b.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("stopping the reused handle stopped cluster b: %v", err)
	}

	// RestartAPIServer keeps etcd's data.
	if err := clusters[0].RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CoreV1().Namespaces().Get(ctx, "only-in-a", metav1.GetOptions{}); err != nil {
		t.Fatalf("after apiserver restart: %v", err)
	}

	live := processesOf(t, clusters[0])
	if len(live) != 2 {
		t.Fatalf("want etcd and kube-apiserver running, got %+v", live)
	}
	if err := clusters[0].Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range live {
		if pidAlive(p.PID, p.Binary, clusters[0].Dir()) {
			t.Errorf("%s (pid %d) still running after Stop", p.Name, p.PID)
		}
	}
	if _, err := b.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("stopping cluster a broke cluster b: %v", err)
	}
}

func TestKwokRunsJobsToCompletionOrFailure(t *testing.T) {
	c := ForTest(t, Options{Kwok: true, KwokNodes: 2})
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 2 {
		t.Fatalf("want 2 nodes, got %d", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		if !nodeReady(&n) || len(n.Spec.Taints) != 0 {
			t.Errorf("node %s: ready=%v taints=%v", n.Name, nodeReady(&n), n.Spec.Taints)
		}
	}

	// A claim without a class gets the default one, which kwok binds.
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got, err := cs.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
			if err == nil && got.Status.Phase == corev1.ClaimBound {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("claim never bound: %v %+v", err, got.Status)
				return
			}
		}
	}()

	job := func(name string, labels map[string]string) *batchv1.Job {
		zero := int32(0)
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: batchv1.JobSpec{
				BackoffLimit: &zero,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
					},
				},
			},
		}
	}
	for _, j := range []*batchv1.Job{job("succeeds", nil), job("fails", map[string]string{SimulateLabel: "fail"})} {
		if _, err := cs.BatchV1().Jobs("default").Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]batchv1.JobConditionType{"succeeds": batchv1.JobComplete, "fails": batchv1.JobFailed}
	deadline := time.Now().Add(90 * time.Second)
	for name, cond := range want {
		for {
			j, err := cs.BatchV1().Jobs("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if hasCondition(j, cond) {
				break
			}
			if other := map[batchv1.JobConditionType]batchv1.JobConditionType{batchv1.JobComplete: batchv1.JobFailed, batchv1.JobFailed: batchv1.JobComplete}[cond]; hasCondition(j, other) {
				t.Fatalf("job %s ended %s, want %s", name, other, cond)
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s never reached %s: %+v", name, cond, j.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func hasCondition(j *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// Tests that create bare Nodes (DNS sync) flip their conditions themselves: the control plane must
// not taint them (TaintNodesByCondition at creation, node-lifecycle later) unless asked to.
func TestBareNodesStayUntainted(t *testing.T) {
	c := ForTest(t, Options{Controllers: true})
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Test","lastHeartbeatTime":"2020-01-01T00:00:00Z"}],"addresses":[{"type":"ExternalIP","address":"192.0.2.7"}]}}`
	if _, err := cs.CoreV1().Nodes().Patch(ctx, "bare", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	got, err := cs.CoreV1().Nodes().Get(ctx, "bare", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.Taints) != 0 || nodeReady(got) {
		t.Fatalf("bare node: taints %v ready %v", got.Spec.Taints, nodeReady(got))
	}
}
