// Command measure runs the built dnssync binary against a real kube-apiserver (the local control
// plane, apiserver only) and the Cloudflare double over the scenario mix docs/dns-sync.md quotes —
// start, single changes (each after a quiet period, then each right after the previous one was
// written), a node NotReady and back, a burst, rest, restart — and prints convergence times, API
// requests and writes, and the controller processes' peak resident memory and CPU time. Run it
// through scripts/measure-dnssync.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/testing/cloudflarefake"
)

const (
	token = "measure-token"
	zone  = "example.com"
	name  = "k.example.com"
)

type options struct {
	bin              string
	nodes, changes   int
	gap, rest        time.Duration
	burst            int
	burstOver        time.Duration
	gomemlimit, gogc string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the dnssync binary")
	flag.IntVar(&o.nodes, "nodes", 3, "nodes")
	flag.IntVar(&o.changes, "changes", 20, "single node IP changes to time, one at a time")
	flag.DurationVar(&o.gap, "gap", 1500*time.Millisecond, "pause between single changes (above the controller's --coalesce, so each is a change after a quiet period)")
	flag.IntVar(&o.burst, "burst", 50, "IP changes in the burst, spread over the nodes")
	flag.DurationVar(&o.burstOver, "burst-over", time.Second, "the burst's duration")
	flag.DurationVar(&o.rest, "rest", 60*time.Second, "steady-state window with no node change")
	flag.StringVar(&o.gomemlimit, "gomemlimit", "", "GOMEMLIMIT for the controller (the Deployment's value)")
	flag.StringVar(&o.gogc, "gogc", "", "GOGC for the controller")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}

func status(ip string) corev1.NodeStatus { return readyStatus(ip, true) }

func readyStatus(ip string, ready bool) corev1.NodeStatus {
	cond := corev1.ConditionTrue
	if !ready {
		cond = corev1.ConditionFalse
	}
	return corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: cond, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: ip}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeHostName, Address: "node"}},
	}
}

type proc struct {
	cmd     *exec.Cmd
	started time.Time
	log     string
}

// cacheSyncedRe finds the controller's log line saying its node cache has synced (slog's text
// format: time=RFC 3339 with milliseconds).
var cacheSyncedRe = regexp.MustCompile(`(?m)^time=(\S+) .*msg="node cache synced`)

