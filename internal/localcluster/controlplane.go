package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The control plane's processes: how etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler are started, and when each counts as ready.

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
	bind := []string{
		"--bind-address", "127.0.0.1",
		// A loopback advertise address is refused unless the endpoint reconciler is off.
		"--advertise-address", "127.0.0.1",
		"--endpoint-reconciler-type", "none",
	}
	if c.net != nil {
		// Real nodes and their pods (through the kubernetes Service) reach it on the bridge.
		bind = []string{"--bind-address", c.net.HostIP(), "--advertise-address", c.net.HostIP()}
	}
	args := append([]string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", c.state.EtcdPort),
	}, bind...)
	args = append(args,
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
		// Logs, exec and port-forward reach a kubelet by the address it reports, never by a
		// host name the machine's resolver would be asked for.
		"--kubelet-preferred-address-types", "InternalIP",
		"--allow-privileged",
		"--profiling=false",
	)
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
