package edge_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	. "github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/components/edge/edgetest"
)

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// fakeDNS answers A queries for known names with 127.0.0.1 and NXDOMAIN otherwise, on a loopback
// UDP port, recording every name asked: the resolver nginx uses for upstream names in the tests.
type fakeDNS struct {
	conn  net.PacketConn
	known map[string]bool
	mu    sync.Mutex
	asked []string
}

func startDNS(t testing.TB, names ...string) *fakeDNS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	d := &fakeDNS{conn: conn, known: map[string]bool{}}
	for _, n := range names {
		d.known[n+"."] = true
	}
	done := make(chan struct{})
	go d.serve(done)
	t.Cleanup(func() { conn.Close(); <-done })
	return d
}

func (d *fakeDNS) addr() string { return d.conn.LocalAddr().String() }

func (d *fakeDNS) serve(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		name := strings.ToLower(q.Name.String())
		d.mu.Lock()
		d.asked = append(d.asked, name)
		d.mu.Unlock()
		rcode := dnsmessage.RCodeSuccess
		if !d.known[name] {
			rcode = dnsmessage.RCodeNameError
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rcode})
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if rcode == dnsmessage.RCodeSuccess && q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		}
		msg, err := b.Finish()
		if err == nil {
			_, _ = d.conn.WriteTo(msg, from)
		}
	}
}

func (d *fakeDNS) wasAsked(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.asked {
		if a == name+"." {
			return true
		}
	}
	return false
}

// serveNginx runs the start script with conf in the foreground until the test ends, and waits
// (bounded) for the health endpoint.
func serveNginx(t *testing.T, conf string, healthPort int) {
	t.Helper()
	nginx := edgetest.NginxBinary(t)
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	require.NoError(t, os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644))
	cmd, _ := edgetest.RunStartScript(t, nginx, conf, resolv, "-g", "daemon off;")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// The script execs nginx, so the process group is the master and its workers.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx output:\n%s", logs.String())
		}
	})
	client := http.Client{Timeout: time.Second}
	for i := 0; i < 100; i++ {
		select {
		case err := <-exited:
			t.Fatalf("nginx exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", healthPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not answer /healthz within 5s\n%s", logs.String())
}

// backend is a local test server that names itself, the path and the host it was asked for.
func backend(t *testing.T, name string) int {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Host, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	port, err := strconv.Atoi(s.URL[strings.LastIndex(s.URL, ":")+1:])
	require.NoError(t, err)
	return port
}

type reply struct {
	status int
	body   string
}

func get(t *testing.T, port int, host, path string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	require.NoError(t, err)
	req.Host = host
	client := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	require.NoError(t, err, "GET %s%s", host, path)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b)}
}

func testOptions(httpPort, healthPort int, dns string) ConfOptions {
	return ConfOptions{
		ListenAddress: "127.0.0.1", HTTPPort: httpPort, HealthPort: healthPort,
		Resolvers: []string{dns}, ClusterDomain: "cluster.local",
		ConnectTimeout: "2s", ReadTimeout: "5s", SendTimeout: "5s", ClientMaxBodySize: "1k",
	}
}

