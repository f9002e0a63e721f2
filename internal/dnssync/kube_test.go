package dnssync

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeKubeconfig(t *testing.T, server string, caPEM []byte, user string) string {
	t.Helper()
	ca := ""
	if caPEM != nil {
		ca = "    certificate-authority: ca.pem\n" // relative to the kubeconfig's folder
	}
	dir := t.TempDir()
	if caPEM != nil {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o600))
	}
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\nclusters:\n- name: k\n  cluster:\n    server: %s\n%susers:\n- name: u\n  user:\n%s", server, ca, user)
	path := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(kc), 0o600))
	return path
}

const fullNode = `{"kind":"Node","apiVersion":"v1","metadata":{"name":"%s","resourceVersion":"%s","labels":{"a":"b"},"managedFields":[{"manager":"kubelet"}]},
"spec":{"podCIDR":"10.0.0.0/24"},"status":{"capacity":{"cpu":"2"},"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True","reason":"KubeletReady","lastHeartbeatTime":"2026-01-01T00:00:00Z"}],
"addresses":[{"type":"InternalIP","address":"10.0.0.1"},{"type":"ExternalIP","address":"%s"}],"images":[{"names":["x"],"sizeBytes":1}]}}`

// fakeAPI serves /api/v1/nodes: a list, then one watch that sends a change, a bookmark and a 410;
// the next list has another node.
type fakeAPI struct {
	mu     sync.Mutex
	lists  int
	tokens []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tokens = append(f.tokens, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.URL.Path != "/api/v1/nodes" {
		http.Error(w, `{"kind":"Status","code":404,"reason":"NotFound","message":"no"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("watch") == "true" {
		if r.URL.Query().Get("resourceVersion") != "10" {
			fmt.Fprint(w, `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}`)
			return
		}
		fmt.Fprintf(w, `{"type":"MODIFIED","object":%s}`+"\n", fmt.Sprintf(fullNode, "n0", "11", "192.0.2.9"))
		fmt.Fprint(w, `{"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"12"}}}`+"\n")
		return // the watch ends; the cache watches again from 12, gets 410 and lists again
	}
	f.mu.Lock()
	f.lists++
	n := f.lists
	f.mu.Unlock()
	if n == 1 {
		fmt.Fprintf(w, `{"kind":"NodeList","metadata":{"resourceVersion":"10"},"items":[%s]}`, fmt.Sprintf(fullNode, "n0", "5", "192.0.2.1"))
		return
	}
	fmt.Fprintf(w, `{"kind":"NodeList","metadata":{"resourceVersion":"20"},"items":[%s,%s]}`,
		fmt.Sprintf(fullNode, "n0", "11", "192.0.2.9"), fmt.Sprintf(fullNode, "n1", "19", "192.0.2.2"))
}

func TestKubeClientAndNodeCache(t *testing.T) {
	api := &fakeAPI{}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kc, err := NewKubeClient(writeKubeconfig(t, srv.URL, caPEM, "    token: sekret\n"))
	require.NoError(t, err)

	nodes, rv, err := kc.ListNodes(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, "10", rv)
	require.Len(t, nodes, 1)
	n := nodes[0]
	assert.Equal(t, "n0", n.Metadata.Name)
	assert.Equal(t, []NodeCondition{{"MemoryPressure", "False"}, {"Ready", "True"}}, n.Status.Conditions)
	assert.Equal(t, []NodeAddress{{"InternalIP", "10.0.0.1"}, {"ExternalIP", "192.0.2.1"}}, n.Status.Addresses)
	assert.True(t, Selection{RequireReady: true}.Qualifies(&n))
	api.mu.Lock()
	api.lists = 0 // the cache's first list sees the same single node
	api.mu.Unlock()

	// The cache lists, follows the watch, lists again after 410 and reports every change.
	var mu sync.Mutex
	var events []string
	cache := NewNodeCache(kc, "", testLogger(t))
	cache.OnChange = func(old, new *Node) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case old == nil:
			events = append(events, "add "+new.Metadata.Name)
		case new == nil:
			events = append(events, "delete "+old.Metadata.Name)
		default:
			events = append(events, "update "+new.Metadata.Name+" "+Selection{}.Fingerprint(new))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cache.Start(ctx)
	require.True(t, cache.WaitSynced(ctx))
	require.Eventually(t, func() bool { return len(cache.List()) == 2 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-cache.Done()
	mu.Lock()
	assert.Equal(t, []string{"add n0", "update n0 192.0.2.9,", "add n1"}, events)
	mu.Unlock()
	for _, tok := range api.tokens {
		assert.Equal(t, "Bearer sekret", tok)
	}
}

func TestKubeconfigErrors(t *testing.T) {
	_, err := NewKubeClient(writeKubeconfig(t, "https://127.0.0.1:1", nil, "    exec:\n      command: gke-gcloud-auth-plugin\n"))
	require.ErrorContains(t, err, `user "u" authenticates with an exec plugin or auth provider, which dnssync does not run; use a token`)
	_, err = NewKubeClient(writeKubeconfig(t, "ftp://x", nil, "    token: t\n"))
	require.ErrorContains(t, err, `kubernetes server "ftp://x" is not an http(s) URL`)
	path := writeKubeconfig(t, "https://127.0.0.1:1", nil, "    token: t\n")
	b, _ := os.ReadFile(path)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), "current-context: c", "current-context: nope", 1)), 0o600))
	_, err = NewKubeClient(path)
	require.ErrorContains(t, err, `current-context "nope" is not among its contexts`)
	_, err = NewKubeClient(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "--kubeconfig")
}

// A token file is read again as soon as the API server refuses the token it held (rotated early,
// revoked), not only after the minute it is otherwise kept.
func TestRefusedTokenFileIsReadAgain(t *testing.T) {
	var accepted atomicString
	accepted.set("Bearer old")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != accepted.get() {
			http.Error(w, `{"kind":"Status","code":401,"reason":"Unauthorized","message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"kind":"NodeList","metadata":{"resourceVersion":"1"},"items":[]}`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenPath, []byte("old\n"), 0o600))
	kc, err := NewKubeClient(writeKubeconfig(t, srv.URL, nil, "    tokenFile: "+tokenPath+"\n"))
	require.NoError(t, err)
	_, _, err = kc.ListNodes(context.Background(), "")
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(tokenPath, []byte("new\n"), 0o600))
	accepted.set("Bearer new")
	_, _, err = kc.ListNodes(context.Background(), "")
	require.Equal(t, http.StatusUnauthorized, statusCode(err), "the cached token is refused: %v", err)
	_, _, err = kc.ListNodes(context.Background(), "")
	require.NoError(t, err, "after a 401 the next request reads the file again")
}

type atomicString struct {
	mu sync.Mutex
	s  string
}

func (a *atomicString) set(s string) { a.mu.Lock(); a.s = s; a.mu.Unlock() }
func (a *atomicString) get() string  { a.mu.Lock(); defer a.mu.Unlock(); return a.s }
