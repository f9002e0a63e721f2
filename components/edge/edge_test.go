package edge_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/components/edge/edgetest"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
)

const (
	nsType = "kubernetes:core/v1:Namespace"
	cmType = "kubernetes:core/v1:ConfigMap"
	dsType = "kubernetes:apps/v1:DaemonSet"
)

func testArgs() *Args {
	return &Args{
		Namespace: "edge", Image: "nginx:1.27.3-alpine",
		Routes: []Route{
			{Host: "shop.example.com", PathPrefix: "/", Namespace: "apps", Service: "web", Port: 8080},
			{Host: "shop.example.com", PathPrefix: "/api/", Namespace: "apps", Service: "api", Port: 9000},
		},
		Conf: ConfOptions{
			HTTPPort: 80, HTTPSPort: 443, HealthPort: 10254, ClusterDomain: "cluster.local",
			ConnectTimeout: "5s", ReadTimeout: "60s", SendTimeout: "60s", ClientMaxBodySize: "10m",
			Playgrounds: &Playgrounds{Domain: "play.example.com", NamespacePrefix: "play-", Service: "gateway", Port: 80},
		},
		CPURequest: "10m", MemoryRequest: "16Mi", MemoryLimit: "64Mi",
	}
}

func deploy(t *testing.T, args *Args) *pulumimock.Record {
	t.Helper()
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		_, err := New(ctx, "edge", args)
		return err
	})
	require.NoError(t, err)
	return rec
}

func plain(t *testing.T, rec *pulumimock.Record, typ string) map[string]any {
	t.Helper()
	r, err := rec.One(typ, "edge")
	require.NoError(t, err)
	return r.Plain()
}

func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "at %q: not an object: %v", k, v)
			v = m[k]
		case int:
			l, ok := v.([]any)
			require.True(t, ok && k < len(l), "at [%d]: not a long enough list: %v", k, v)
			v = l[k]
		}
	}
	return v
}

func TestNamespaceIsTheOnlyPrivilegedOne(t *testing.T) {
	ns := plain(t, deploy(t, testArgs()), nsType)
	assert.Equal(t, "edge", dig(t, ns, "metadata", "name"))
	labels := dig(t, ns, "metadata", "labels").(map[string]any)
	for _, mode := range []string{"enforce", "warn", "audit"} {
		assert.Equal(t, "privileged", labels["pod-security.kubernetes.io/"+mode], mode)
	}
}

func TestConfigMapHoldsTheGeneratedConf(t *testing.T) {
	args := testArgs()
	cm := plain(t, deploy(t, args), cmType)
	assert.Equal(t, Name, dig(t, cm, "metadata", "name"))
	assert.Equal(t, "edge", dig(t, cm, "metadata", "namespace"))
	conf := dig(t, cm, "data", ConfigKey).(string)
	want, err := Conf(args)
	require.NoError(t, err)
	assert.Equal(t, want, conf)

	for _, line := range []string{
		"listen 80 default_server;",
		"server_name shop.example.com;",
		"location = /api {",
		"location /api/ {",
		"set $upstream api.apps.svc.cluster.local:9000;",
		"set $upstream web.apps.svc.cluster.local:8080;",
		"proxy_pass http://$upstream;",
		"include resolver.conf;",
		"client_max_body_size 10m;",
		"proxy_connect_timeout 5s;",
		"proxy_read_timeout 60s;",
		"access_log /dev/stdout edge;",
		"listen 10254;",
		"location = /healthz {",
		`server_name "~^(?<playground>[a-z0-9]([-a-z0-9]{0,56}[a-z0-9])?)\.play\.example\.com$";`,
		"set $upstream gateway.play-$playground.svc.cluster.local:80;",
	} {
		assert.Contains(t, conf, "\n"+strings.Repeat(" ", indentOf(conf, line))+line+"\n")
	}
	assert.NotContains(t, conf, "443", "no certificate: 443 is not served")
	assert.NotContains(t, conf, "ssl")
	// Every proxy_pass goes through a variable: nginx resolves nothing at start.
	for _, l := range strings.Split(conf, "\n") {
		if strings.Contains(l, "proxy_pass") {
			assert.Equal(t, "proxy_pass http://$upstream;", strings.TrimSpace(l))
		}
	}
}

// indentOf finds how deep line is indented in conf (-1 makes Contains fail with the whole conf).
func indentOf(conf, line string) int {
	for _, l := range strings.Split(conf, "\n") {
		if strings.TrimSpace(l) == line {
			return len(l) - len(strings.TrimLeft(l, " "))
		}
	}
	return 0
}

