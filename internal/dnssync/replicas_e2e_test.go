package dnssync

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// TestTwoReplicasLeaderKilledDuringChurn runs two controller processes with leader election on a
// real kube-apiserver and the Cloudflare double, changes node IPs continuously, and SIGKILLs the
// leader in the middle: no address is written twice, no write is refused, the standby writes
// nothing before the leader is gone, and the records are the nodes' addresses within the lease
// duration + 1 s of the kill or the last change. Needs SHOESTRING_E2E=1.
func TestTwoReplicasLeaderKilledDuringChurn(t *testing.T) {
	const leaseDuration = 4 * time.Second
	cluster := localcluster.ForTest(t, localcluster.Options{})
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, kube.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
	h := newHarness(t, kube, nil, nil)
	bin := buildBinary(t)

	addrs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	for i, ip := range addrs {
		h.createNode(nodeName(i), true, ip)
	}
	var fr front
	args := []string{"--leader-elect", "--lease-namespace", "default", "--lease-name", "dnssync-replicas",
		"--lease-duration", leaseDuration.String(), "--renew-deadline", "3s", "--retry-period", "250ms"}
	replicas := map[string]*process{}
	for _, name := range []string{"r0", "r1"} {
		replicas[name] = startProcess(t, bin, name, cluster.KubeconfigPath(), fr.serve(t, h.cf, name), args...)
	}
	h.waitRecords(30*time.Second, a(addrs[0]), a(addrs[1]), a(addrs[2]))
	ws := fr.writes()
	require.NotEmpty(t, ws)
	leader := ws[0].Replica
	standby := map[string]string{"r0": "r1", "r1": "r0"}[leader]
	t.Logf("leader %s, standby %s", leader, standby)

	want := func() []string {
		var out []string
		for _, ip := range addrs {
			out = append(out, a(ip))
		}
		slices.Sort(out)
		return out
	}
	var killedAt, lastChange time.Time
	for i := 0; i < 40; i++ {
		if i == 15 {
			replicas[leader].kill()
			killedAt = time.Now()
		}
		addrs[i%3] = fmt.Sprintf("198.51.100.%d", i+1)
		h.setStatus(nodeName(i%3), true, addrs[i%3])
		lastChange = time.Now()
		time.Sleep(150 * time.Millisecond)
	}
	h.waitRecords(30*time.Second, want()...)
	converged := time.Now()
	from := killedAt
	if lastChange.After(from) {
		from = lastChange
	}
	assert.LessOrEqual(t, converged.Sub(from), leaseDuration+time.Second,
		"records correct %s after the kill / last change", converged.Sub(from))
	t.Logf("killed the leader during churn; correct %s after the later of the kill and the last change", converged.Sub(from))

	h.quiet(time.Second)
	assert.Equal(t, want(), h.addrs(false), "exactly the nodes' addresses: none lost, none left over")
	seen := map[string]string{}
	for _, w := range fr.writes() {
		assert.Less(t, w.Status, 300, "%s's %s of %s refused (%d)", w.Replica, w.Method, w.Content, w.Status)
		if w.Replica == standby {
			assert.True(t, w.At.After(killedAt), "the standby wrote %s while the leader ran", w.Content)
		}
		if w.Replica == leader {
			assert.True(t, w.At.Before(killedAt), "the killed leader wrote after the kill")
		}
		if w.Method == http.MethodDelete || w.Status >= 300 {
			continue
		}
		prev, dup := seen[w.Content]
		assert.False(t, dup, "%s written twice (by %s, then %s)", w.Content, prev, w.Replica)
		seen[w.Content] = w.Replica
	}
	standbyWrites := slices.ContainsFunc(fr.writes(), func(w written) bool { return w.Replica == standby })
	assert.True(t, standbyWrites, "the standby took over and wrote")
}

