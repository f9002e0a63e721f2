package dnssync

// The Kubernetes side in plain net/http and encoding/json. client-go's clientset registers ~56 API
// groups at start, and even its REST client, scheme and informer link k8s.io/api/core/v1 (every
// core type with its generated deep-copy, conversion and protobuf code) and three serializers
// (json-iterator, CBOR, protobuf): about half of the binary, and a Go binary's text is mapped
// into resident memory as it runs. This controller needs four requests: list and watch Nodes
// (decoded into the few fields DNS reads) and get/create/update one Lease.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// NodeAddress is one entry of a Node's status.addresses.
type NodeAddress struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// NodeCondition is one entry of a Node's status.conditions (only the fields DNS reads).
type NodeCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// NodeMeta is the part of a Node's metadata DNS reads.
type NodeMeta struct {
	Name              string  `json:"name"`
	ResourceVersion   string  `json:"resourceVersion,omitempty"`
	DeletionTimestamp *string `json:"deletionTimestamp,omitempty"`
}

// Node is a Kubernetes Node decoded into the fields DNS reads; the rest of the object (images,
// managed fields, capacity, heartbeat times, ...: about 90% of a real node) is skipped while
// decoding, never allocated.
type Node struct {
	Metadata NodeMeta `json:"metadata"`
	Spec     struct {
		Unschedulable bool `json:"unschedulable,omitempty"`
	} `json:"spec"`
	Status struct {
		Conditions []NodeCondition `json:"conditions,omitempty"`
		Addresses  []NodeAddress   `json:"addresses,omitempty"`
	} `json:"status"`
}

// StatusError is a Kubernetes API error answer (a Status object).
type StatusError struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("kubernetes API: %d %s: %s", e.Code, e.Reason, e.Message)
}

func statusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// IsNotFound, IsConflict and IsGone classify API errors.
func IsNotFound(err error) bool { return statusCode(err) == http.StatusNotFound }
func IsConflict(err error) bool { return statusCode(err) == http.StatusConflict }
func IsGone(err error) bool     { return statusCode(err) == http.StatusGone }

// NodeWatch is a stream of node events: Next returns ADDED, MODIFIED, DELETED or BOOKMARK with the
// node (for BOOKMARK only its resourceVersion), or an error (a *StatusError 410 when the
// resourceVersion is too old: list again).
type NodeWatch interface {
	Next() (string, Node, error)
	Close()
}

// NodeSource lists and watches Nodes: KubeClient, or an adapter in tests.
type NodeSource interface {
	ListNodes(ctx context.Context, labelSelector string) ([]Node, string, error)
	WatchNodes(ctx context.Context, labelSelector, resourceVersion string) (NodeWatch, error)
}

// KubeClient talks to the Kubernetes API with a bearer token or a client certificate.
type KubeClient struct {
	server    *url.URL
	client    *http.Client // requests with a timeout
	watch     *http.Client // long-running watches (no overall timeout)
	token     func() (string, error)
	UserAgent string
}

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
	return newKubeClient("https://"+net.JoinHostPort(host, port), tlsCfg, tokenFile(filepath.Join(inClusterDir, "token")))
}

// tokenFile re-reads a projected service account token once a minute (the kubelet rotates it).
func tokenFile(path string) func() (string, error) {
	var mu sync.Mutex
	var tok string
	var read time.Time
	return func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok != "" && time.Since(read) < time.Minute {
			return tok, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			if tok != "" {
				return tok, nil // keep the last one until the file is back
			}
			return "", fmt.Errorf("reading token %s: %w", path, err)
		}
		tok, read = strings.TrimSpace(string(b)), time.Now()
		return tok, nil
	}
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
			token = tokenFile(p)
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
	return newKubeClient(server, tlsCfg, token)
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

// request builds a request to path (with query) on the API server.
func (k *KubeClient) request(ctx context.Context, method, path string, q url.Values, body any) (*http.Request, error) {
	u := *k.server
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", k.UserAgent)
	tok, err := k.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}

// apiError reads a non-2xx answer as a *StatusError.
func apiError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	se := &StatusError{}
	if json.Unmarshal(b, se) != nil || se.Code == 0 {
		se = &StatusError{Code: res.StatusCode, Reason: http.StatusText(res.StatusCode), Message: strings.TrimSpace(string(b))}
	}
	return se
}

