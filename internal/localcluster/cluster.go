// Package localcluster runs a real Kubernetes control plane on 127.0.0.1 from the pinned binaries
// scripts/tools.sh builds: etcd, kube-apiserver, optionally kube-controller-manager and
// kube-scheduler, and kwok simulating Nodes so Deployments, DaemonSets, Jobs and CronJobs run
// their course without a container runtime. `shoestring cluster up`, `make up` and the
// end-to-end tests (ForTest) all start it through Start.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// Options choose what runs. The zero value is etcd and kube-apiserver only, in a temp folder.
type Options struct {
	Dir         string // state folder (certs, etcd data, logs, kubeconfig); "" = a new temp dir
	Controllers bool   // also run kube-controller-manager and kube-scheduler
	Kwok        bool   // run kwok with simulated nodes (implies Controllers)
	KwokNodes   int    // simulated nodes when Kwok (default 3)

	// RealNodes run containers: each is containerd, a kubelet and kube-proxy in a network
	// namespace of its own (implies Controllers and NodeLifecycle), and node 0 runs CoreDNS as
	// the cluster DNS. With kwok nodes beside them, those are tainted so pods land on the real
	// ones unless they tolerate SimulatedTaint. Needs root.
	RealNodes int
	// AgentCommand runs the agent (RunAgent) as a detached process when Detached, e.g.
	// [shoestring cluster agent]; nil runs it in this process.
	AgentCommand []string
	// Images are OCI image tars (internal/localimages) imported into every real node's
	// containerd; nothing is ever pulled.
	Images []string
	// NoNetworkPolicies leaves the real nodes without a NetworkPolicy data plane, so every pod
	// reaches every other whatever the policies say. By default each real node runs
	// kube-network-policies (netpolicy.go), which enforces them.
	NoNetworkPolicies bool
	// NetworkPolicyVerbosity is the data plane's log level (--v): 2 logs every verdict with the
	// pods and addresses it saw, in logs/kube-network-policies-n<i>.log.
	NetworkPolicyVerbosity int

	// NodeLifecycle runs the node-lifecycle controller and the TaintNodesByCondition admission
	// plugin, as a real cluster does. Off by default: they taint Nodes that nobody heartbeats
	// (tests that create bare Nodes and flip Ready themselves) unschedulable after about 60 s.
	NodeLifecycle bool
	// APIServerPort fixes the apiserver's port (0: a free one); a busy port is an error.
	APIServerPort int
	// Detached processes outlive the calling process (shoestring cluster up); stop them with
	// StopDir. Otherwise they die with the caller, even if it crashes.
	Detached bool
	// BinDir holds the binaries ("" = DefaultBinDir(), then PATH).
	BinDir string
	// Progress receives one line per step (nil: silent).
	Progress io.Writer
}

// Cluster is a running control plane.
type Cluster struct {
	opts    Options
	dir     string
	tempDir bool
	bins    map[string]string
	pki     *pki
	state   State

	mu      sync.Mutex
	procs   []*proc // in start order
	stopped bool

	// A cluster someone else runs (ReuseEnv): only its client configuration is known.
	net *nodeNet // the real nodes' network slot (nil: no real node)

	agentStop func() // stops an in-process agent

	reused     *rest.Config
	reusedPath string
}