// TestLeaseHandoverPausedLeader runs two controller processes with leader election during IP
// churn and pauses the leader (SIGSTOP, as a frozen VM or a long GC pause would) for twice the
// lease duration, then resumes it: the standby takes over within the lease duration, and the two
// never both write — the paused leader writes nothing after the standby's first write, not even
// the changes it finds queued when it resumes. Needs SHOESTRING_E2E=1.
func TestLeaseHandoverPausedLeader(t *testing.T) {
	const leaseDuration = 3 * time.Second
	cluster := localcluster.ForTest(t, localcluster.Options{})
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, kube.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
	h := newHarness(t, kube, nil, nil)
	bin := buildBinary(t)

	addrs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	for i, ip := range addrs {
		h.createNode(nodeName(i), true, ip)
	}
	var fr front
	args := []string{"--leader-elect", "--lease-namespace", "default", "--lease-name", "dnssync-paused",
		"--lease-duration", leaseDuration.String(), "--renew-deadline", "2s", "--retry-period", "250ms"}
	replicas := map[string]*process{}
	for _, name := range []string{"r0", "r1"} {
		replicas[name] = startProcess(t, bin, name, cluster.KubeconfigPath(), fr.serve(t, h.cf, name), args...)
	}
	h.waitRecords(30*time.Second, a(addrs[0]), a(addrs[1]), a(addrs[2]))
	leader := fr.writes()[0].Replica
	standby := map[string]string{"r0": "r1", "r1": "r0"}[leader]
	t.Logf("leader %s, standby %s", leader, standby)

	// Churn: one IP change every 200 ms, until stopped.
	var mu sync.Mutex
	stopChurn := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; ; i++ {
			select {
			case <-stopChurn:
				return
			case <-time.After(200 * time.Millisecond):
			}
			mu.Lock()
			addrs[i%3] = fmt.Sprintf("198.51.100.%d", i%250+1)
			ip := addrs[i%3]
			mu.Unlock()
			h.setStatus(nodeName(i%3), true, ip)
		}
	}()
	time.Sleep(time.Second)
	paused := replicas[leader]
	require.NoError(t, paused.cmd.Process.Signal(syscall.SIGSTOP))
	pausedAt := time.Now()
	tookOver := func() (time.Time, bool) {
		for _, w := range fr.writes() {
			if w.Replica == standby {
				return w.At, true
			}
		}
		return time.Time{}, false
	}
	require.Eventually(t, func() bool { _, ok := tookOver(); return ok }, 30*time.Second, 20*time.Millisecond, "the standby never took over")
	standbyFirst, _ := tookOver()
	// Resume the paused leader past its lease while the churn goes on: it finds events queued
	// and a lease it no longer holds.
	time.Sleep(time.Until(pausedAt.Add(2 * leaseDuration)))
	require.NoError(t, paused.cmd.Process.Signal(syscall.SIGCONT))
	time.Sleep(2 * time.Second)
	close(stopChurn)
	<-churned
	mu.Lock()
	var want []string
	for _, ip := range addrs {
		want = append(want, a(ip))
	}
	mu.Unlock()
	h.waitRecords(30*time.Second, want...)

	t.Logf("paused the leader at 0; the standby's first write at %s", standbyFirst.Sub(pausedAt))
	assert.Less(t, standbyFirst.Sub(pausedAt), leaseDuration+5*time.Second, "the standby took over within the lease duration (+ slack for a loaded machine)")
	for _, w := range fr.writes() {
		assert.Less(t, w.Status, 300, "%s's %s of %s refused (%d)", w.Replica, w.Method, w.Content, w.Status)
		if w.Replica == leader {
			assert.True(t, w.At.Before(standbyFirst), "the paused leader wrote %s at %s, after the standby's first write", w.Content, w.At.Sub(pausedAt))
		}
		if w.Replica == standby {
			assert.True(t, w.At.After(pausedAt), "the standby wrote %s while the leader ran", w.Content)
		}
	}
}