// do sends one request and decodes a 2xx answer into out (when not nil).
func (k *KubeClient) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	req, err := k.request(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return apiError(res)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// ListNodes lists the Nodes (optionally label-selected) and returns the list's resourceVersion.
func (k *KubeClient) ListNodes(ctx context.Context, labelSelector string) ([]Node, string, error) {
	q := url.Values{}
	if labelSelector != "" {
		q.Set("labelSelector", labelSelector)
	}
	var list struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Items []Node `json:"items"`
	}
	if err := k.do(ctx, http.MethodGet, "/api/v1/nodes", q, nil, &list); err != nil {
		return nil, "", err
	}
	return list.Items, list.Metadata.ResourceVersion, nil
}

// watchTimeout bounds one watch request (the apiserver closes it then; the cache watches again
// from the last resourceVersion), so a connection that died silently is noticed.
const watchTimeout = 5 * time.Minute

// WatchNodes watches Nodes from resourceVersion, with bookmarks.
func (k *KubeClient) WatchNodes(ctx context.Context, labelSelector, resourceVersion string) (NodeWatch, error) {
	q := url.Values{"watch": {"true"}, "allowWatchBookmarks": {"true"},
		"resourceVersion": {resourceVersion}, "timeoutSeconds": {strconv.Itoa(int(watchTimeout / time.Second))}}
	if labelSelector != "" {
		q.Set("labelSelector", labelSelector)
	}
	ctx, cancel := context.WithTimeout(ctx, watchTimeout+30*time.Second)
	req, err := k.request(ctx, http.MethodGet, "/api/v1/nodes", q, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	res, err := k.watch.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		defer res.Body.Close()
		return nil, apiError(res)
	}
	return &httpNodeWatch{body: res.Body, dec: json.NewDecoder(bufio.NewReader(res.Body)), cancel: cancel}, nil
}

type httpNodeWatch struct {
	body   io.ReadCloser
	dec    *json.Decoder
	cancel context.CancelFunc
}

func (w *httpNodeWatch) Next() (string, Node, error) {
	var ev struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if err := w.dec.Decode(&ev); err != nil {
		return "", Node{}, err
	}
	if ev.Type == "ERROR" {
		se := &StatusError{}
		if err := json.Unmarshal(ev.Object, se); err != nil {
			return "", Node{}, err
		}
		return "", Node{}, se
	}
	var n Node
	if err := json.Unmarshal(ev.Object, &n); err != nil {
		return "", Node{}, fmt.Errorf("decoding a %s node event: %w", ev.Type, err)
	}
	return ev.Type, n, nil
}

func (w *httpNodeWatch) Close() {
	w.cancel()
	_ = w.body.Close()
}

// ---- Leases (coordination.k8s.io/v1) ----

// Lease is a coordination.k8s.io/v1 Lease with the fields leader election uses.
type Lease struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   LeaseMeta `json:"metadata"`
	Spec       LeaseSpec `json:"spec"`
}

// LeaseMeta is a Lease's metadata.
type LeaseMeta struct {
	Name            string `json:"name"`
	Namespace       string `json:"namespace"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// LeaseSpec is a Lease's spec; times are MicroTime strings (RFC 3339 with microseconds).
type LeaseSpec struct {
	HolderIdentity       *string `json:"holderIdentity,omitempty"`
	LeaseDurationSeconds *int32  `json:"leaseDurationSeconds,omitempty"`
	AcquireTime          *string `json:"acquireTime,omitempty"`
	RenewTime            *string `json:"renewTime,omitempty"`
	LeaseTransitions     *int32  `json:"leaseTransitions,omitempty"`
}

// MicroTime formats t as the API's MicroTime.
func MicroTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func leasePath(ns, name string) string {
	p := "/apis/coordination.k8s.io/v1/namespaces/" + url.PathEscape(ns) + "/leases"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// GetLease reads a Lease.
func (k *KubeClient) GetLease(ctx context.Context, ns, name string) (*Lease, error) {
	l := &Lease{}
	return l, k.do(ctx, http.MethodGet, leasePath(ns, name), nil, nil, l)
}

// CreateLease creates a Lease (409 if it exists).
func (k *KubeClient) CreateLease(ctx context.Context, l *Lease) (*Lease, error) {
	l.APIVersion, l.Kind = "coordination.k8s.io/v1", "Lease"
	out := &Lease{}
	return out, k.do(ctx, http.MethodPost, leasePath(l.Metadata.Namespace, ""), nil, l, out)
}

// UpdateLease replaces a Lease; its resourceVersion makes it fail with 409 if someone else wrote
// the Lease since it was read.
func (k *KubeClient) UpdateLease(ctx context.Context, l *Lease) (*Lease, error) {
	l.APIVersion, l.Kind = "coordination.k8s.io/v1", "Lease"
	out := &Lease{}
	return out, k.do(ctx, http.MethodPut, leasePath(l.Metadata.Namespace, l.Metadata.Name), nil, l, out)
}
