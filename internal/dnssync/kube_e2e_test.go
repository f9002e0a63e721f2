package dnssync

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// cutLeases is a LeaseClient that fails every request once cut (a leader cut off from the API).
type cutLeases struct {
	LeaseClient
	cut atomic.Bool
}

var errCut = errors.New("cut off from the API server")

func (c *cutLeases) GetLease(ctx context.Context, ns, name string) (*Lease, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.LeaseClient.GetLease(ctx, ns, name)
}

func (c *cutLeases) CreateLease(ctx context.Context, l *Lease) (*Lease, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.LeaseClient.CreateLease(ctx, l)
}

func (c *cutLeases) UpdateLease(ctx context.Context, l *Lease) (*Lease, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.LeaseClient.UpdateLease(ctx, l)
}

// writer stands for the controller under an election: while it leads it "writes" every 5 ms,
// but only when the Fence allows, as the controller does before each record write.
type writer struct {
	le *LeaderElection

	mu        sync.Mutex
	led       time.Time // when lead was called
	lastWrite time.Time
	writes    int
}

func (w *writer) lead(ctx context.Context) error {
	w.mu.Lock()
	w.led = time.Now()
	w.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
		if until, ok := w.le.Fence(); ok && time.Now().Before(until) {
			w.mu.Lock()
			w.lastWrite, w.writes = time.Now(), w.writes+1
			w.mu.Unlock()
		}
	}
}

func (w *writer) state() (led, lastWrite time.Time, writes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.led, w.lastWrite, w.writes
}

// TestKubeClientAndLeaderElectionRealAPIServer checks the controller's own Kubernetes client on a
// real kube-apiserver: the node cache lists and watches, and the Lease election keeps its
// guarantees — one leader; a standby never writes; release hands over at once; a leader cut off
// from the API stops writing before the standby takes the Lease, and the standby takes it within
// the lease duration (+ its retry period). Needs SHOESTRING_E2E=1.
func TestKubeClientAndLeaderElectionRealAPIServer(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{})
	kc, err := NewKubeClient(cluster.KubeconfigPath())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	_, _, err = kc.ListNodes(ctx, "")
	require.NoError(t, err)
	cache := NewNodeCache(kc, "", testLogger(t))
	cctx, stop := context.WithCancel(ctx)
	cache.Start(cctx)
	require.True(t, cache.WaitSynced(ctx))
	stop()
	<-cache.Done()

	const (
		leaseDuration = 3 * time.Second
		renewDeadline = 2 * time.Second
		retryPeriod   = 200 * time.Millisecond
	)
	newCandidate := func(id string) (*writer, *cutLeases) {
		cl := &cutLeases{LeaseClient: kc}
		le := &LeaderElection{Client: cl, Namespace: "default", Name: "dnssync-test", Identity: id,
			LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod, Log: testLogger(t)}
		return &writer{le: le}, cl
	}
	run := func(w *writer) (context.CancelFunc, chan error) {
		c, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.le.Run(c, w.lead) }()
		return cancel, done
	}

	a, _ := newCandidate("a")
	cancelA, doneA := run(a)
	require.Eventually(t, func() bool { _, _, n := a.state(); return n > 0 }, 10*time.Second, 10*time.Millisecond, "a leads")
	b, _ := newCandidate("b")
	cancelB, doneB := run(b)
	time.Sleep(leaseDuration + time.Second)
	_, _, bw := b.state()
	require.Zero(t, bw, "the standby wrote while a held the lease")

	// Release on shutdown: b takes over at once.
	start := time.Now()
	cancelA()
	require.NoError(t, <-doneA)
	_, aLast, _ := a.state()
	require.Eventually(t, func() bool { _, _, n := b.state(); return n > 0 }, 2*time.Second, 5*time.Millisecond, "release did not hand over")
	bLed, _, _ := b.state()
	assert.True(t, aLast.Before(bLed), "a wrote after b started leading")
	t.Logf("handover after release: %s", bLed.Sub(start))

	// b is cut off from the API (as if its node lost the network): it must stop writing before c,
	// a fresh candidate, can take the Lease, and c takes it within the lease duration.
	c, _ := newCandidate("c")
	cancelC, doneC := run(c)
	time.Sleep(time.Second)
	_, _, cw := c.state()
	require.Zero(t, cw, "c wrote while b led")
	bLeases := b.le.Client.(*cutLeases)
	cutAt := time.Now()
	bLeases.cut.Store(true)
	select {
	case err := <-doneB:
		require.ErrorIs(t, err, errLostLease)
	case <-time.After(leaseDuration + 2*time.Second):
		t.Fatal("b still leads after its renew deadline")
	}
	require.Eventually(t, func() bool { _, _, n := c.state(); return n > 0 }, leaseDuration+2*time.Second, 5*time.Millisecond, "c never took over")
	cLed, _, _ := c.state()
	_, bLast, _ := b.state()
	assert.True(t, bLast.Before(cLed), "b wrote at %s, after c started leading at %s", bLast, cLed)
	assert.Less(t, cLed.Sub(cutAt), leaseDuration+retryPeriod+500*time.Millisecond, "failover took longer than the lease duration")
	t.Logf("cut at 0; b's last write %s; c leads at %s", bLast.Sub(cutAt), cLed.Sub(cutAt))
	cancelB()
	cancelC()
	require.NoError(t, <-doneC)
}