// cacheSynced is when the controller's log says its node cache synced.
func cacheSynced(logPath string) (time.Time, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return time.Time{}, err
	}
	m := cacheSyncedRe.FindSubmatch(b)
	if m == nil {
		return time.Time{}, fmt.Errorf("%s has no line saying the node cache synced", logPath)
	}
	return time.Parse(time.RFC3339Nano, string(m[1]))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func run(o options) error {
	if o.bin == "" {
		return fmt.Errorf("-bin is required")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dnssync-measure-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cluster, err := localcluster.Start(ctx, localcluster.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return err
	}
	setStatus := func(node, ip string, ready bool) error {
		n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status = readyStatus(ip, ready)
		_, err = kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	}
	setIP := func(node, ip string) error { return setStatus(node, ip, true) }
	want := make([]string, o.nodes)
	for i := range o.nodes {
		n, err := kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		want[i] = fmt.Sprintf("192.0.2.%d", i+1)
		n.Status = status(want[i])
		if _, err := kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}

	cf := cloudflarefake.New(token)
	defer cf.Close()
	zoneID := cf.AddZone(zone)
	current := func() []string {
		var out []string
		for _, r := range cf.Records(zoneID) {
			if r.Name == name {
				out = append(out, r.Content)
			}
		}
		slices.Sort(out)
		return out
	}
	waitFor := func(want []string, timeout time.Duration) error {
		want = slices.Sorted(slices.Values(want))
		deadline := time.After(timeout)
		for {
			ch := cf.Changed()
			if slices.Equal(current(), want) {
				return nil
			}
			select {
			case <-ch:
			case <-deadline:
				return fmt.Errorf("records %v did not become %v within %s", current(), want, timeout)
			}
		}
	}

	start := func(n int) (*proc, error) {
		cmd := exec.Command(o.bin, "--kubeconfig", cluster.KubeconfigPath(), "--api-base-url", cf.URL(), "--zone", zone,
			"--names", name, "--owner-id", "measure", "--resync", "10m", "--metrics-addr", "", "--log-format", "text")
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "GOMEMLIMIT=") || strings.HasPrefix(kv, "GOGC=")
		})
		cmd.Env = append(env, "CLOUDFLARE_API_TOKEN="+token)
		if o.gomemlimit != "" {
			cmd.Env = append(cmd.Env, "GOMEMLIMIT="+o.gomemlimit)
		}
		if o.gogc != "" {
			cmd.Env = append(cmd.Env, "GOGC="+o.gogc)
		}
		logPath := fmt.Sprintf("%s/dnssync-%d.log", dir, n)
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		p := &proc{cmd: cmd, started: time.Now(), log: logPath}
		return p, cmd.Start()
	}
	var peak float64
	var cpu time.Duration
	var wall time.Duration
	stop := func(p *proc) {
		_, hwm := procStatus(p.cmd.Process.Pid)
		peak = max(peak, hwm)
		cpu += procCPU(p.cmd.Process.Pid)
		wall += time.Since(p.started)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}

	// start
	p1, err := start(1)
	if err != nil {
		return err
	}
	defer func() { _ = p1.cmd.Process.Kill() }()
	if err := waitFor(want, 30*time.Second); err != nil {
		return err
	}
	initial := time.Since(p1.started)
	synced, err := cacheSynced(p1.log)
	if err != nil {
		return err
	}
	var firstWrite time.Time
	for _, r := range cf.Requests() {
		if r.Method != http.MethodGet && firstWrite.IsZero() {
			firstWrite = r.At
		}
	}
	time.Sleep(2 * time.Second)

	// single changes, each after a quiet period
	var took []time.Duration
	since := time.Now()
	ipN := 0
	nextIP := func() string {
		ipN++
		return fmt.Sprintf("198.51.%d.%d", 100+ipN/200, ipN%200+1)
	}
	for i := range o.changes {
		node := i % o.nodes
		want[node] = nextIP()
		t0 := time.Now()
		if err := setIP(fmt.Sprintf("n%d", node), want[node]); err != nil {
			return err
		}
		if err := waitFor(want, 30*time.Second); err != nil {
			return err
		}
		took = append(took, time.Since(t0))
		time.Sleep(o.gap)
	}
	single := cf.Counts(since)
	singleWrites := cf.Writes(since)

	// a burst: o.burst changes spread over the nodes within o.burstOver
	time.Sleep(o.gap)
	since = time.Now()
	step := o.burstOver / time.Duration(max(o.burst-1, 1))
	var lastChange time.Time
	for i := range o.burst {
		node := i % o.nodes
		want[node] = nextIP()
		if err := setIP(fmt.Sprintf("n%d", node), want[node]); err != nil {
			return err
		}
		lastChange = time.Now()
		if i < o.burst-1 {
			time.Sleep(time.Until(since.Add(time.Duration(i+1) * step)))
		}
	}
	burstSpan := lastChange.Sub(since)
	if err := waitFor(want, 30*time.Second); err != nil {
		return err
	}
	burstFinal := time.Since(lastChange)
	time.Sleep(3 * time.Second) // anything still coming would count
	burst := cf.Counts(since)
	burstWrites := cf.Writes(since)

	// rest
	restStart := time.Now()
	time.Sleep(o.rest)
	atRest := cf.Counts(restStart)

	// changes one after the other: each made as soon as the previous one is in DNS (what a
	// settle window after every write would delay; after ten of them, two requests each, the
	// controller's request budget of 2/s with a burst of 20 spaces them too)
	var chained []time.Duration
	for i := range o.changes {
		node := i % o.nodes
		want[node] = nextIP()
		t0 := time.Now()
		if err := setIP(fmt.Sprintf("n%d", node), want[node]); err != nil {
			return err
		}
		if err := waitFor(want, 30*time.Second); err != nil {
			return err
		}
		chained = append(chained, time.Since(t0))
	}
	time.Sleep(o.gap)

	// a node NotReady (its record leaves DNS after --delete-delay), then Ready again
	others := func(skip int) []string {
		var out []string
		for i, ip := range want {
			if i != skip {
				out = append(out, ip)
			}
		}
		return out
	}
	t0 := time.Now()
	if err := setStatus("n0", want[0], false); err != nil {
		return err
	}
	if err := waitFor(others(0), 30*time.Second); err != nil {
		return err
	}
	notReadyGone := time.Since(t0)
	t0 = time.Now()
	if err := setStatus("n0", want[0], true); err != nil {
		return err
	}
	if err := waitFor(want, 30*time.Second); err != nil {
		return err
	}
	backReady := time.Since(t0)
	rss1, _ := procStatus(p1.cmd.Process.Pid)
	split1 := procFields(p1.cmd.Process.Pid)
	stop(p1)

	// restart: a new process adopts the records it finds, without writing
	since = time.Now()
	p2, err := start(2)
	if err != nil {
		return err
	}
	defer func() { _ = p2.cmd.Process.Kill() }()
	time.Sleep(3 * time.Second)
	restartWrites := cf.Writes(since)
	restartReqs := cf.Counts(since)
	node := 0
	want[node] = nextIP()
	t0 = time.Now()
	if err := setIP("n0", want[node]); err != nil {
		return err
	}
	if err := waitFor(want, 30*time.Second); err != nil {
		return err
	}
	afterRestart := time.Since(t0)
	time.Sleep(2 * time.Second)
	rss2, _ := procStatus(p2.cmd.Process.Pid)
	stop(p2)

	fmt.Printf("dnssync measurement, %s, %d nodes, GOMEMLIMIT=%q GOGC=%q\n", time.Now().UTC().Format("2006-01-02"), o.nodes, o.gomemlimit, o.gogc)
	fmt.Printf("start: process start to %d records: %s; first write %s after the node cache synced\n", o.nodes,
		initial.Round(time.Millisecond), firstWrite.Sub(synced).Round(time.Millisecond))
	fmt.Printf("single changes (%d, %s apart): convergence median %s, max %s, min %s; %d requests, %d writes %v\n", o.changes, o.gap,
		median(took).Round(time.Millisecond), slices.Max(took).Round(time.Millisecond), slices.Min(took).Round(time.Millisecond),
		total(single), singleWrites, single)
	fmt.Printf("changes one after the other (%d, each as soon as the previous one is in DNS; 2 requests each against the 2/s, burst 20 budget): median %s, max %s\n", o.changes,
		median(chained).Round(time.Millisecond), slices.Max(chained).Round(time.Millisecond))
	fmt.Printf("a node NotReady: out of DNS after %s (--delete-delay 1s); Ready again: back in DNS after %s\n",
		notReadyGone.Round(time.Millisecond), backReady.Round(time.Millisecond))
	fmt.Printf("burst: %d changes over %d nodes in %s: %d writes, %d requests %v; final state %s after the last change\n",
		o.burst, o.nodes, burstSpan.Round(time.Millisecond), burstWrites, total(burst), burst, burstFinal.Round(time.Millisecond))
	fmt.Printf("rest: %d API requests in %s %v\n", total(atRest), o.rest, atRest)
	fmt.Printf("restart: %d writes, %d requests %v in the new process's first 3 s; a change after it converged in %s\n",
		restartWrites, total(restartReqs), restartReqs, afterRestart.Round(time.Millisecond))
	fmt.Printf("resident memory: peak (VmHWM) %.1f MiB over both processes; at the end of each: %.1f MiB, %.1f MiB\n", peak, rss1, rss2)
	fmt.Printf("resident memory of the first process at the end: %.1f MiB anonymous (heap, stacks, runtime), %.1f MiB mapped from the binary\n",
		split1["RssAnon:"], split1["RssFile:"])
	fmt.Printf("CPU: %s over %s of process wall time (%.2f%% of one core)\n", cpu.Round(time.Millisecond), wall.Round(time.Second),
		100*cpu.Seconds()/wall.Seconds())
	return nil
}

// procStatus returns VmRSS and VmHWM in MiB.
func procStatus(pid int) (rss, hwm float64) {
	v := procFields(pid)
	return v["VmRSS:"], v["VmHWM:"]
}

// procFields reads the kB fields of /proc/PID/status, in MiB.
func procFields(pid int) map[string]float64 {
	out := map[string]float64{}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb / 1024
		}
	}
	return out
}

// procCPU is user+system time from /proc/PID/stat (clock ticks of 1/100 s on Linux).
func procCPU(pid int) time.Duration {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+2:])
		if len(f) > 12 {
			u, _ := strconv.Atoi(f[11])
			st, _ := strconv.Atoi(f[12])
			return time.Duration(u+st) * 10 * time.Millisecond
		}
	}
	return 0
}
