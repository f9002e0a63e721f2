package dnssync

// How the controller reaches the API server: the in-cluster service account or a kubeconfig.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// inClusterDir is where a Pod's service account credentials are mounted.
const inClusterDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// NewKubeClient reads a kubeconfig (path) or, with "", the in-cluster service account.
// Kubeconfig users may authenticate with a token, a token file or a client certificate; exec
// plugins and auth providers are not supported (the controller runs in the cluster; outside it,
// use a token, e.g. from `kubectl create token`).
func NewKubeClient(kubeconfig string) (*KubeClient, error) {
	if kubeconfig == "" {
		return inCluster()
	}
	return fromKubeconfig(kubeconfig)
}

func inCluster() (*KubeClient, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset): give --kubeconfig")
	}
	ca, err := os.ReadFile(filepath.Join(inClusterDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("in-cluster CA: %w", err)
	}
	tlsCfg, err := tlsConfig(ca, nil, false)
	if err != nil {
		return nil, err
	}
	tf := &tokenFile{path: filepath.Join(inClusterDir, "token")}
	k, err := newKubeClient("https://"+net.JoinHostPort(host, port), tlsCfg, tf.token)
	if err == nil {
		k.tokenRejected = tf.rejected
	}
	return k, err
}

// tokenFile is a bearer token read from a file, re-read once a minute (the kubelet rotates a
// projected service account token about hourly, well before it expires) and at once after the
// API server refused it (a token revoked or replaced early).
type tokenFile struct {
	path string

	mu   sync.Mutex
	tok  string
	read time.Time
}

// tokenReread is how long a token read from a file is used before the file is read again.
const tokenReread = time.Minute

func (f *tokenFile) token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tok != "" && time.Since(f.read) < tokenReread {
		return f.tok, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		if f.tok != "" {
			return f.tok, nil // keep the last one until the file is back
		}
		return "", fmt.Errorf("reading token %s: %w", f.path, err)
	}
	f.tok, f.read = strings.TrimSpace(string(b)), time.Now()
	return f.tok, nil
}

// rejected makes the next request read the file again.
func (f *tokenFile) rejected() {
	f.mu.Lock()
	f.read = time.Time{}
	f.mu.Unlock()
}

type kubeconfigFile struct {
	CurrentContext string `json:"current-context"`
	Contexts       []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
	Clusters []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData string `json:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []kubeconfigUser `json:"users"`
}

type kubeconfigUser struct {
	Name string `json:"name"`
	User struct {
		Token                 string          `json:"token"`
		TokenFile             string          `json:"tokenFile"`
		ClientCertificate     string          `json:"client-certificate"`
		ClientCertificateData string          `json:"client-certificate-data"`
		ClientKey             string          `json:"client-key"`
		ClientKeyData         string          `json:"client-key-data"`
		Exec                  json.RawMessage `json:"exec"`
		AuthProvider          json.RawMessage `json:"auth-provider"`
	} `json:"user"`
}

func fromKubeconfig(path string) (*KubeClient, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	var kc kubeconfigFile
	if err := yaml.Unmarshal(raw, &kc); err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	file := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.ReadFile(p)
	}
	data := func(inline, p string) ([]byte, error) {
		if inline != "" {
			return base64.StdEncoding.DecodeString(inline)
		}
		if p != "" {
			return file(p)
		}
		return nil, nil
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("--kubeconfig %s: %s", path, fmt.Sprintf(format, a...))
	}
	ctxIdx := -1
	for i, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			ctxIdx = i
		}
	}
	if ctxIdx < 0 {
		return nil, bad("current-context %q is not among its contexts; set it with `kubectl config use-context`", kc.CurrentContext)
	}
	cx := kc.Contexts[ctxIdx].Context
	var tlsCfg *tls.Config
	server := ""
	for _, c := range kc.Clusters {
		if c.Name != cx.Cluster {
			continue
		}
		server = c.Cluster.Server
		ca, err := data(c.Cluster.CertificateAuthorityData, c.Cluster.CertificateAuthority)
		if err != nil {
			return nil, bad("cluster %q certificate authority: %v", c.Name, err)
		}
		if tlsCfg, err = tlsConfig(ca, nil, c.Cluster.InsecureSkipTLSVerify); err != nil {
			return nil, bad("cluster %q: %v", c.Name, err)
		}
	}
	if server == "" {
		return nil, bad("context %q names cluster %q, which has no server", kc.CurrentContext, cx.Cluster)
	}
	token := func() (string, error) { return "", nil }
	var tokenRejected func()
	if cx.User != "" && !slices.ContainsFunc(kc.Users, func(u kubeconfigUser) bool { return u.Name == cx.User }) {
		return nil, bad("context %q names user %q, which is not among its users", kc.CurrentContext, cx.User)
	}
	for _, u := range kc.Users {
		if u.Name != cx.User {
			continue
		}
		usr := u.User
		if len(usr.Exec) > 0 || len(usr.AuthProvider) > 0 {
			return nil, bad("user %q authenticates with an exec plugin or auth provider, which dnssync does not run; use a token (e.g. `kubectl create token`) or a client certificate", u.Name)
		}
		switch {
		case usr.Token != "":
			t := usr.Token
			token = func() (string, error) { return t, nil }
		case usr.TokenFile != "":
			p := usr.TokenFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			tf := &tokenFile{path: p}
			token, tokenRejected = tf.token, tf.rejected
		}
		cert, err := data(usr.ClientCertificateData, usr.ClientCertificate)
		if err != nil {
			return nil, bad("user %q client certificate: %v", u.Name, err)
		}
		key, err := data(usr.ClientKeyData, usr.ClientKey)
		if err != nil {
			return nil, bad("user %q client key: %v", u.Name, err)
		}
		if len(cert) > 0 {
			pair, err := tls.X509KeyPair(cert, key)
			if err != nil {
				return nil, bad("user %q client certificate: %v", u.Name, err)
			}
			tlsCfg.Certificates = []tls.Certificate{pair}
		}
	}
	k, err := newKubeClient(server, tlsCfg, token)
	if err == nil {
		k.tokenRejected = tokenRejected
	}
	return k, err
}

func tlsConfig(caPEM []byte, certs []tls.Certificate, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs, InsecureSkipVerify: insecure} //nolint:gosec // only when the kubeconfig asks
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("certificate authority holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func newKubeClient(server string, tlsCfg *tls.Config, token func() (string, error)) (*KubeClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("kubernetes server %q is not an http(s) URL", server)
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &KubeClient{server: u, client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		watch: &http.Client{Transport: tr}, token: token, UserAgent: "shoestring-dnssync"}, nil
}