// Start runs the control plane and returns once the apiserver is ready (and, with Kwok, the
// simulated Nodes are Ready). On any failure everything it started is stopped again.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Kwok {
		opts.Controllers = true
		if opts.KwokNodes == 0 {
			opts.KwokNodes = 3
		}
	}
	if opts.KwokNodes < 0 {
		return nil, fmt.Errorf("localcluster: KwokNodes %d: want 0 (default 3) or more", opts.KwokNodes)
	}
	if opts.RealNodes < 0 || opts.RealNodes > 8 {
		return nil, fmt.Errorf("localcluster: RealNodes %d: want 0 to 8", opts.RealNodes)
	}
	if opts.RealNodes > 0 {
		opts.Controllers, opts.NodeLifecycle = true, true
	}
	if opts.BinDir == "" {
		opts.BinDir = DefaultBinDir()
	}
	c := &Cluster{opts: opts, dir: opts.Dir, bins: map[string]string{}}

	// Every binary first: a missing one is reported before anything starts.
	names := []string{"etcd", "kube-apiserver"}
	if opts.Controllers {
		names = append(names, "kube-controller-manager", "kube-scheduler")
	}
	if opts.Kwok {
		names = append(names, "kwok")
	}
	if opts.RealNodes > 0 {
		names = append(names, "kubelet", "kube-proxy", "coredns", "containerd")
		if !opts.NoNetworkPolicies {
			names = append(names, NetworkPolicyBinary)
		}
	}
	for _, n := range names {
		p, err := findBinary(opts.BinDir, n)
		if err != nil {
			return nil, err
		}
		c.bins[n] = p
	}
	if opts.RealNodes > 0 {
		if err := checkRealNodeHost(c.bins); err != nil {
			return nil, err
		}
		for _, img := range opts.Images {
			if _, err := os.Stat(img); err != nil {
				return nil, fmt.Errorf("image %s: %w (build the images with `make images`)", img, err)
			}
		}
	}
	if opts.APIServerPort != 0 {
		if err := portFree(opts.APIServerPort); err != nil {
			return nil, err
		}
	}

	if c.dir == "" {
		d, err := os.MkdirTemp("", "shoestring-cluster-")
		if err != nil {
			return nil, err
		}
		c.dir, c.tempDir = d, true
	} else {
		abs, err := filepath.Abs(c.dir)
		if err != nil {
			return nil, err
		}
		c.dir = abs
		if st, err := ReadState(c.dir); err == nil && st.anyAlive(c.dir) {
			return nil, fmt.Errorf("a control plane from %s is still running (apiserver %s): stop it first with `shoestring cluster down --dir %s`", c.dir, st.APIServerURL, c.dir)
		}
	}
	for _, sub := range []string{"logs", "etcd"} {
		if err := os.MkdirAll(filepath.Join(c.dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	var err error
	if c.pki, err = writePKI(filepath.Join(c.dir, "pki")); err != nil {
		return nil, fmt.Errorf("writing certificates: %w", err)
	}

	if opts.RealNodes > 0 {
		if err := c.startNodeNet(ctx); err != nil {
			c.removeNodes()
			return nil, err
		}
	}

	// Free ports are picked by binding :0 and releasing it; another process may grab one in the
	// meantime, so a start that fails on a port conflict is retried with fresh ports.
	for attempt := 1; ; attempt++ {
		err = c.startAll(ctx)
		if err == nil {
			return c, nil
		}
		c.stopProcs()
		c.removeNodesAfterProcs()
		var busy *portBusyError
		if !errors.As(err, &busy) || attempt == 3 || (busy.port == opts.APIServerPort && opts.APIServerPort != 0) {
			break
		}
		c.progress("port %d was taken meanwhile; retrying with fresh ports", busy.port)
		// etcd may have written a member for the old peer URL; start from an empty data dir.
		_ = os.RemoveAll(filepath.Join(c.dir, "etcd"))
		_ = os.MkdirAll(filepath.Join(c.dir, "etcd"), 0o700)
	}
	c.removeNodes()
	if c.tempDir {
		_ = os.RemoveAll(c.dir)
	} else {
		_ = os.Remove(filepath.Join(c.dir, stateFile))
	}
	return nil, err
}

// startNodeNet claims a network slot and makes every real node's namespace, before the
// apiserver starts (it listens on the slot's bridge address too).
func (c *Cluster) startNodeNet(ctx context.Context) error {
	n, err := claimSlot(ctx)
	if err != nil {
		return err
	}
	c.net = &n
	c.state.Net, c.state.RealNodes = c.net, c.opts.RealNodes
	if err := c.saveState(); err != nil {
		return err
	}
	for i := 0; i < c.opts.RealNodes; i++ {
		if err := n.addNode(ctx, i, c.opts.RealNodes); err != nil {
			return fmt.Errorf("making the network of %s: %w", RealNodeName(i), err)
		}
	}
	c.progress("real nodes' network: bridge %s %s, nodes %s..", n.Bridge(), n.HostIP(), n.NodeIP(0))
	return nil
}

// removeNodesAfterProcs undoes what the real nodes' processes left (mounts, cgroups) but keeps
// the network for another attempt.
func (c *Cluster) removeNodesAfterProcs() {
	if c.net == nil {
		return
	}
	for i := 0; i < c.opts.RealNodes; i++ {
		_ = killCgroup(c.cgroupRoot(i))
	}
}

// removeNodes removes everything the real nodes made (after their processes are stopped).
func (c *Cluster) removeNodes() {
	if c.net == nil {
		return
	}
	st := State{Net: c.net, RealNodes: c.opts.RealNodes}
	if err := removeRealNodes(c.dir, &st); err != nil {
		c.progress("removing the real nodes: %v", err)
	}
	c.net = nil
}

type portBusyError struct {
	port int
	who  string
}

func (e *portBusyError) Error() string {
	return fmt.Sprintf("port %d on 127.0.0.1 is busy (%s could not bind it): stop whatever listens there (`ss -ltnp 'sport = :%d'`) or let shoestring pick a free port", e.port, e.who, e.port)
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return &portBusyError{port: port, who: "kube-apiserver"}
	}
	return l.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "cluster: "+format+"\n", args...)
	}
}

