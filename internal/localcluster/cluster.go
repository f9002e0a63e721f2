// Package localcluster runs a real Kubernetes control plane on 127.0.0.1 from the pinned binaries
// scripts/tools.sh builds: etcd, kube-apiserver, optionally kube-controller-manager and
// kube-scheduler, and kwok simulating Nodes so Deployments, DaemonSets, Jobs and CronJobs run
// their course without a container runtime. `shoestring cluster up`, `make up` and the
// end-to-end tests (ForTest) all start it through Start.
package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Options choose what runs. The zero value is etcd and kube-apiserver only, in a temp folder.
type Options struct {
	Dir         string // state folder (certs, etcd data, logs, kubeconfig); "" = a new temp dir
	Controllers bool   // also run kube-controller-manager and kube-scheduler
	Kwok        bool   // run kwok with simulated nodes (implies Controllers)
	KwokNodes   int    // simulated nodes when Kwok (default 3)

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
	reused     *rest.Config
	reusedPath string
}

// State is what a started cluster writes to Dir/cluster.json, so a later process (shoestring
// cluster down/status) can find and stop it.
type State struct {
	APIServerURL string         `json:"apiServerURL"`
	EtcdPort     int            `json:"etcdPort"`
	EtcdPeerPort int            `json:"etcdPeerPort"`
	APIPort      int            `json:"apiServerPort"`
	Processes    []ProcessState `json:"processes"` // in start order
	Kwok         bool           `json:"kwok"`
	KwokNodes    int            `json:"kwokNodes"`
}

// ProcessState is one process of a started cluster.
type ProcessState struct {
	Name   string `json:"name"`
	Binary string `json:"binary"`
	PID    int    `json:"pid"`
	Log    string `json:"log"`
}

const stateFile = "cluster.json"

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
	for _, n := range names {
		p, err := findBinary(opts.BinDir, n)
		if err != nil {
			return nil, err
		}
		c.bins[n] = p
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

	// Free ports are picked by binding :0 and releasing it; another process may grab one in the
	// meantime, so a start that fails on a port conflict is retried with fresh ports.
	for attempt := 1; ; attempt++ {
		err = c.startAll(ctx)
		if err == nil {
			return c, nil
		}
		c.stopProcs()
		var busy *portBusyError
		if !errors.As(err, &busy) || attempt == 3 || (busy.port == opts.APIServerPort && opts.APIServerPort != 0) {
			break
		}
		c.progress("port %d was taken meanwhile; retrying with fresh ports", busy.port)
		// etcd may have written a member for the old peer URL; start from an empty data dir.
		_ = os.RemoveAll(filepath.Join(c.dir, "etcd"))
		_ = os.MkdirAll(filepath.Join(c.dir, "etcd"), 0o700)
	}
	if c.tempDir {
		_ = os.RemoveAll(c.dir)
	} else {
		_ = os.Remove(filepath.Join(c.dir, stateFile))
	}
	return nil, err
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
	st := State{Kwok: c.opts.Kwok, KwokNodes: c.opts.KwokNodes}
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
	}
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

func (c *Cluster) saveState() error {
	c.mu.Lock()
	c.state.Processes = nil
	for _, p := range c.procs {
		c.state.Processes = append(c.state.Processes, ProcessState{Name: p.name, Binary: p.binary, PID: p.pid(), Log: p.logPath})
	}
	st := c.state
	c.mu.Unlock()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, stateFile), append(b, '\n'), 0o600)
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

func (c *Cluster) startEtcd(ctx context.Context) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", c.state.EtcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", c.state.EtcdPeerPort)
	p, err := c.launch("etcd", []string{
		"--name", "default",
		"--data-dir", filepath.Join(c.dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default=" + peer,
		// A throwaway cluster: durability is not worth the fsync latency.
		"--unsafe-no-fsync",
		"--log-level", "warn",
	})
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	return c.waitFor(ctx, p, "etcd to be healthy", 30*time.Second, func() bool {
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), `"true"`)
	})
}

func (c *Cluster) apiServerArgs() []string {
	args := []string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", c.state.EtcdPort),
		"--bind-address", "127.0.0.1",
		// A loopback advertise address is refused unless the endpoint reconciler is off.
		"--advertise-address", "127.0.0.1",
		"--endpoint-reconciler-type", "none",
		"--secure-port", strconv.Itoa(c.state.APIPort),
		"--cert-dir", filepath.Join(c.dir, "pki"),
		"--tls-cert-file", c.pki.servingCert,
		"--tls-private-key-file", c.pki.servingKey,
		"--client-ca-file", c.pki.caCert,
		"--token-auth-file", c.pki.tokenFile,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", c.pki.saPub,
		"--service-account-signing-key-file", c.pki.saKey,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--allow-privileged",
		"--profiling=false",
	}
	if !c.opts.NodeLifecycle {
		args = append(args, "--disable-admission-plugins", "TaintNodesByCondition")
	}
	return args
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	p, err := c.launch("kube-apiserver", c.apiServerArgs())
	if err != nil {
		return err
	}
	return c.waitAPIServer(ctx, p)
}

