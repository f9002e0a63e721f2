// Command measure runs the built dnssync binary against a real kube-apiserver (the local control
// plane, apiserver only) and the Cloudflare double, and prints the figures the README quotes:
// convergence time after a node IP change, API requests at rest and per change, and the
// controller process's resident memory and CPU time. Run it through scripts/measure-dnssync.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/cfdouble"
	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

const (
	token = "measure-token"
	zone  = "example.com"
	name  = "k.example.com"
)

func main() {
	bin := flag.String("bin", "", "the dnssync binary")
	changes := flag.Int("changes", 30, "node IP changes to time")
	rest := flag.Duration("rest", 60*time.Second, "steady-state window with no node change")
	nodes := flag.Int("nodes", 3, "nodes")
	gomemlimit := flag.String("gomemlimit", "", "GOMEMLIMIT for the controller")
	gogc := flag.String("gogc", "", "GOGC for the controller")
	flag.Parse()
	if err := run(*bin, *nodes, *changes, *rest, *gomemlimit, *gogc); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}

func status(ip string) corev1.NodeStatus {
	return corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: ip}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeHostName, Address: "node"}},
	}
}

func run(bin string, nodes, changes int, rest time.Duration, gomemlimit, gogc string) error {
	if bin == "" {
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
	setIP := func(node, ip string) error {
		n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status = status(ip)
		_, err = kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	}
	var want []string
	for i := range nodes {
		n, err := kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		n.Status = status(ip)
		if _, err := kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			return err
		}
		want = append(want, ip)
	}

	cf := cfdouble.New(token)
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
	waitFor := func(want []string, timeout time.Duration) (time.Duration, error) {
		start := time.Now()
		want = slices.Sorted(slices.Values(want))
		deadline := time.After(timeout)
		for {
			ch := cf.Changed()
			if slices.Equal(current(), want) {
				return time.Since(start), nil
			}
			select {
			case <-ch:
			case <-deadline:
				return 0, fmt.Errorf("records %v did not become %v within %s", current(), want, timeout)
			}
		}
	}

	cmd := exec.Command(bin, "--kubeconfig", cluster.KubeconfigPath(), "--api-base-url", cf.URL(), "--zone", zone,
		"--names", name, "--owner-id", "measure", "--resync", "10m", "--metrics-addr", "", "--log-format", "text")
	cmd.Env = append(os.Environ(), "CLOUDFLARE_API_TOKEN="+token)
	if gomemlimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+gomemlimit)
	}
	if gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+gogc)
	}
	logf, err := os.Create(dir + "/dnssync.log")
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if _, err := waitFor(want, 30*time.Second); err != nil {
		return err
	}
	initial := time.Since(started)
	time.Sleep(2 * time.Second) // let the initial sync's deferred work settle

	restStart := time.Now()
	time.Sleep(rest)
	atRest := cf.Counts(restStart)

	var took []time.Duration
	changeStart := time.Now()
	for i := range changes {
		node := i % nodes
		ip := fmt.Sprintf("198.51.%d.%d", 100+i/200, i%200+1)
		want[node] = ip
		t0 := time.Now()
		if err := setIP(fmt.Sprintf("n%d", node), ip); err != nil {
			return err
		}
		d, err := waitFor(want, 30*time.Second)
		if err != nil {
			return err
		}
		took = append(took, time.Since(t0))
		_ = d
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	perChange := cf.Counts(changeStart)
	writes := cf.Writes(changeStart)

	rss, hwm := procStatus(cmd.Process.Pid)
	cpu := procCPU(cmd.Process.Pid)
	wall := time.Since(started)

	slices.Sort(took)
	median := took[len(took)/2]
	if len(took)%2 == 0 {
		median = (took[len(took)/2-1] + took[len(took)/2]) / 2
	}
	total := 0
	for _, n := range perChange {
		total += n
	}
	restTotal := 0
	for _, n := range atRest {
		restTotal += n
	}
	fmt.Printf("dnssync measurement, %s, %d nodes, GOMEMLIMIT=%q GOGC=%q\n", time.Now().UTC().Format("2006-01-02"), nodes, gomemlimit, gogc)
	fmt.Printf("initial convergence (process start to %d records): %s\n", nodes, initial.Round(time.Millisecond))
	fmt.Printf("convergence after a node IP change over %d changes: median %s, max %s, min %s\n", changes,
		median.Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), took[0].Round(time.Millisecond))
	fmt.Printf("API requests in %s at rest: %d %v\n", rest, restTotal, atRest)
	fmt.Printf("API requests per node change: %.2f (%d requests, %d writes for %d changes) %v\n",
		float64(total)/float64(changes), total, writes, changes, perChange)
	fmt.Printf("controller resident memory: %.1f MiB now, %.1f MiB peak (VmHWM)\n", rss, hwm)
	fmt.Printf("controller CPU time: %s over %s wall (%.2f%% of one core)\n", cpu.Round(time.Millisecond), wall.Round(time.Second),
		100*cpu.Seconds()/wall.Seconds())
	return nil
}

// procStatus returns VmRSS and VmHWM in MiB.
func procStatus(pid int) (rss, hwm float64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
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
