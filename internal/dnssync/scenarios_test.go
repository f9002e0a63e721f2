package dnssync

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shoestring-dev/shoestring/internal/testing/cloudflarefake"
)

// The acceptance scenarios. They run against client-go's fake clientset here (fast, every
// `go test`) and against a real kube-apiserver in e2e_test.go (SHOESTRING_E2E=1).
var scenarios = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"converge on 3 nodes", func(t *testing.T, h *harness) {
		for i, ip := range ips("192.0.2.", 3) {
			h.createNode(nodeName(i), true, ip, "internal:10.0.0.1")
		}
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
		h.quiet(time.Second)
		assert.Equal(t, 3, h.cf.Writes(time.Time{}), "three creates")
	}},
	{"a node's IP replaced ten times: one write each", func(t *testing.T, h *harness) {
		h.createNode("n0", true, "192.0.2.1")
		h.createNode("n1", true, "192.0.2.2")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"))
		for i := 0; i < 10; i++ {
			since := time.Now()
			ip := "198.51.100." + itoa(10+i)
			h.setStatus("n1", true, ip)
			h.waitRecords(10*time.Second, a("192.0.2.1"), a(ip))
			c := h.cf.Counts(since)
			// One in-place update; before writing, one list, so a record made since the last one
			// (by hand, by another owner) is never written over or duplicated.
			assert.Equal(t, map[string]int{"GET 200": 1, "PUT 200": 1}, c, "change %d: one list and one in-place update, nothing else", i)
		}
		h.quiet(time.Second)
	}},
	// With a long coalescing window, a change that is not part of a burst must not wait for it.
	// The bounds are far above the few milliseconds a sync takes, and far below the window.
	{"a node Ready after a held sync is written at once", func(t *testing.T, h *harness) {
		h.cfg.Coalesce = 9 * time.Second
		h.createNode("n0", false, "192.0.2.1")
		h.start()
		require.Eventually(t, func() bool { return h.metrics.Held.Value("no_qualifying_nodes") > 0 },
			10*time.Second, 5*time.Millisecond, "the first sync finds no qualifying node and holds")
		h.waitIdle()
		changed := time.Now()
		h.setStatus("n0", true, "192.0.2.1")
		h.waitRecords(20*time.Second, a("192.0.2.1"))
		took := h.firstRequest(http.MethodPost, changed).At.Sub(changed)
		assert.Less(t, took, 1500*time.Millisecond, "a sync that wrote nothing opens no window: the node's record is created at once")
	}},
	{"changes one after the other wait at most the settle window", func(t *testing.T, h *harness) {
		h.cfg.Coalesce = 9 * time.Second
		h.createNode("n0", true, "192.0.2.1")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"))
		for i := range 4 {
			// Each change comes right after the previous write, within its settle window; none is
			// a burst, so none may wait for the coalescing window.
			changed := time.Now()
			ip := "198.51.100." + itoa(10+i)
			h.setStatus("n0", true, ip)
			h.waitRecords(20*time.Second, a(ip))
			took := h.firstRequest(http.MethodPut, changed).At.Sub(changed)
			assert.Less(t, took, 1500*time.Millisecond, "change %d written %s after it was made", i, took)
		}
	}},
	{"a node NotReady: its record is deleted only after the delete delay", func(t *testing.T, h *harness) {
		for i, ip := range ips("192.0.2.", 3) {
			h.createNode(nodeName(i), true, ip)
		}
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
		h.waitIdle()
		changed := time.Now()
		h.setStatus("n1", false, "192.0.2.2")
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.3"))
		held := h.firstRequest(http.MethodDelete, changed).At.Sub(changed)
		assert.GreaterOrEqual(t, held, time.Second, "the deletion waited for node events to be quiet for --delete-delay")
	}},
	{"a node NotReady and back", func(t *testing.T, h *harness) {
		for i, ip := range ips("192.0.2.", 3) {
			h.createNode(nodeName(i), true, ip)
		}
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
		h.setStatus("n1", false, "192.0.2.2")
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.3"))
		h.setStatus("n1", true, "192.0.2.2")
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
	}},
	{"all nodes gone: no record deleted", func(t *testing.T, h *harness) {
		// The three deletions are three requests; on a loaded machine they may be more than the
		// default 1 s apart, which is a different case (nodes leaving one by one).
		h.cfg.DeleteDelay = 3 * time.Second
		for i, ip := range ips("192.0.2.", 3) {
			h.createNode(nodeName(i), true, ip)
		}
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
		since := time.Now()
		held := h.metrics.Held.Value("no_qualifying_nodes")
		for i := range 3 {
			h.deleteNode(nodeName(i))
		}
		require.Eventually(t, func() bool {
			return h.metrics.Held.Value("no_qualifying_nodes") > held
		}, 10*time.Second, 20*time.Millisecond, "the hold is counted in dnssync_held_total")
		h.quiet(time.Second)
		assert.Zero(t, h.cf.Writes(since))
		assert.Equal(t, []string{a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3")}, h.addrs(true))
		assert.Zero(t, h.metrics.Qualifying.Value())
	}},
	{"a foreign record of the same name untouched", func(t *testing.T, h *harness) {
		foreign := h.cf.Put(h.zoneID, cloudflarefake.Record{Name: testName, Type: "A", Content: "203.0.113.7", TTL: 300, Comment: "made by hand"})
		other := h.cf.Put(h.zoneID, cloudflarefake.Record{Name: testName, Type: "A", Content: "203.0.113.8", TTL: 120, Comment: OwnerComment("cluster-b")})
		h.createNode("n0", true, "192.0.2.1")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"))
		h.setStatus("n0", true, "192.0.2.9")
		h.waitRecords(10*time.Second, a("192.0.2.9"))
		assert.Equal(t, []string{a("192.0.2.9"), a("203.0.113.7"), a("203.0.113.8")}, h.addrs(false))
		for _, r := range h.cf.Records(h.zoneID) {
			if r.ID == foreign.ID {
				assert.Equal(t, foreign, r, "the hand-made record is unchanged")
			}
			if r.ID == other.ID {
				assert.Equal(t, other, r, "another cluster's record is unchanged")
			}
		}
		assert.Equal(t, 2.0, h.metrics.Records.Value(testName, "foreign"), "foreign records are reported")
	}},
	{"IPv6 gives AAAA", func(t *testing.T, h *harness) {
		h.createNode("n0", true, "192.0.2.1", "2001:db8::1")
		h.createNode("n1", true, "2001:db8::2")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), aaaa("2001:db8::1"), aaaa("2001:db8::2"))
	}},
	{"5 x 500 then healed converges without new node events", func(t *testing.T, h *harness) {
		h.createNode("n0", true, "192.0.2.1")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"))
		h.cf.Inject(cloudflarefake.Fault{Count: 5, Status: http.StatusInternalServerError})
		since := time.Now()
		h.setStatus("n0", true, "192.0.2.2") // the only node event
		h.waitRecords(20*time.Second, a("192.0.2.2"))
		var failed int
		for _, r := range h.cf.Requests() {
			if !r.At.Before(since) && r.Status == http.StatusInternalServerError {
				failed++
			}
		}
		assert.Equal(t, 5, failed, "every injected 500 was answered, then the retry succeeded")
		assert.Equal(t, 1, h.cf.Writes(since), "one successful write")
		assert.GreaterOrEqual(t, h.metrics.Syncs.Value("error"), 5.0)
	}},
	{"429 honours Retry-After", func(t *testing.T, h *harness) {
		h.createNode("n0", true, "192.0.2.1")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"))
		h.cf.Inject(cloudflarefake.Fault{Count: 1, Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
		h.setStatus("n0", true, "192.0.2.2")
		h.waitRecords(15*time.Second, a("192.0.2.2"))
		var limitedAt time.Time
		for _, r := range h.cf.Requests() {
			if r.Status == http.StatusTooManyRequests {
				limitedAt = r.At
			} else if !limitedAt.IsZero() {
				assert.GreaterOrEqual(t, r.At.Sub(limitedAt), 2*time.Second, "request %s %s came before Retry-After", r.Method, r.Path)
				return
			}
		}
		t.Fatal("no 429 was answered")
	}},
	{"resync repairs drift made by hand", func(t *testing.T, h *harness) {
		h.cfg.Resync = 500 * time.Millisecond
		h.createNode("n0", true, "192.0.2.1")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"))
		for _, r := range h.cf.Records(h.zoneID) {
			require.True(t, h.cf.Remove(r.ID))
		}
		h.waitRecords(10*time.Second, a("192.0.2.1"))
	}},
	{"50 changes over 3 nodes in a burst: at most 10 writes, the last addresses", func(t *testing.T, h *harness) {
		for i, ip := range ips("192.0.2.", 3) {
			h.createNode(nodeName(i), true, ip)
		}
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"))
		h.quiet(1500 * time.Millisecond) // the burst starts after a quiet period
		since := time.Now()
		// As fast as the API takes them: most arrive while a sync is in flight or within a
		// settle window.
		for i := 0; i < 50; i++ {
			h.setStatus(nodeName(i%3), true, "198.51.100."+itoa(i+1))
		}
		h.waitRecords(15*time.Second, a("198.51.100.48"), a("198.51.100.49"), a("198.51.100.50"))
		h.quiet(1500 * time.Millisecond)
		assert.LessOrEqual(t, h.cf.Writes(since), 10, "50 node changes in a burst cost at most 10 writes (%v)", h.cf.Counts(since))
	}},
	{"an address a foreign record serves: no identical write; ours again once it is removed", func(t *testing.T, h *harness) {
		h.cfg.ForeignRecheck = 300 * time.Millisecond
		h.createNode("n0", true, "192.0.2.1")
		h.createNode("n1", true, "192.0.2.2")
		h.start()
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("192.0.2.2"))
		// Made by hand after the controller listed the name: only a new list shows it.
		foreign := h.cf.Put(h.zoneID, cloudflarefake.Record{Name: testName, Type: "A", Content: "203.0.113.5", TTL: 300})
		since := time.Now()
		h.setStatus("n1", true, "203.0.113.5")
		h.waitRecords(10*time.Second, a("192.0.2.1")) // served by the foreign record; our stale one deleted
		assert.Equal(t, []string{a("192.0.2.1"), a("203.0.113.5")}, h.addrs(false))
		for _, r := range h.cf.Requests() {
			if !r.At.Before(since) {
				assert.Less(t, r.Status, 300, "request %s %s refused (%d): the plan sent a write the API rejects", r.Method, r.Path, r.Status)
			}
		}
		// Its owner removes it: the controller notices at its next check and creates its own.
		require.True(t, h.cf.Remove(foreign.ID))
		h.waitRecords(10*time.Second, a("192.0.2.1"), a("203.0.113.5"))
	}},
}