func (c *Cluster) waitAPIServer(ctx context.Context, p *proc) error {
	hc, err := c.httpClient()
	if err != nil {
		return err
	}
	return c.waitFor(ctx, p, "kube-apiserver to be ready", 90*time.Second, func() bool {
		req, _ := http.NewRequest("GET", c.state.APIServerURL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.pki.adminToken)
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (c *Cluster) httpClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.pki.caPEM) {
		return nil, errors.New("localcluster: bad CA certificate")
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

func (c *Cluster) startControllers(ctx context.Context) error {
	kubeconfig := c.KubeconfigPath()
	controllers := "*"
	if !c.opts.NodeLifecycle {
		controllers = "*,-node-lifecycle-controller"
	}
	cm, err := c.launch("kube-controller-manager", []string{
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--secure-port", "0",
		"--leader-elect=false",
		"--controllers", controllers,
		"--service-account-private-key-file", c.pki.saKey,
		"--root-ca-file", c.pki.caCert,
		"--use-service-account-credentials=false",
		"--profiling=false",
	})
	if err != nil {
		return err
	}
	sched, err := c.launch("kube-scheduler", []string{
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--secure-port", "0",
		"--leader-elect=false",
		"--profiling=false",
	})
	if err != nil {
		return err
	}
	// The service-account controller creating "default" in the default namespace shows the
	// controller-manager works; pods cannot be created in a namespace before it has.
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, cm, "kube-controller-manager to create the default ServiceAccount", 60*time.Second, func() bool {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", getOpts)
		return err == nil
	}); err != nil {
		return err
	}
	if sched.exited() {
		return fmt.Errorf("kube-scheduler exited at start (%v); log %s ends with:\n%s", sched.err, sched.logPath, sched.logTail())
	}
	return nil
}

// KubeconfigPath is an admin kubeconfig for the cluster (Dir/kubeconfig).
func (c *Cluster) KubeconfigPath() string {
	if c.reused != nil {
		return c.reusedPath
	}
	return filepath.Join(c.dir, "kubeconfig")
}

// Dir is the cluster's state folder.
func (c *Cluster) Dir() string { return c.dir }

// State is the cluster's ports and processes.
func (c *Cluster) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// RESTConfig is an admin client configuration for the cluster.
func (c *Cluster) RESTConfig() *rest.Config {
	if c.reused != nil {
		return rest.CopyConfig(c.reused)
	}
	return &rest.Config{
		Host:            c.state.APIServerURL,
		BearerToken:     c.pki.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caPEM},
		QPS:             100,
		Burst:           200,
	}
}

func (c *Cluster) writeKubeconfig() error {
	return os.WriteFile(c.KubeconfigPath(), []byte(Kubeconfig(c.state.APIServerURL, c.pki.caPEM, c.pki.adminToken)), 0o600)
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port with etcd kept, and
// returns once it is ready again (tests of clients that must survive an apiserver restart).
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	if c.reused != nil {
		return fmt.Errorf("localcluster: cannot restart the apiserver of a reused cluster (%s); unset it for this test", ReuseEnv)
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return errors.New("localcluster: cluster is stopped")
	}
	idx := -1
	for i, p := range c.procs {
		if p.name == "kube-apiserver" {
			idx = i
		}
	}
	old := c.procs[idx]
	c.mu.Unlock()
	old.stop(15 * time.Second)

	p := &proc{name: old.name, binary: old.binary, args: old.args, logPath: old.logPath}
	if err := p.start(c.opts.Detached); err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	c.mu.Lock()
	c.procs[idx] = p
	c.mu.Unlock()
	if err := c.saveState(); err != nil {
		return err
	}
	return c.waitAPIServer(ctx, p)
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
	if c.tempDir {
		return os.RemoveAll(c.dir)
	}
	return os.Remove(filepath.Join(c.dir, stateFile))
}

func (c *Cluster) stopProcs() {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(15 * time.Second)
	}
}

// Kubeconfig is an admin kubeconfig for server, trusting ca and authenticating with token.
func Kubeconfig(server string, caPEM []byte, token string) string {
	ca := base64Std(caPEM)
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: shoestring-local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: shoestring-local
  context:
    cluster: shoestring-local
    user: %s
current-context: shoestring-local
`, server, ca, adminUser, token, adminUser)
}

// ReadState reads the state a started cluster left in dir.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

func (st *State) anyAlive(dir string) bool {
	for _, p := range st.Processes {
		if pidAlive(p.PID, p.Binary, dir) {
			return true
		}
	}
	return false
}

// Alive lists, per process, whether it is still running.
func (st *State) Alive(dir string) map[string]bool {
	out := map[string]bool{}
	for _, p := range st.Processes {
		out[p.Name] = pidAlive(p.PID, p.Binary, dir)
	}
	return out
}

// StopDir stops a detached cluster started from dir (shoestring cluster down), in reverse start
// order. A folder without a running cluster is not an error.
func StopDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := ReadState(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for i := len(st.Processes) - 1; i >= 0; i-- {
		p := st.Processes[i]
		if err := stopPid(p.PID, 15*time.Second, p.Binary, abs); err != nil {
			errs = append(errs, fmt.Errorf("%s (pid %d): %w", p.Name, p.PID, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.Remove(filepath.Join(abs, stateFile))
}
