package program_test

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
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	dnssynccomp "github.com/shoestring-dev/shoestring/components/dnssync"
	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/dnssync"
	"github.com/shoestring-dev/shoestring/internal/engine"
	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/localimages"
	"github.com/shoestring-dev/shoestring/internal/testing/cloudflarefake"
	"github.com/shoestring-dev/shoestring/stacks"
)

// localImages points a shipped stack's workloads at the images built here, as Pulumi.dev.yaml
// does, so they run on the real node without pulling; and, like dev, generates the database
// password once for the api and MySQL. Everything else is the stack's own.
func localImages(t *testing.T, l *lifecycle) {
	t.Helper()
	cfg := l.config()
	l.service("api")["image"] = localimages.ExampleAPI
	backing, ok := cfg["shoestring:backing"].([]any)
	require.True(t, ok, "shoestring:backing is a list in the resolved stack file")
	for _, b := range backing {
		m := b.(map[string]any)
		switch m["name"] {
		case "mysql":
			m["image"] = localimages.MariaDB
		case "redis":
			m["image"] = localimages.Redis
		}
	}
	edge, _ := cfg["shoestring:edge"].(map[string]any)
	if edge == nil {
		edge = map[string]any{}
		cfg["shoestring:edge"] = edge
	}
	edge["image"] = localimages.Nginx
	cfg["shoestring:waitForImage"] = localimages.WaitFor
	cfg["shoestring:localDev"] = map[string]any{
		"imagePullPolicy": "Never",
		"sameSecrets":     []any{[]any{"api.DB_PASSWORD", "mysql.MYSQL_PASSWORD"}},
	}
}

// openWith writes the lifecycle's stack file and opens it retargeted at its cluster with more
// engine options (what lifecycle.open sets, plus mutate's).
func openWith(ctx context.Context, l *lifecycle, mutate func(*engine.Options)) (*engine.Stack, error) {
	b, err := yaml.Marshal(l.file)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(l.project, "Pulumi."+l.stack+".yaml"), b, 0o644); err != nil {
		return nil, err
	}
	opts := engine.Options{
		ProjectDir: l.project, Stack: l.stack, StateDir: l.state, ExistingCluster: l.kubeconfig,
		Program: program.Run, Plugins: plugins, PulumiRoot: pulumiRoot(l.t), Progress: testLog{l.t},
	}
	mutate(&opts)
	return engine.Open(ctx, opts)
}