func nodeName(i int) string { return "n" + itoa(i) }

func itoa(i int) string { return strconv.Itoa(i) }

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func runScenarios(t *testing.T, newKube func(t *testing.T) (kubernetes.Interface, NodeSource)) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			kube, src := newKube(t)
			h := newHarness(t, kube, src, nil)
			sc.run(t, h)
		})
	}
}

func TestScenariosFakeAPI(t *testing.T) {
	runScenarios(t, func(t *testing.T) (kubernetes.Interface, NodeSource) { return fake.NewClientset(), nil })
}

func TestDryRunWritesNothing(t *testing.T) {
	h := newHarness(t, fake.NewClientset(), nil, func(c *Config) { c.DryRun = true })
	h.createNode("n0", true, "192.0.2.1")
	h.start()
	require.Eventually(t, func() bool { return h.metrics.Syncs.Value("dry_run") > 0 },
		10*time.Second, 20*time.Millisecond)
	assert.Zero(t, h.cf.Writes(time.Time{}))
}

func TestSyncOnce(t *testing.T) {
	kube := fake.NewClientset(node("n0", true, "192.0.2.1"), node("n1", false, "192.0.2.2"))
	h := newHarness(t, kube, nil, nil)
	p, err := NewCloudflare(context.Background(), CloudflareOptions{Token: testToken, BaseURL: h.cf.URL(), Zone: h.zoneID})
	require.NoError(t, err)
	c, err := NewController(NewNodeCache(typedNodes{kube.CoreV1().Nodes()}, "", testLogger(t)), p, h.cfg, testLogger(t), h.metrics)
	require.NoError(t, err)
	h.cf.Put(h.zoneID, cloudflarefake.Record{Name: testName, Type: "A", Content: "192.0.2.99", TTL: 120, Comment: OwnerComment(testOwner)})
	h.cf.Put(h.zoneID, cloudflarefake.Record{Name: testName, Type: "A", Content: "192.0.2.98", TTL: 120, Comment: OwnerComment(testOwner)})
	require.NoError(t, c.SyncOnce(context.Background()))
	assert.Equal(t, []string{a("192.0.2.1")}, h.addrs(true), "one update in place, the stale record deleted at once")

	h.cf.Inject(cloudflarefake.Fault{Count: 1, Status: http.StatusBadGateway})
	c2, err := NewController(NewNodeCache(typedNodes{fake.NewClientset(node("n0", true, "192.0.2.5")).CoreV1().Nodes()}, "", testLogger(t)), p, h.cfg, testLogger(t), h.metrics)
	require.NoError(t, err)
	require.ErrorContains(t, c2.SyncOnce(context.Background()), "502", "--once reports a failed sync")
}