func TestNginxRoutesHostsPathsAndPlaygrounds(t *testing.T) {
	edgetest.NginxBinary(t)
	web, api, gateway, admin := backend(t, "web"), backend(t, "api"), backend(t, "gateway"), backend(t, "admin")
	blog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "blog") }))
	t.Cleanup(blog.Close)
	blogPort, perr := strconv.Atoi(blog.URL[strings.LastIndex(blog.URL, ":")+1:])
	require.NoError(t, perr)
	closed := freePort(t) // nothing listens here: a Service whose pods are all down
	dns := startDNS(t,
		"web.apps.svc.cluster.local", "api.apps.svc.cluster.local", "down.apps.svc.cluster.local", "blog.apps.svc.cluster.local",
		"gateway.play-alpha.svc.cluster.local", "admin.play-alpha.svc.cluster.local", "gateway.play-alpha-x.svc.cluster.local")
	httpPort, healthPort := freePort(t), freePort(t)
	o := testOptions(httpPort, healthPort, dns.addr())
	o.Playgrounds = &Playgrounds{Domain: "play.example.test", NamespacePrefix: "play-", Service: "gateway", Port: gateway,
		Extra: []PlaygroundGateway{{Service: "admin", Port: admin}}}
	conf, err := NginxConf([]Route{
		{Host: "shop.example.test", PathPrefix: "/", Namespace: "apps", Service: "web", Port: web},
		{Host: "shop.example.test", PathPrefix: "/api", Namespace: "apps", Service: "api", Port: api},
		{Host: "*.static.example.test", PathPrefix: "/", Namespace: "apps", Service: "web", Port: web},
		{Host: "api.example.test", PathPrefix: "/v1/", Namespace: "apps", Service: "api", Port: api},
		{Host: "down.example.test", PathPrefix: "/", Namespace: "apps", Service: "down", Port: closed},
		{Host: "missing.example.test", PathPrefix: "/", Namespace: "apps", Service: "missing", Port: web},
		{Host: "blog.example.test", PathPrefix: "/", Namespace: "apps", Service: "blog", Port: blogPort},
	}, o)
	require.NoError(t, err)
	serveNginx(t, conf, healthPort)

	cases := []struct {
		host, path string
		status     int
		body       string // prefix of the body; "" = not checked
	}{
		{"shop.example.test", "/", 200, "web shop.example.test /"},
		{"shop.example.test", "/cart", 200, "web shop.example.test /cart"},
		{"shop.example.test", "/api", 200, "api shop.example.test /api"},
		{"shop.example.test", "/api/orders", 200, "api shop.example.test /api/orders"},
		{"shop.example.test", "/apix", 200, "web shop.example.test /apix"}, // a prefix is a path segment
		{"img.static.example.test", "/a.png", 200, "web img.static.example.test /a.png"},
		{"api.example.test", "/v1/users", 200, "api api.example.test /v1/users"},
		{"api.example.test", "/v2/users", 404, ""}, // no route for other paths of that host
		{"alpha.play.example.test", "/login", 200, "gateway alpha.play.example.test /login"},
		{"alpha-admin.play.example.test", "/users", 200, "admin alpha-admin.play.example.test /users"}, // a second gateway
		{"alpha-x.play.example.test", "/", 200, "gateway alpha-x.play.example.test /"},                 // a feature with a hyphen
		{"beta.play.example.test", "/", 502, ""},                                                       // no playground beta: its gateway does not resolve
		{"a.b.play.example.test", "/", 404, ""},                                                        // not a feature label
		{"unknown.example.test", "/", 404, ""},                                                         // the default server
		{"down.example.test", "/", 502, ""},                                                            // the service resolves but nothing answers
		{"missing.example.test", "/", 502, ""},                                                         // the service does not exist
		{"shop.example.test", "/after-502", 200, "web"},                                                // still serving the rest
	}
	for _, c := range cases {
		got := get(t, httpPort, c.host, c.path)
		assert.Equal(t, c.status, got.status, "%s%s: %s", c.host, c.path, got.body)
		if c.body != "" {
			assert.True(t, strings.HasPrefix(got.body, c.body), "%s%s: got %q, want %q", c.host, c.path, got.body, c.body)
		}
	}
	assert.True(t, dns.wasAsked("gateway.play-alpha.svc.cluster.local"), "alpha's gateway is looked up in namespace play-alpha")
	assert.True(t, dns.wasAsked("gateway.play-beta.svc.cluster.local"), "beta's gateway is looked up in namespace play-beta")
	assert.True(t, dns.wasAsked("missing.apps.svc.cluster.local"))

	// An upstream that goes down while nginx runs fails only its own host.
	assert.Equal(t, reply{200, "blog"}, get(t, httpPort, "blog.example.test", "/"))
	blog.Close()
	assert.Equal(t, 502, get(t, httpPort, "blog.example.test", "/").status)
	assert.Equal(t, 200, get(t, httpPort, "shop.example.test", "/").status)
	assert.Equal(t, 200, get(t, httpPort, "alpha.play.example.test", "/").status)

	// The body limit applies (1k in this config).
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/api/upload", httpPort), strings.NewReader(strings.Repeat("x", 4096)))
	require.NoError(t, err)
	req.Host = "shop.example.test"
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// The health endpoint answers on its own port only.
	assert.Equal(t, 200, get(t, healthPort, "anything", "/healthz").status)
	assert.Equal(t, 404, get(t, httpPort, "anything", "/healthz").status)
}

func TestNginxServesHTTPSOnlyForRoutedHosts(t *testing.T) {
	edgetest.NginxBinary(t)
	web := backend(t, "web")
	dns := startDNS(t, "web.apps.svc.cluster.local")
	httpPort, httpsPort, healthPort := freePort(t), freePort(t), freePort(t)
	o := testOptions(httpPort, healthPort, dns.addr())
	o.TLS, o.HTTPSPort, o.TLSDir = true, httpsPort, edgetest.WriteCertificate(t, "shop.example.test")
	conf, err := NginxConf([]Route{{Host: "shop.example.test", PathPrefix: "/", Namespace: "apps", Service: "web", Port: web}}, o)
	require.NoError(t, err)
	serveNginx(t, conf, healthPort)

	client := func(serverName string) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{ServerName: serverName, InsecureSkipVerify: true}, // self-signed test certificate
		}}
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/x", httpsPort), nil)
	req.Host = "shop.example.test"
	resp, err := client("shop.example.test").Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "web shop.example.test /x", string(b))
	assert.Equal(t, "https", resp.Request.URL.Scheme)

	// An unknown name gets no certificate at all.
	req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/", httpsPort), nil)
	req.Host = "unknown.example.test"
	_, err = client("unknown.example.test").Do(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unrecognized name", "ssl_reject_handshake refuses names without a server")
	// Plain HTTP is only a redirect to HTTPS, path and query kept; unknown names still get 404.
	req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/cart?id=7", httpPort), nil)
	req.Host = "shop.example.test"
	noFollow := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	assert.Equal(t, "https://shop.example.test/cart?id=7", resp.Header.Get("Location"))
	assert.Equal(t, 404, get(t, httpPort, "unknown.example.test", "/").status)
}
