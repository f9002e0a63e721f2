package dnssync

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// watchedSource is the controller's own client with its lists and watches counted, and a gate:
// while closed, a new watch waits (the controller cut off from the API server); the next watch
// can be answered 410 Gone, as the API server answers a resourceVersion it no longer has.
type watchedSource struct {
	NodeSource
	lists, watches atomic.Int32 // lists made, watches opened
	gone           atomic.Bool  // the next watch is answered 410 Gone

	mu      sync.Mutex
	gate    chan struct{} // nil: open
	waiting atomic.Bool   // a watch waits at the closed gate
	current NodeWatch
}

func (s *watchedSource) ListNodes(ctx context.Context, sel string) ([]Node, string, error) {
	s.lists.Add(1)
	return s.NodeSource.ListNodes(ctx, sel)
}

func (s *watchedSource) WatchNodes(ctx context.Context, sel, rv string) (NodeWatch, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		s.waiting.Store(true)
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.waiting.Store(false)
	}
	if s.gone.CompareAndSwap(true, false) {
		return nil, &StatusError{Code: http.StatusGone, Reason: "Expired", Message: "too old resource version: " + rv}
	}
	w, err := s.NodeSource.WatchNodes(ctx, sel, rv)
	if err == nil {
		s.mu.Lock()
		s.current = w
		s.mu.Unlock()
		s.watches.Add(1)
	}
	return w, err
}

// cut ends the current watch and holds the next one until reconnect.
func (s *watchedSource) cut() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	w := s.current
	s.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

func (s *watchedSource) reconnect() {
	s.mu.Lock()
	close(s.gate)
	s.gate = nil
	s.mu.Unlock()
}

