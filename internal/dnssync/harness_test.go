package dnssync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/shoestring-dev/shoestring/internal/testing/cloudflarefake"
)

const (
	testToken = "test-token"
	testZone  = "example.com"
	testName  = "k.example.com"
	testOwner = "cluster-a"
)

// harness runs the controller against a Kubernetes API (fake or real) and the Cloudflare double.
type harness struct {
	t       *testing.T
	kube    kubernetes.Interface // writes the Nodes
	src     NodeSource           // what the controller reads them from
	cf      *cloudflarefake.Server
	zoneID  string
	metrics *Metrics
	ctrl    *Controller
	cfg     Config
	cancel  context.CancelFunc
	done    chan error
}

func newHarness(t *testing.T, kube kubernetes.Interface, src NodeSource, mutate func(*Config)) *harness {
	t.Helper()
	cf := cloudflarefake.New(testToken)
	t.Cleanup(cf.Close)
	if src == nil {
		src = typedNodes{kube.CoreV1().Nodes()}
	}
	h := &harness{t: t, kube: kube, src: src, cf: cf, zoneID: cf.AddZone(testZone)}
	h.metrics = NewMetrics()
	cfg := Config{
		Names:     []string{testName},
		Settings:  Settings{TTL: 120, Owner: testOwner},
		Selection: Selection{RequireReady: true, RequireSchedulable: true},
		RetryBase: 50 * time.Millisecond,
		RetryMax:  2 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h.cfg = cfg
	return h
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := NewCloudflare(ctx, CloudflareOptions{Token: testToken, BaseURL: h.cf.URL(), Zone: testZone,
		Transport: &Transport{Limiter: DefaultLimiter(), Observe: h.metrics.ObserveRequest}})
	require.NoError(h.t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{h.t}, nil))
	}
	h.ctrl, err = NewController(NewNodeCache(h.src, "", log), p, h.cfg, log, h.metrics)
	require.NoError(h.t, err)
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.ctrl.Run(ctx, 1, 5*time.Second) }()
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		require.NoError(h.t, err)
	case <-time.After(15 * time.Second):
		h.t.Error("controller did not stop within 15s of cancellation")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// ---- nodes ----

func node(name string, ready bool, addrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Status = nodeStatus(ready, addrs...)
	return n
}

func nodeStatus(ready bool, addrs ...string) corev1.NodeStatus {
	st := corev1.NodeStatus{}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	st.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, LastHeartbeatTime: metav1.Now(), Reason: "Test"}}
	for _, a := range addrs {
		typ := corev1.NodeExternalIP
		if after, ok := strings.CutPrefix(a, "internal:"); ok {
			typ, a = corev1.NodeInternalIP, after
		}
		st.Addresses = append(st.Addresses, corev1.NodeAddress{Type: typ, Address: a})
	}
	return st
}

// createNode creates a Node and sets its status through the status subresource, as a kubelet does.
func (h *harness) createNode(name string, ready bool, addrs ...string) {
	h.t.Helper()
	ctx := context.Background()
	n, err := h.kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(h.t, err)
	n.Status = nodeStatus(ready, addrs...)
	_, err = h.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	require.NoError(h.t, err)
}

func (h *harness) setStatus(name string, ready bool, addrs ...string) {
	h.t.Helper()
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		n, err := h.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		require.NoError(h.t, err)
		n.Status = nodeStatus(ready, addrs...)
		_, err = h.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		require.Less(h.t, attempt, 5, "updating node %s status: %v", name, err)
	}
}

func (h *harness) deleteNode(name string) {
	h.t.Helper()
	require.NoError(h.t, h.kube.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}))
}

// ---- records ----

// addrs lists "TYPE content" of the records at the test name, optionally only those we own.
func (h *harness) addrs(ownedOnly bool) []string {
	var out []string
	for _, r := range h.cf.Records(h.zoneID) {
		if r.Name != testName || (ownedOnly && r.Comment != OwnerComment(testOwner)) {
			continue
		}
		out = append(out, r.Type+" "+r.Content)
	}
	slices.Sort(out)
	return out
}

