package dnssync

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// TestKubeClientsRealAPIServer checks the clientset-free clients on a real kube-apiserver: the
// node informer on the REST client syncs, and the Lease election has one leader at a time, hands
// over on release and returns errLostLease when the Lease is taken away. Needs SHOESTRING_E2E=1.
func TestKubeClientsRealAPIServer(t *testing.T) {
	cluster := localcluster.ForTest(t, localcluster.Options{})
	kc, err := NewKubeClients(cluster.RESTConfig())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	_, err = kc.Nodes.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	inf := NewNodeInformers(kc.Nodes, "")
	ictx, stop := context.WithCancel(ctx)
	inf.Start(ictx.Done())
	require.True(t, cache.WaitForCacheSync(ctx.Done(), inf.Informer.HasSynced))
	stop()
	inf.Shutdown()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	elect := func(id string) *LeaderElection {
		return &LeaderElection{Leases: kc.Leases, Namespace: "default", Name: "dnssync-test", Identity: id,
			LeaseDuration: 4 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond, Log: log}
	}
	var leaders atomic.Int32
	lead := func(name string, got chan<- string) func(context.Context) error {
		return func(ctx context.Context) error {
			require.Equal(t, int32(1), leaders.Add(1), "two leaders")
			got <- name
			<-ctx.Done()
			leaders.Add(-1)
			return nil
		}
	}
	got := make(chan string, 2)
	ctxA, cancelA := context.WithCancel(ctx)
	doneA := make(chan error, 1)
	go func() { doneA <- elect("a").Run(ctxA, lead("a", got)) }()
	require.Equal(t, "a", <-got)
	ctxB, cancelB := context.WithCancel(ctx)
	defer cancelB()
	doneB := make(chan error, 1)
	go func() { doneB <- elect("b").Run(ctxB, lead("b", got)) }()
	select {
	case n := <-got:
		t.Fatalf("%s leads while a holds the lease", n)
	case <-time.After(2 * time.Second):
	}
	start := time.Now()
	cancelA()
	require.NoError(t, <-doneA)
	require.Equal(t, "b", <-got)
	require.Less(t, time.Since(start), 3*time.Second, "the release did not hand over")

	// Another holder takes the Lease away: b stops leading with errLostLease.
	thief := elect("c")
	l, err := thief.lease(ctx)
	require.NoError(t, err)
	c := "c"
	l.Spec.HolderIdentity = &c
	d := int32(60)
	l.Spec.LeaseDurationSeconds = &d
	require.NoError(t, kc.Leases.Put().Namespace("default").Resource("leases").Name("dnssync-test").Body(l).Do(ctx).Error())
	select {
	case err := <-doneB:
		require.ErrorIs(t, err, errLostLease)
	case <-time.After(10 * time.Second):
		t.Fatal("b still leads after losing the lease")
	}
}