// neverEmpty fails the test if the owned records at the test name are ever none after they
// were first there (a wipe), for as long as the test runs.
func neverEmpty(t *testing.T, h *harness) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ch := h.cf.Changed()
			if len(h.addrs(true)) == 0 {
				t.Errorf("the name had no record (a wipe)")
				return
			}
			select {
			case <-ch:
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// TestKubeClientResumesRealAPIServer proves, on a real kube-apiserver, what client-go's reflector
// would give the controller's own client: a watch that ends (the server's timeout, an apiserver
// restart) resumes from its resourceVersion without listing again and without a request to
// Cloudflare; a watch answered 410 Gone lists again and converges on what changed meanwhile; a
// token file rotated on disk is read again. Needs SHOESTRING_E2E=1.
func TestKubeClientResumesRealAPIServer(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{})
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	ctx := context.Background()
	clean := func(t *testing.T) {
		require.NoError(t, kube.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
		require.Eventually(t, func() bool {
			l, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err == nil && len(l.Items) == 0
		}, 10*time.Second, 50*time.Millisecond)
	}
	client := func(t *testing.T, kubeconfig string) *watchedSource {
		kc, err := NewKubeClient(kubeconfig)
		require.NoError(t, err)
		kc.WatchTimeout = time.Second // the server ends every watch after a second
		return &watchedSource{NodeSource: kc}
	}

	t.Run("watches that end resume without a list or a Cloudflare request", func(t *testing.T) {
		clean(t)
		src := client(t, cluster.KubeconfigPath())
		h := newHarness(t, kube, src, nil)
		h.createNode("n0", true, "192.0.2.1")
		h.createNode("n1", true, "192.0.2.2")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"))
		h.waitIdle()
		neverEmpty(t, h)
		since := time.Now()
		watches := src.watches.Load()
		require.Eventually(t, func() bool { return src.watches.Load() >= watches+3 }, 30*time.Second, 20*time.Millisecond,
			"the server ended three watches and the cache watched again")
		assert.Equal(t, int32(1), src.lists.Load(), "no list after the first: each watch resumed from its resourceVersion")
		assert.Empty(t, h.cf.Counts(since), "no Cloudflare request while watches ended and resumed (no resync, no wipe)")
		since = time.Now()
		h.setStatus("n1", true, "192.0.2.22")
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.22"))
		assert.Equal(t, map[string]int{"GET 200": 1, "PUT 200": 1}, h.cf.Counts(since), "the change after the resumed watches: one list, one update")
	})

	t.Run("a watch answered 410 Gone lists again and converges", func(t *testing.T) {
		clean(t)
		src := client(t, cluster.KubeconfigPath())
		src.NodeSource.(*KubeClient).WatchTimeout = 0 // one long watch, cut by the test
		h := newHarness(t, kube, src, nil)
		for i, ip := range ips("192.0.2.", 3) {
			h.createNode(nodeName(i), true, ip)
		}
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
		h.waitIdle()
		neverEmpty(t, h)
		// The cache lists, then watches: the records may be there before its watch is.
		require.Eventually(t, func() bool { return src.watches.Load() > 0 }, 10*time.Second, 5*time.Millisecond, "the cache watches")
		src.cut()
		require.Eventually(t, src.waiting.Load, 10*time.Second, 5*time.Millisecond, "the cache tries to watch again")
		// While the controller is cut off: one node's IP changes, one node leaves, one joins.
		h.setStatus("n1", true, "192.0.2.22")
		h.deleteNode("n2")
		h.createNode("n3", true, "192.0.2.4")
		// It comes back with a resourceVersion the API server no longer has (after etcd's
		// compaction): 410 Gone. kube-apiserver 1.37 serves a watch from an old resourceVersion
		// from etcd while etcd still has it, and compacting etcd by hand did not make it answer
		// 410 either, so the answer is given at the client's edge; the list that follows and
		// everything after it are the real API server's.
		src.gone.Store(true)
		src.reconnect()
		h.waitRecords(20*time.Second, a("192.0.2.1"), a("192.0.2.22"), a("192.0.2.4"))
		assert.Equal(t, int32(2), src.lists.Load(), "the 410 made the cache list again, once")
		deletes := 0
		for _, r := range h.cf.Requests() {
			if r.Method == http.MethodDelete {
				deletes++
			}
		}
		assert.Equal(t, 0, deletes, "the IPs of the node that left and the one that joined: one record updated in place, none deleted")
	})

	t.Run("a rotated token file is read again", func(t *testing.T) {
		clean(t)
		// Two service accounts allowed to read Nodes; the controller starts with a token of the
		// first, the file is then rotated to a token of the second and the first is revoked.
		_, err := kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "dnssync-token-test"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		tokens := map[string]string{}
		for _, sa := range []string{"dnssync-old", "dnssync-new"} {
			_, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
			require.NoError(t, err)
			_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "dnssync-token-test"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: "default"}}}, metav1.CreateOptions{})
			require.NoError(t, err)
			hour := int64(3600)
			tr, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa,
				&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
			require.NoError(t, err)
			tokens[sa] = tr.Status.Token
		}
		dir := t.TempDir()
		tokenPath := filepath.Join(dir, "token")
		writeToken := func(tok string) {
			// As the kubelet does: the new file appears at once, whole.
			require.NoError(t, os.WriteFile(tokenPath+".new", []byte(tok), 0o600))
			require.NoError(t, os.Rename(tokenPath+".new", tokenPath))
		}
		writeToken(tokens["dnssync-old"])
		rc := cluster.RESTConfig()
		caPath := filepath.Join(dir, "ca.crt")
		require.NoError(t, os.WriteFile(caPath, rc.CAData, 0o600))
		kubeconfig := filepath.Join(dir, "kubeconfig")
		require.NoError(t, os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
current-context: sa
contexts: [{name: sa, context: {cluster: local, user: sa}}]
clusters: [{name: local, cluster: {server: %q, certificate-authority: ca.crt}}]
users: [{name: sa, user: {tokenFile: token}}]
`, rc.Host), 0o600))

		src := client(t, kubeconfig)
		h := newHarness(t, kube, src, nil)
		h.createNode("n0", true, "192.0.2.1")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"))

		writeToken(tokens["dnssync-new"])
		require.NoError(t, kube.CoreV1().ServiceAccounts("default").Delete(ctx, "dnssync-old", metav1.DeleteOptions{}))
		old, err := NewKubeClient(kubeconfig)
		require.NoError(t, err)
		old.token = func() (string, error) { return tokens["dnssync-old"], nil }
		require.Eventually(t, func() bool {
			_, _, err := old.ListNodes(ctx, "")
			return statusCode(err) == http.StatusUnauthorized
		}, 30*time.Second, 100*time.Millisecond, "the old token is refused once its service account is gone")

		// The server ends the controller's watch within a second; its next watch must use the
		// token now in the file (the cached one is refused), well before the minute after which
		// the file is read again anyway.
		h.setStatus("n0", true, "192.0.2.9")
		h.waitRecords(30*time.Second, a("192.0.2.9"))
	})

	t.Run("an apiserver restart: the watch resumes without a Cloudflare request", func(t *testing.T) {
		clean(t)
		src := client(t, cluster.KubeconfigPath())
		src.NodeSource.(*KubeClient).WatchTimeout = 0
		h := newHarness(t, kube, src, nil)
		h.createNode("n0", true, "192.0.2.1")
		h.createNode("n1", true, "192.0.2.2")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"))
		h.waitIdle()
		neverEmpty(t, h)
		since := time.Now()
		watches := src.watches.Load()
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		require.NoError(t, cluster.RestartAPIServer(rctx))
		require.Eventually(t, func() bool { return src.watches.Load() > watches }, 60*time.Second, 20*time.Millisecond,
			"the cache watches the restarted apiserver")
		h.waitIdle()
		assert.Empty(t, h.cf.Counts(since), "no Cloudflare request across the restart (no resync, no wipe)")
		h.setStatus("n1", true, "192.0.2.22")
		h.waitRecords(60*time.Second, a("192.0.2.1"), a("192.0.2.22"))
	})
}