func TestDaemonSetRunsNginxOnEveryNodesNetwork(t *testing.T) {
	args := testArgs()
	rec := deploy(t, args)
	ds := plain(t, rec, dsType)
	assert.Equal(t, Name, dig(t, ds, "metadata", "name"))
	assert.Equal(t, "edge", dig(t, ds, "metadata", "namespace"))
	spec := dig(t, ds, "spec")
	assert.Equal(t, map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": 1.0, "maxSurge": 0.0}}, dig(t, spec, "updateStrategy"))
	assert.Equal(t, dig(t, spec, "selector", "matchLabels"), dig(t, spec, "template", "metadata", "labels"))

	pod := dig(t, spec, "template", "spec")
	assert.Equal(t, true, dig(t, pod, "hostNetwork"))
	assert.Equal(t, "ClusterFirstWithHostNet", dig(t, pod, "dnsPolicy"))
	assert.Equal(t, []any{map[string]any{"operator": "Exists", "effect": "NoSchedule"}}, dig(t, pod, "tolerations"))

	c := dig(t, pod, "containers", 0)
	assert.Equal(t, "nginx:1.27.3-alpine", dig(t, c, "image"))
	assert.Equal(t, []any{"/bin/sh", "-c", StartScript, "edge-start"}, dig(t, c, "command"))
	assert.Equal(t, []any{"-g", "daemon off;"}, dig(t, c, "args"))
	assert.Equal(t, []any{
		map[string]any{"name": "http", "containerPort": 80.0, "hostPort": 80.0, "protocol": "TCP"},
		map[string]any{"name": "health", "containerPort": 10254.0, "protocol": "TCP"},
	}, dig(t, c, "ports"), "no certificate: no 443")
	assert.Equal(t, map[string]any{
		"requests": map[string]any{"cpu": "10m", "memory": "16Mi"},
		"limits":   map[string]any{"memory": "64Mi"},
	}, dig(t, c, "resources"))
	assert.Equal(t, "/healthz", dig(t, c, "readinessProbe", "httpGet", "path"))
	assert.Equal(t, "health", dig(t, c, "readinessProbe", "httpGet", "port"))
	assert.Equal(t, []any{"ALL"}, dig(t, c, "securityContext", "capabilities", "drop"))

	// The ConfigMap is mounted and the pod template carries its checksum.
	assert.Equal(t, Name, dig(t, pod, "volumes", 0, "configMap", "name"))
	assert.Equal(t, "/etc/edge/config", dig(t, c, "volumeMounts", 0, "mountPath"))
	conf := dig(t, plain(t, rec, cmType), "data", ConfigKey).(string)
	assert.Equal(t, Checksum(conf), dig(t, spec, "template", "metadata", "annotations", ChecksumAnnot))
}

func TestConfigChangeRollsThePods(t *testing.T) {
	checksum := func(a *Args) any {
		return dig(t, plain(t, deploy(t, a), dsType), "spec", "template", "metadata", "annotations", ChecksumAnnot)
	}
	a, b := testArgs(), testArgs()
	assert.Equal(t, checksum(a), checksum(b), "same config, same pods")
	b.Routes = append(b.Routes, Route{Host: "blog.example.com", PathPrefix: "/", Namespace: "apps", Service: "blog", Port: 80})
	assert.NotEqual(t, checksum(a), checksum(b))
	c := testArgs()
	c.Conf.ReadTimeout = "120s"
	assert.NotEqual(t, checksum(a), checksum(c))
}

func TestCertificateSecretTurnsOnHTTPS(t *testing.T) {
	args := testArgs()
	args.CertificateSecret = "edge-tls"
	rec := deploy(t, args)
	ds := plain(t, rec, dsType)
	pod := dig(t, ds, "spec", "template", "spec")
	c := dig(t, pod, "containers", 0)
	assert.Equal(t, map[string]any{"name": "https", "containerPort": 443.0, "hostPort": 443.0, "protocol": "TCP"}, dig(t, c, "ports", 1))
	assert.Equal(t, "edge-tls", dig(t, pod, "volumes", 2, "secret", "secretName"))
	assert.Equal(t, "/etc/edge/tls", dig(t, c, "volumeMounts", 2, "mountPath"))

	conf := dig(t, plain(t, rec, cmType), "data", ConfigKey).(string)
	assert.Contains(t, conf, "listen 443 ssl default_server;")
	assert.Contains(t, conf, "ssl_reject_handshake on;")
	assert.Contains(t, conf, "ssl_certificate /etc/edge/tls/tls.crt;")
	assert.Equal(t, 3, strings.Count(conf, "listen 443 ssl"), "the default server, shop.example.com and the playgrounds")
}

func TestNginxConfRefusesConflictingRoutes(t *testing.T) {
	o := testArgs().Conf
	_, err := NginxConf([]Route{
		{Host: "a.example.com", PathPrefix: "/api", Namespace: "apps", Service: "x", Port: 1},
		{Host: "a.example.com", PathPrefix: "/api/", Namespace: "apps", Service: "y", Port: 1},
	}, o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a.example.com/api goes to both apps/x:1 and apps/y:1")

	_, err = NginxConf([]Route{{Host: "a.example.com;", PathPrefix: "/", Namespace: "apps", Service: "x", Port: 1}}, o)
	require.Error(t, err)

	conf, err := NginxConf([]Route{
		{Host: "a.example.com", PathPrefix: "/api", Namespace: "apps", Service: "x", Port: 1},
		{Host: "a.example.com", PathPrefix: "/api/", Namespace: "apps", Service: "x", Port: 1},
	}, o)
	require.NoError(t, err, "the same target twice is one route")
	assert.Equal(t, 1, strings.Count(conf, "location /api/ {"))
	assert.Contains(t, conf, "location / {\n            return 404;", "a host without a / route answers 404 elsewhere")
}

func TestStartScriptWritesTheResolverFromResolvConf(t *testing.T) {
	for _, tc := range []struct{ nameserver, want string }{
		{"10.96.0.10", "resolver 10.96.0.10 valid=10s ipv6=off;"},
		{"fd00::a", "resolver [fd00::a] valid=10s ipv6=off;"},
		{"10.96.0.10\nnameserver 10.96.0.11", "resolver 10.96.0.10 10.96.0.11 valid=10s ipv6=off;"},
	} {
		conf, err := NginxConf(nil, testArgs().Conf)
		require.NoError(t, err)
		out, prefix, err := edgetest.NginxCheck(t, conf, tc.nameserver)
		require.NoError(t, err, out)
		assert.Contains(t, out, "test is successful")
		got, err := os.ReadFile(filepath.Join(prefix, ResolverInclude))
		require.NoError(t, err)
		assert.Equal(t, tc.want+"\n", string(got))
	}
}