func (c *Cluster) startAll(ctx context.Context) error {
	var err error
	st := State{Kwok: c.opts.Kwok, KwokNodes: c.opts.KwokNodes, Net: c.net}
	if c.net != nil {
		st.RealNodes = c.opts.RealNodes
	}
	if st.EtcdPort, err = freePort(); err != nil {
		return err
	}
	if st.EtcdPeerPort, err = freePort(); err != nil {
		return err
	}
	st.APIPort = c.opts.APIServerPort
	if st.APIPort == 0 {
		if st.APIPort, err = freePort(); err != nil {
			return err
		}
	}
	st.APIServerURL = fmt.Sprintf("https://127.0.0.1:%d", st.APIPort)
	if c.net != nil {
		// Nodes reach the apiserver on the bridge; the host does too, so one address serves all.
		st.APIServerURL = fmt.Sprintf("https://%s:%d", c.net.HostIP(), st.APIPort)
	}
	c.state = st
	if err := c.writeKubeconfig(); err != nil {
		return err
	}

	start := time.Now()
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	c.progress("apiserver ready at %s (%.1fs)", st.APIServerURL, time.Since(start).Seconds())
	if c.opts.Controllers {
		if err := c.startControllers(ctx); err != nil {
			return err
		}
	}
	if c.opts.Kwok {
		if err := c.startKwok(ctx); err != nil {
			return err
		}
		c.progress("%d simulated nodes Ready (%.1fs)", c.opts.KwokNodes, time.Since(start).Seconds())
		if c.opts.RealNodes > 0 {
			if err := c.taintSimulatedNodes(ctx); err != nil {
				return err
			}
		}
	}
	if c.opts.RealNodes > 0 {
		if err := c.startRealNodes(ctx); err != nil {
			return err
		}
		if err := c.startAgent(ctx); err != nil {
			return err
		}
		c.progress("%d real nodes Ready, CoreDNS at %s, the edge at http://127.0.0.1:%d (%.1fs)", c.opts.RealNodes, c.ClusterDNS(), c.state.EdgePort, time.Since(start).Seconds())
	}
	return nil
}

// startAgent makes LocalStorageClass and runs the agent that serves it and forwards the edge.
func (c *Cluster) startAgent(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, localStorageClass(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating StorageClass %s: %w", LocalStorageClass, err)
	}
	port, err := edgePort()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.state.EdgePort = port
	c.mu.Unlock()
	if err := c.saveState(); err != nil {
		return err
	}
	if c.opts.Detached && len(c.opts.AgentCommand) > 0 {
		c.bins["agent"] = c.opts.AgentCommand[0]
		args := append(append([]string{}, c.opts.AgentCommand[1:]...), "--dir", c.dir, "--edge-port", strconv.Itoa(port))
		p, err := c.launch("agent", args)
		if err != nil {
			return err
		}
		return c.waitFor(ctx, p, "the agent to listen on 127.0.0.1:"+strconv.Itoa(port), 30*time.Second, func() bool {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				conn.Close()
			}
			return err == nil
		})
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log, err := os.OpenFile(c.logPath("agent"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		cancel()
		return err
	}
	go func() { done <- RunAgent(actx, AgentOptions{Dir: c.dir, EdgePort: port, Log: log}) }()
	c.agentStop = func() { cancel(); <-done; log.Close() }
	return nil
}

func (c *Cluster) logPath(name string) string { return filepath.Join(c.dir, "logs", name+".log") }

// launch starts a process, records it (pid file state) and returns it.
func (c *Cluster) launch(name string, args []string) (*proc, error) {
	p := &proc{name: name, binary: c.bins[name], args: args, logPath: c.logPath(name)}
	if err := p.start(c.opts.Detached); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, c.saveState()
}

// waitFor polls ready until it reports true, the process exits (an error with its log), ctx ends
// or timeout passes.
func (c *Cluster) waitFor(ctx context.Context, p *proc, what string, timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if ready() {
			return nil
		}
		if p != nil && p.exited() {
			tail := p.logTail()
			if port := busyPort(tail); port != 0 {
				return &portBusyError{port: port, who: p.name}
			}
			return fmt.Errorf("%s exited before %s (%v); log %s ends with:\n%s", p.name, what, p.err, p.logPath, tail)
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %s waiting for %s", timeout, what)
			if p != nil {
				msg += fmt.Sprintf("; log %s ends with:\n%s", p.logPath, p.logTail())
			}
			return errors.New(msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// busyPort finds the port of an "address already in use" bind failure in a log.
func busyPort(log string) int {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "address already in use") {
			continue
		}
		i := strings.Index(line, "127.0.0.1:")
		if i < 0 {
			continue
		}
		rest := line[i+len("127.0.0.1:"):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if port, err := strconv.Atoi(rest[:j]); err == nil {
			return port
		}
	}
	return 0
}

// Stop stops the processes in reverse start order (kwok, controllers, apiserver, etcd): etcd
// going first would leave the apiserver hanging. A temp state folder is removed.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	c.mu.Unlock()
	c.stopProcs()
	c.removeNodes()
	if c.tempDir {
		return os.RemoveAll(c.dir)
	}
	return os.Remove(filepath.Join(c.dir, stateFile))
}

func (c *Cluster) stopProcs() {
	if c.agentStop != nil {
		c.agentStop()
		c.agentStop = nil
	}
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(15 * time.Second)
	}
}
