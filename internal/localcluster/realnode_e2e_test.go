package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoestring-dev/shoestring/internal/localimages"
)

// hostSnapshot is what a real node may change on the host: links, the host's iptables rules,
// mounts and cgroups.
type hostSnapshot struct {
	links, rules, mounts, cgroups, netns []string
	// queues are the host namespace's bound nfqueues (the data plane's must not be there).
	queues []string
}

func snapshotHost(t *testing.T) hostSnapshot {
	t.Helper()
	run := func(name string, args ...string) []string {
		out, err := exec.Command(name, args...).Output()
		require.NoError(t, err, "%s %v", name, args)
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			// iptables-save's comments carry the time it ran; counters change with traffic.
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if strings.HasPrefix(l, ":") {
				l = strings.Fields(l)[0]
			}
			lines = append(lines, l)
		}
		sort.Strings(lines)
		return lines
	}
	var s hostSnapshot
	s.links = run("ip", "-o", "link", "show")
	for i, l := range s.links {
		// The index and the state of the host's own links are not what the test is about.
		if f := strings.Fields(l); len(f) > 1 {
			s.links[i] = f[1]
		}
	}
	s.rules = append(run("iptables-save"), run("ip6tables-save")...)
	f, err := os.Open("/proc/mounts")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s.mounts = append(s.mounts, strings.Fields(sc.Text())[1])
	}
	sort.Strings(s.mounts)
	for _, h := range cgroupHierarchies {
		entries, _ := os.ReadDir(filepath.Join(cgroupMount, h))
		for _, e := range entries {
			if e.IsDir() {
				s.cgroups = append(s.cgroups, h+"/"+e.Name())
			}
		}
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		s.netns = append(s.netns, e.Name())
	}
	if b, err := os.ReadFile(filepath.Join("/proc/self", nfqueueProc)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				s.queues = append(s.queues, f[0])
			}
		}
	}
	return s
}

// withoutOthers is s without what other local clusters own: the names of another slot (its
// bridge and veths shoeN*, netns shoeN-n*, cgroups shoestring-N-*, state /run/shoestring/N/,
// addresses 10.213.N.*) and mounts under another cluster's node folders (…/nodes/n*/, not under
// dir).
func (s hostSnapshot) withoutOthers(slot int, dir string) hostSnapshot {
	var others []string
	for n := 0; n < maxSlots; n++ {
		if n != slot {
			others = append(others, strconv.Itoa(n))
		}
	}
	alt := strings.Join(others, "|")
	foreign := regexp.MustCompile(`shoe(` + alt + `)([^0-9]|$)|shoestring-(` + alt + `)-|/run/shoestring/(` + alt + `)/|10\.213\.(` + alt + `)\.`)
	keep := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if foreign.MatchString(l) || (strings.Contains(l, "/nodes/n") && !strings.HasPrefix(l, dir)) {
				continue
			}
			out = append(out, l)
		}
		return out
	}
	return hostSnapshot{links: keep(s.links), rules: keep(s.rules), mounts: keep(s.mounts), cgroups: keep(s.cgroups), netns: keep(s.netns), queues: s.queues}
}

// TestRealNodeRunsAPodAndLeavesNothingBehind starts a cluster with a real node, runs a pod with
// a volume and a Service behind the cluster DNS, checks the NetworkPolicy data plane runs in the
// node's namespace, stops the cluster, and compares the host's links, iptables rules, mounts,
// cgroups, network namespaces and nfqueues with what they were before.
func TestRealNodeRunsAPodAndLeavesNothingBehind(t *testing.T) {
	SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	specs, err := localimages.Named(localimages.Pause, localimages.WaitFor)
	require.NoError(t, err)
	built, err := (&localimages.Builder{RepoDir: repo, CacheDir: filepath.Dir(DefaultBinDir())}).Build(ctx, specs)
	require.NoError(t, err)
	images := localimages.Archives(built)

	before := snapshotHost(t)
	dir := t.TempDir()
	c, err := Start(ctx, Options{Dir: dir, RealNodes: 1, Images: images})
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	cs, err := c.clientset()
	require.NoError(t, err)
	// The pod resolves the kubernetes Service through CoreDNS and connects to it through
	// kube-proxy's rules, then exits 0.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "probe", Image: localimages.WaitFor, ImagePullPolicy: corev1.PullNever,
				Command:      []string{"sh", "-c", "nc -z -w 5 kubernetes.default.svc.cluster.local 443 && echo > /data/written"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
	_, err = cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	var phase corev1.PodPhase
	for ctx.Err() == nil {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "probe", metav1.GetOptions{})
		require.NoError(t, err)
		if phase = p.Status.Phase; phase == corev1.PodSucceeded || phase == corev1.PodFailed {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, corev1.PodSucceeded, phase, "the probe pod resolved and reached the kubernetes Service")
	during := snapshotHost(t)
	assert.NotEqual(t, before.links, during.links, "the node's bridge and veth exist while it runs")
	// The NetworkPolicy data plane reads its queue inside the node's namespace, so the nftables
	// table it installs is that namespace's; the host's namespace has no new queue.
	var dataPlane int
	for _, p := range c.State().Processes {
		if p.Name == "kube-network-policies-n0" {
			dataPlane = p.PID
		}
	}
	require.NotZero(t, dataPlane, "the node runs kube-network-policies")
	var procNet, nodeNet syscall.Stat_t
	require.NoError(t, syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", dataPlane), &procNet))
	require.NoError(t, syscall.Stat(c.state.Net.NetnsPath(0), &nodeNet))
	assert.Equal(t, nodeNet.Ino, procNet.Ino, "kube-network-policies runs in the node's network namespace")
	assert.True(t, queueBound(fmt.Sprintf("/proc/%d/%s", dataPlane, nfqueueProc), networkPolicyQueue), "it reads nfqueue %d there", networkPolicyQueue)
	assert.Equal(t, before.queues, during.queues, "the host's namespace has no new nfqueue")

	require.NoError(t, c.Stop())
	stopped = true
	// Other packages' tests run clusters of their own at the same time (go test runs packages in
	// parallel): what belongs to another slot, or lives under another cluster's folder, is theirs.
	before, after := before.withoutOthers(c.state.Net.Slot, dir), snapshotHost(t).withoutOthers(c.state.Net.Slot, dir)
	assert.Equal(t, before.links, after.links, "links")
	assert.Equal(t, before.rules, after.rules, "host iptables rules")
	assert.Equal(t, before.mounts, after.mounts, "mounts")
	assert.Equal(t, before.cgroups, after.cgroups, "cgroups")
	assert.Equal(t, before.netns, after.netns, "network namespaces")
	assert.Equal(t, before.queues, after.queues, "the host's nfqueues")
}