// publishedAddrs are the addresses the controller's contract publishes for these nodes: each
// Ready, schedulable node's ExternalIPs, or its InternalIPs when it has none and fallback is on.
func publishedAddrs(nodes []corev1.Node, fallback bool) []string {
	var out []string
	for _, n := range nodes {
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
			}
		}
		if !ready || n.Spec.Unschedulable || n.DeletionTimestamp != nil {
			continue
		}
		pick := func(t corev1.NodeAddressType) (ips []string) {
			for _, a := range n.Status.Addresses {
				if a.Type == t && !slices.Contains(ips, a.Address) {
					ips = append(ips, a.Address)
				}
			}
			return ips
		}
		ips := pick(corev1.NodeExternalIP)
		if len(ips) == 0 && fallback {
			ips = pick(corev1.NodeInternalIP)
		}
		out = append(out, ips...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestSandboxOnARealNodeSyncsDNSThroughTheDouble deploys the shipped sandbox stack, retargeted at a
// local cluster with one real node and three simulated ones, with its DNS sync kept on against the
// Cloudflare double (engine.Options.CloudflareAPI) on the cluster's host bridge: the controller's
// image built here from cmd/dnssync, the token generated locally. `up` succeeds only when the
// provider sees the controller's Deployment ready, which needs the pod (user 65532) to read its
// mounted token; the double then holds exactly the A records of the nodes the controller's
// contract publishes, with sandbox's TTL and proxy setting, a record a person made at the same
// name untouched and a stale record of the same owner removed. The edge keeps sandbox's HTTPS
// (engine.Options.LocalEdgeCertificate): a client trusting the certificate made for the copy gets
// the api's answer through the real node's port 443. Needs SHOESTRING_E2E=1 and root.
func TestSandboxOnARealNodeSyncsDNSThroughTheDouble(t *testing.T) {
	localcluster.SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	specs, err := localimages.Named(localimages.Pause, localimages.WaitFor, localimages.Nginx, localimages.MariaDB, localimages.Redis, localimages.ExampleAPI)
	require.NoError(t, err)
	cluster, kube := realNodeCluster(ctx, t, localcluster.Options{}, append(specs, localimages.DNSSyncSpec()))

	// The double listens on the host side of the real node's bridge: on this machine, reached by
	// the node's pods. Port 443, the one the stack's dns-sync NetworkPolicy lets the controller
	// reach (plain HTTP: the controller takes the base URL as given).
	st := cluster.State()
	require.NotNil(t, st.Net, "the cluster has a real node's network")
	ln, err := net.Listen("tcp", net.JoinHostPort(st.Net.HostIP(), "443"))
	require.NoError(t, err)
	api := fmt.Sprintf("http://%s/client/v4/", ln.Addr())

	l := newLifecycle(t, "sandbox", cluster.KubeconfigPath())
	localImages(t, l)
	s, err := openWith(ctx, l, func(o *engine.Options) { o.CloudflareAPI, o.LocalEdgeCertificate = api, true })
	require.NoError(t, err)
	cfg := s.Config()
	require.True(t, cfg.DNSSync.Enabled, "the retargeted sandbox keeps DNS sync on")
	assert.Equal(t, api, cfg.DNSSync.APIBaseURL)
	assert.Equal(t, localimages.DNSSync, cfg.DNSSync.Image)
	assert.Empty(t, cfg.DNS.ZoneID, "the zone is looked up by name in the double")
	assert.Empty(t, cfg.DNS.Aliases)
	assert.Empty(t, cfg.PlaygroundWildcard(), "no record for Pulumi's Cloudflare provider")
	assert.Contains(t, s.GeneratedSecrets(), "shoestring:secrets."+stacks.DNSSyncSecretGroup+"."+stacks.DNSSyncTokenName)
	token, err := s.Secret(ctx, stacks.DNSSyncSecretGroup, stacks.DNSSyncTokenName)
	require.NoError(t, err)
	require.NotEmpty(t, token)

	cf := cloudflarefake.NewServer(token)
	zoneID := cf.AddZone(cfg.DNS.Zone)
	name, owner := cfg.DNS.Name, cfg.DNSOwnerID()
	foreign := cf.Put(zoneID, cloudflarefake.Record{Name: name, Type: "A", Content: "192.0.2.77", TTL: 300, Comment: "made by hand"})
	stale := cf.Put(zoneID, cloudflarefake.Record{Name: name, Type: "A", Content: "192.0.2.99", TTL: 300, Comment: dnssync.OwnerComment(owner)})
	srv := &http.Server{Handler: cf, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("the double stopped serving: %v", err)
		}
	})

	start := time.Now()
	_, err = s.Up(ctx)
	require.NoError(t, err, "up of the retargeted sandbox, the provider awaiting the DNS-sync Deployment")
	upTook := time.Since(start)

	ns := cfg.DNSSync.Namespace
	t.Run("the controller runs on the real node as 65532 and reads its token", func(t *testing.T) {
		pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + dnssynccomp.Name})
		require.NoError(t, err)
		require.Len(t, pods.Items, 1)
		p := pods.Items[0]
		assert.Equal(t, localcluster.RealNodeName(0), p.Spec.NodeName, "kwok nodes are tainted: the pod runs on the real kubelet")
		sc := p.Spec.SecurityContext
		require.NotNil(t, sc)
		assert.Equal(t, int64(65532), *sc.RunAsUser)
		require.NotNil(t, sc.FSGroup, "the token Secret's files get the pod's group")
		assert.Equal(t, int64(65532), *sc.FSGroup)
		require.Len(t, p.Status.ContainerStatuses, 1)
		cs := p.Status.ContainerStatuses[0]
		assert.True(t, cs.Ready)
		assert.Zero(t, cs.RestartCount, "no crash loop")
		assert.Equal(t, localimages.DNSSync, cs.Image)
		authed := 0
		for _, r := range cf.Requests() {
			if r.Status < 300 {
				authed++
			}
		}
		assert.NotZero(t, authed, "the double answered requests carrying the generated token")
	})

	t.Run("the double holds the published nodes' A records and nothing else of the controller's", func(t *testing.T) {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		want := publishedAddrs(nodes.Items, cfg.DNSSync.InternalIPFallback)
		require.NotEmpty(t, want)
		var got []string
		var owned []cloudflarefake.Record
		for ctx.Err() == nil {
			changed := cf.Changed()
			got, owned = nil, nil
			for _, r := range cf.Records(zoneID) {
				if r.Name == name && r.Comment == dnssync.OwnerComment(owner) {
					owned = append(owned, r)
					got = append(got, r.Type+" "+r.Content)
				}
			}
			slices.Sort(got)
			var wantA []string
			for _, ip := range want {
				wantA = append(wantA, "A "+ip)
			}
			if slices.Equal(got, wantA) {
				break
			}
			select {
			case <-changed:
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
		require.NoError(t, ctx.Err(), "records never converged: have %v, want the A records of %v", got, want)
		var first, lastWrite time.Time
		writes := 0
		for _, r := range cf.Requests() {
			if first.IsZero() {
				first = r.At
			}
			if r.Method != http.MethodGet && r.Status < 300 {
				lastWrite, writes = r.At, writes+1
			}
		}
		t.Logf("up took %s; the controller's first request %s after up started, its last write %s after that (%d writes, %d requests); the records of %s: %v (nodes %d)",
			upTook.Round(time.Second), first.Sub(start).Round(time.Millisecond), lastWrite.Sub(first).Round(time.Millisecond),
			writes, len(cf.Requests()), name, got, len(nodes.Items))
		for _, r := range owned {
			assert.Equal(t, cfg.DNS.TTL, r.TTL, "sandbox's TTL")
			assert.Equal(t, cfg.DNS.Proxied, r.Proxied, "sandbox's proxy setting")
		}
		var sawForeign bool
		for _, r := range cf.Records(zoneID) {
			if r.ID == foreign.ID {
				sawForeign = true
				assert.Equal(t, foreign, r, "the hand-made record at the synced name is untouched")
			}
			// The controller rewrites an owned record in place rather than delete and create.
			if r.ID == stale.ID {
				assert.NotEqual(t, stale.Content, r.Content, "the owner's stale address is gone")
			}
		}
		assert.True(t, sawForeign, "the hand-made record is still there")
	})

	t.Run("the edge serves the api's host on the real node's 443 with the copy's certificate", func(t *testing.T) {
		assert.Equal(t, "edge-tls", cfg.Edge.CertificateSecret, "sandbox's certificate Secret")
		assert.Equal(t, stacks.CertificateStack, cfg.Edge.Certificate.Source)
		crt, err := s.Secret(ctx, stacks.EdgeSecretGroup, stacks.EdgeTLSCertificateName)
		require.NoError(t, err)
		roots := x509.NewCertPool()
		require.True(t, roots.AppendCertsFromPEM([]byte(crt)), "the generated certificate is PEM")
		node, err := kube.CoreV1().Nodes().Get(ctx, localcluster.RealNodeName(0), metav1.GetOptions{})
		require.NoError(t, err)
		var nodeIP string
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				nodeIP = a.Address
			}
		}
		require.NotEmpty(t, nodeIP)
		host := cfg.EdgeRoutes()[0].Host
		// The api's name, resolved to the real node by the dialer: the TLS handshake names it
		// (SNI) and checks the edge's certificate against the one generated for the copy.
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(nodeIP, "443"))
			},
		}}
		var last string
		for ctx.Err() == nil {
			resp, err := client.Get("https://" + host + "/")
			if err != nil {
				last = err.Error()
			} else {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				last = resp.Status + " " + string(body)
				var st apiStatus
				if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &st) == nil {
					require.NotNil(t, resp.TLS)
					assert.Equal(t, host, resp.TLS.ServerName)
					assert.Equal(t, "sandbox", st.AppEnv, "sandbox's api answered")
					t.Logf("https://%s/ through %s:443: %s, TLS 0x%x", host, nodeIP, resp.Status, resp.TLS.Version)
					return
				}
			}
			time.Sleep(time.Second)
		}
		t.Fatalf("https://%s/ through %s:443 never answered the api's status; last: %s", host, nodeIP, last)
	})
}
