package program

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

const devKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"

// playgroundConfig is what `shoestring playground up` gives a playground of branch play/login
// made from a base stack whose services run in namespace "shop".
func playgroundConfig(t *testing.T, extra map[string]string) *stacks.Config {
	t.Helper()
	raw := map[string]string{
		"shoestring:cluster":     `{"mode":"existing","existing":{"kubeconfig":"/tmp/kubeconfig"}}`,
		"shoestring:namespace":   "play-login",
		"shoestring:podSecurity": `{"enforce":"baseline"}`,
		"shoestring:playground":  `{"branch":"play/login","baseNamespace":"shop","created":"2026-11-20T10:00:00Z"}`,
		"shoestring:edge":        `{"playgrounds":{"domain":"play.example.com"}}`,
		"shoestring:services": `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}]},` +
			`{"name":"users","image":"example/users:1.0","ports":[{"name":"http","port":8080}]}]`,
	}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := stacks.Parse(raw, nil)
	require.NoError(t, err)
	return cfg
}

func deployment(t *testing.T, rec *pulumimock.Record, name string) map[string]any {
	t.Helper()
	for _, r := range rec.ByType("kubernetes:apps/v1:Deployment") {
		p := r.Plain()
		if p["metadata"].(map[string]any)["name"] == name {
			return p
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
}

func podSpec(d map[string]any) map[string]any {
	return d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
}

func TestPlaygroundPodsFallBackToTheBaseNamespace(t *testing.T) {
	cfg := playgroundConfig(t, nil)
	rec, err := pulumimock.Run("play-login", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	for _, svc := range []string{"gateway", "users"} {
		spec := podSpec(deployment(t, rec, svc))
		assert.Equal(t, map[string]any{"searches": []any{"shop.svc.cluster.local"}}, spec["dnsConfig"], svc)
		assert.Nil(t, spec["dnsPolicy"], "the default ClusterFirst: the pod's own namespace is searched first")
	}
	assert.Empty(t, rec.ByType("kubernetes:apps/v1:DaemonSet"), "the base stack's edge serves the playground")

	// The same services in a base stack get no extra search path.
	base := playgroundConfig(t, map[string]string{"shoestring:namespace": "shop", "shoestring:playground": `{}`})
	rec, err = pulumimock.Run("sandbox", func(ctx *pulumi.Context) error { return Deploy(ctx, base) })
	require.NoError(t, err)
	assert.Nil(t, podSpec(deployment(t, rec, "users"))["dnsConfig"])
}

func TestDevModePods(t *testing.T) {
	cfg := playgroundConfig(t, map[string]string{
		"shoestring:devMode":  `{"allowed":true,"services":[{"name":"users","codePath":"/srv/app"}],"authorizedKeys":{"alice":"` + devKey + `"}}`,
		"shoestring:localDev": `{"imagePullPolicy":"IfNotPresent"}`,
	})
	rec, err := pulumimock.Run("play-login", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)

	spec := podSpec(deployment(t, rec, "users"))
	var inits []string
	for _, c := range spec["initContainers"].([]any) {
		inits = append(inits, c.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"dev-prepare-code", "dev-sftp"}, inits)
	app := spec["containers"].([]any)[0].(map[string]any)
	assert.Equal(t, "app", app["name"])
	assert.Nil(t, app["command"], "the app's command is unchanged")
	assert.Equal(t, "IfNotPresent", app["imagePullPolicy"])
	assert.Equal(t, []any{map[string]any{"name": "dev-code", "mountPath": "/srv/app"}}, app["volumeMounts"])
	assert.EqualValues(t, cfg.DevMode.GID, spec["securityContext"].(map[string]any)["fsGroup"], "the code copy is shared through the developer's group")

	gw := podSpec(deployment(t, rec, "gateway"))
	assert.Nil(t, gw["initContainers"], "only the services listed run in dev mode")
	assert.Equal(t, "IfNotPresent", gw["containers"].([]any)[0].(map[string]any)["imagePullPolicy"])

	secrets := rec.ByType("kubernetes:core/v1:Secret")
	var keys map[string]any
	for _, s := range secrets {
		p := s.Plain()
		if p["metadata"].(map[string]any)["name"] == "dev-mode-keys-users" {
			keys = p["stringData"].(map[string]any)
			assert.Equal(t, "play-login", p["metadata"].(map[string]any)["namespace"])
		}
	}
	assert.Equal(t, map[string]any{"alice.pub": devKey + "\n"}, keys)
}

func TestDevToolingOutputs(t *testing.T) {
	cfg := playgroundConfig(t, map[string]string{
		"shoestring:devMode": `{"allowed":true,"services":[{"name":"users","codePath":"/srv/app"},{"name":"gateway"}],"authorizedKeys":{"alice":"` + devKey + `"}}`,
	})
	out := DevToolingOutputs(cfg)
	assert.Equal(t, map[string]string{
		"portForward": "kubectl --namespace play-login port-forward deployment/users 2222:2222",
		"sftp":        "sftp -P 2222 dev@127.0.0.1:/srv/app",
		"ssh":         "ssh -p 2222 dev@127.0.0.1",
		"codePath":    "/srv/app",
	}, out["devMode"]["users"])
	assert.Equal(t, "kubectl --namespace play-login port-forward deployment/gateway 2223:2222", out["devMode"]["gateway"]["portForward"], "one local port per service")
	assert.Equal(t, map[string]string{
		"connect":   "telepresence connect --namespace play-login",
		"intercept": "telepresence intercept users --port 8080:8080 --env-file users.env",
		"replace":   "telepresence replace users --container app --env-file users.env",
		"envFile":   "users.env",
		"leave":     "telepresence leave users",
		"quit":      "telepresence quit",
	}, out["telepresence"]["users"])

	// Without dev mode there are no dev-mode commands, but Telepresence works everywhere.
	out = DevToolingOutputs(playgroundConfig(t, nil))
	assert.NotContains(t, out, "devMode")
	assert.Len(t, out["telepresence"], 2)
}

func TestLocalDevImagesAndCodeMounts(t *testing.T) {
	cfg := playgroundConfig(t, map[string]string{
		"shoestring:podSecurity": `{"enforce":"privileged"}`,
		"shoestring:localDev":    `{"imagePullPolicy":"Never","codeMounts":[{"service":"users","hostPath":"/hosthome/alice/users","path":"/app"}]}`,
	})
	rec, err := pulumimock.Run("dev", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	spec := podSpec(deployment(t, rec, "users"))
	app := spec["containers"].([]any)[0].(map[string]any)
	assert.Equal(t, "Never", app["imagePullPolicy"])
	assert.Equal(t, []any{map[string]any{"name": "host-code-0", "mountPath": "/app"}}, app["volumeMounts"])
	assert.Contains(t, spec["volumes"], map[string]any{"name": "host-code-0", "hostPath": map[string]any{"path": "/hosthome/alice/users", "type": "Directory"}})
	assert.Nil(t, podSpec(deployment(t, rec, "gateway"))["volumes"], "only the service named gets the mount")
}
