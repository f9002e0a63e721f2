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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	server *url.URL
	client *http.Client // requests with a timeout
	watch  *http.Client // long-running watches (no overall timeout)
	token  func() (string, error)
	// tokenRejected, when set, is told that the API server answered 401 (the token is read
	// again before the next request).
	tokenRejected func()
	UserAgent     string
	// WatchTimeout bounds one watch request (default 5 minutes): the API server ends it then and
	// the node cache watches again from the last resourceVersion, so a connection that died
	// silently is noticed.
	WatchTimeout time.Duration
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
func (k *KubeClient) apiError(res *http.Response) error {
	if res.StatusCode == http.StatusUnauthorized && k.tokenRejected != nil {
		k.tokenRejected()
	}
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
		return k.apiError(res)
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

// defaultWatchTimeout is KubeClient.WatchTimeout's default.
const defaultWatchTimeout = 5 * time.Minute

// WatchNodes watches Nodes from resourceVersion, with bookmarks.
func (k *KubeClient) WatchNodes(ctx context.Context, labelSelector, resourceVersion string) (NodeWatch, error) {
	watchTimeout := cmp.Or(k.WatchTimeout, defaultWatchTimeout)
	q := url.Values{"watch": {"true"}, "allowWatchBookmarks": {"true"},
		"resourceVersion": {resourceVersion}, "timeoutSeconds": {strconv.Itoa(max(int(watchTimeout/time.Second), 1))}}
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
		return nil, k.apiError(res)
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