// waitRecords waits until the owned records at the test name are exactly want.
func (h *harness) waitRecords(timeout time.Duration, want ...string) time.Duration {
	h.t.Helper()
	slices.Sort(want)
	start := time.Now()
	deadline := time.After(timeout)
	for {
		changed := h.cf.Changed()
		if got := h.addrs(true); slices.Equal(got, want) {
			return time.Since(start)
		}
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("records did not converge within %s: have %v, want %v (requests %v)", timeout, h.addrs(false), want, h.cf.Counts(time.Time{}))
		}
	}
}

// waitIdle waits until the controller reports that no sync is pending (none queued, running,
// or waiting for a settle window, a retry or deferred deletions).
func (h *harness) waitIdle() {
	h.t.Helper()
	require.Eventually(h.t, h.ctrl.Idle, 30*time.Second, 5*time.Millisecond, "the controller never became idle")
}

// quiet waits until the controller (when in this process) is idle, then for d, and fails if any request reached the
// double meanwhile: at rest the controller makes none.
func (h *harness) quiet(d time.Duration) {
	h.t.Helper()
	if h.ctrl != nil { // else the controllers are processes, and their records are final
		h.waitIdle()
	}
	since := time.Now()
	time.Sleep(d)
	require.Empty(h.t, h.cf.Counts(since), "requests at rest")
}

// firstRequest is the first successful request of method the double answered at or after since.
func (h *harness) firstRequest(method string, since time.Time) cloudflarefake.Request {
	h.t.Helper()
	for _, r := range h.cf.Requests() {
		if r.Method == method && r.Status < 300 && !r.At.Before(since) {
			return r
		}
	}
	h.t.Fatalf("no %s since %s (requests %v)", method, since.Format(time.StampMilli), h.cf.Counts(since))
	return cloudflarefake.Request{}
}

func a(ip string) string    { return "A " + ip }
func aaaa(ip string) string { return "AAAA " + ip }

func ips(prefix string, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// typedNodes reads Nodes through client-go's typed client (the fake clientset in fast tests),
// converting them to the controller's Node through JSON like the API server's answers.
type typedNodes struct{ c corev1client.NodeInterface }

func toNode(n *corev1.Node) (Node, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return Node{}, err
	}
	var out Node
	return out, json.Unmarshal(b, &out)
}

func (t typedNodes) ListNodes(ctx context.Context, sel string) ([]Node, string, error) {
	l, err := t.c.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, "", err
	}
	var out []Node
	for i := range l.Items {
		n, err := toNode(&l.Items[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, n)
	}
	return out, l.ResourceVersion, nil
}

func (t typedNodes) WatchNodes(ctx context.Context, sel, rv string) (NodeWatch, error) {
	w, err := t.c.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: rv})
	if err != nil {
		return nil, err
	}
	return typedWatch{w}, nil
}

type typedWatch struct{ w watch.Interface }

func (t typedWatch) Next() (string, Node, error) {
	ev, ok := <-t.w.ResultChan()
	if !ok {
		return "", Node{}, io.EOF
	}
	if ev.Type == watch.Error {
		st, _ := ev.Object.(*metav1.Status)
		if st == nil {
			return "", Node{}, fmt.Errorf("watch error %v", ev.Object)
		}
		return "", Node{}, &StatusError{Code: int(st.Code), Reason: string(st.Reason), Message: st.Message}
	}
	n, ok := ev.Object.(*corev1.Node)
	if !ok {
		return "", Node{}, fmt.Errorf("watch event of %T", ev.Object)
	}
	out, err := toNode(n)
	return string(ev.Type), out, err
}

func (t typedWatch) Close() { t.w.Stop() }
