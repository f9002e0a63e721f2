package stacks

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const devTestServices = `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}]},` +
	`{"name":"users","image":"example/users:1.0","ports":[{"name":"http","port":8080}]}]`

const aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"

// parseDev parses a stack with two services plus the given keys.
func parseDev(t *testing.T, raw map[string]string) (*Config, Errors) {
	t.Helper()
	all := map[string]string{"shoestring:services": devTestServices,
		"shoestring:cluster": `{"mode":"existing","existing":{"kubeconfig":"/tmp/kubeconfig"}}`}
	for k, v := range raw {
		all[k] = v
	}
	c, err := Parse(all, nil)
	if err == nil {
		return c, nil
	}
	var errs Errors
	require.True(t, errors.As(err, &errs), "%v", err)
	return nil, errs
}

func keysOfErrs(errs Errors) []string {
	var ks []string
	for _, e := range errs {
		ks = append(ks, e.Key)
	}
	return ks
}

func TestDevDefaults(t *testing.T) {
	c, errs := parseDev(t, nil)
	require.Empty(t, errs)
	assert.Equal(t, 7*24*time.Hour, c.Playground.MaxAgeDuration())
	assert.False(t, c.Playground.IsPlayground())
	assert.Nil(t, c.PlaygroundSearchDomains(), "no extra search path outside playgrounds")
	assert.Equal(t, "", c.PlaygroundHost())
	assert.False(t, c.DevMode.Allowed, "dev mode is forbidden unless a stack allows it")
	assert.Equal(t, DefaultDevSidecarImage, c.DevMode.SidecarImage)
	assert.Equal(t, "", c.LocalDev.ImagePullPolicy)
	assert.Equal(t, "services/users", c.Playground.SourceOf("users"))
}

func TestPlaygroundStack(t *testing.T) {
	c, errs := parseDev(t, map[string]string{
		"shoestring:namespace":  "play-login-form",
		"shoestring:playground": `{"branch":"play/Login_Form","baseNamespace":"shop","created":"2026-11-20T10:00:00Z","maxAge":"36h"}`,
		"shoestring:edge":       `{"playgrounds":{"domain":"play.example.com"},"clusterDomain":"k8s.internal"}`,
	})
	require.Empty(t, errs)
	assert.True(t, c.Playground.IsPlayground())
	assert.Equal(t, "login-form.play.example.com", c.PlaygroundHost())
	assert.Equal(t, []string{"shop.svc.k8s.internal"}, c.PlaygroundSearchDomains(), "the base namespace, in the cluster's DNS domain")
	assert.Equal(t, 36*time.Hour, c.Playground.MaxAgeDuration())
}

func TestPlaygroundConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]string
		key  string
		msg  string
	}{
		{"namespace not the branch's", map[string]string{"shoestring:namespace": "default",
			"shoestring:playground": `{"branch":"play/x","baseNamespace":"shop"}`}, "shoestring:namespace", `set it to "play-x"`},
		{"not a play branch", map[string]string{"shoestring:playground": `{"branch":"feature/x","baseNamespace":"shop"}`},
			"shoestring:playground.branch", "play/<feature>"},
		{"base missing", map[string]string{"shoestring:namespace": "play-x", "shoestring:playground": `{"branch":"play/x"}`},
			"shoestring:playground.baseNamespace", "is required in a playground stack"},
		{"base is itself", map[string]string{"shoestring:namespace": "play-x", "shoestring:playground": `{"branch":"play/x","baseNamespace":"play-x"}`},
			"shoestring:playground.baseNamespace", "own namespace"},
		{"base outside a playground", map[string]string{"shoestring:playground": `{"baseNamespace":"shop"}`},
			"shoestring:playground.baseNamespace", "only meaningful in a playground stack"},
		{"bad age", map[string]string{"shoestring:playground": `{"maxAge":"a week"}`}, "shoestring:playground.maxAge", "whole days"},
		{"gateway not deployed", map[string]string{"shoestring:namespace": "play-x", "shoestring:edge": `{"playgrounds":{"gatewayService":"api-gw"}}`,
			"shoestring:playground": `{"branch":"play/x","baseNamespace":"shop"}`}, "shoestring:edge.playgrounds.gatewayService", "every playground deploys the gateway"},
		{"source outside repo", map[string]string{"shoestring:playground": `{"sources":{"users":"../elsewhere"}}`},
			"shoestring:playground.sources.users", "relative path"},
		{"bad created", map[string]string{"shoestring:namespace": "play-x",
			"shoestring:playground": `{"branch":"play/x","baseNamespace":"shop","created":"yesterday"}`}, "shoestring:playground.created", "RFC 3339"},
		{"unknown key", map[string]string{"shoestring:playground": `{"maxage":"7d"}`}, "shoestring:playground.maxage", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseDev(t, tc.raw)
			require.NotEmpty(t, errs)
			assert.Contains(t, keysOfErrs(errs), tc.key)
			assert.Contains(t, errs.Error(), tc.msg)
		})
	}
}

// TestDevModeRefusedWhereForbidden: a stack that does not allow dev mode (prod as shipped) fails at
// preview when a service asks for it, naming the key and the fix.
func TestDevModeRefusedWhereForbidden(t *testing.T) {
	_, errs := parseDev(t, map[string]string{
		"shoestring:devMode": `{"services":[{"name":"users"}],"authorizedKeys":{"alice":"` + aliceKey + `"}}`,
	})
	require.Len(t, errs, 1)
	assert.Equal(t, "shoestring:devMode.services", errs[0].Key)
	assert.Equal(t, "users", errs[0].Value)
	assert.Contains(t, errs[0].Problem, "dev mode is forbidden in this stack")
	assert.Contains(t, errs[0].Fix, "devMode.allowed: true")

	// The shipped prod stack forbids it; appending a dev-mode service to it is refused.
	raw, secret, err := ReadStackFile("../Pulumi.prod.yaml")
	require.NoError(t, err)
	raw["shoestring:services"] = devTestServices
	delete(raw, "shoestring:overrides") // it names the shipped services
	raw["shoestring:devMode"] = `{"services":[{"name":"users"}],"authorizedKeys":{"alice":"` + aliceKey + `"}}`
	_, err = Parse(raw, secret)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:devMode.services")
	assert.Contains(t, err.Error(), "forbidden")
}

func TestDevModeAllowed(t *testing.T) {
	c, errs := parseDev(t, map[string]string{
		"shoestring:podSecurity": `{"enforce":"baseline"}`,
		"shoestring:devMode": `{"allowed":true,"services":[{"name":"users","codePath":"/srv/app"},{"name":"gateway"}],` +
			`"authorizedKeys":{"bob":"` + aliceKey + `","alice":"` + aliceKey + `"}}`,
	})
	require.Empty(t, errs)
	s, ok := c.DevMode.Enabled("users")
	assert.True(t, ok)
	assert.Equal(t, "/srv/app", s.CodePath)
	g, _ := c.DevMode.Enabled("gateway")
	assert.Equal(t, "/app", g.CodePath, "default code path")
	assert.Len(t, c.DevMode.AuthorizedKeys, 2)

	// The sidecar is non-root: the default (restricted) Pod Security level admits dev mode.
	_, errs = parseDev(t, map[string]string{
		"shoestring:devMode": `{"allowed":true,"services":[{"name":"users"}],"authorizedKeys":{"alice":"` + aliceKey + `"}}`,
	})
	assert.Empty(t, errs)
}

func TestDevModeKeysPerService(t *testing.T) {
	c, errs := parseDev(t, map[string]string{
		"shoestring:devMode": `{"allowed":true,"services":[{"name":"users","developers":["alice"]},{"name":"gateway"}],` +
			`"authorizedKeys":{"bob":"` + aliceKey + `","alice":"` + aliceKey + `"}}`,
	})
	require.Empty(t, errs)
	keys := c.DevMode.KeysByService()
	assert.Equal(t, []string{"alice"}, slices.Sorted(maps.Keys(keys["users"])), "users' sidecar takes only the developers it names")
	assert.Equal(t, []string{"alice", "bob"}, slices.Sorted(maps.Keys(keys["gateway"])), "no developers: every key")

	_, errs = parseDev(t, map[string]string{
		"shoestring:devMode": `{"allowed":true,"services":[{"name":"users","developers":["alcie"]}],"authorizedKeys":{"alice":"` + aliceKey + `"}}`,
	})
	require.Len(t, errs, 1)
	assert.Equal(t, "shoestring:devMode.services[0].developers[0]", errs[0].Key)
	assert.Contains(t, errs[0].Fix, "name one of: alice")
}

func TestDevModeConfigErrors(t *testing.T) {
	cases := []struct{ name, devMode, key, msg string }{
		{"unknown service", `{"allowed":true,"services":[{"name":"billing"}],"authorizedKeys":{"a":"` + aliceKey + `"}}`,
			"shoestring:devMode.services[0].name", "not a service"},
		{"no keys", `{"allowed":true,"services":[{"name":"users"}]}`, "shoestring:devMode.authorizedKeys", "nobody could log in"},
		{"not a key", `{"allowed":true,"authorizedKeys":{"alice":"hunter2"}}`, "shoestring:devMode.authorizedKeys.alice", "not an SSH public key"},
		{"key of the right shape that does not parse", `{"allowed":true,"authorizedKeys":{"alice":"ssh-ed25519 AAAA alice"}}`,
			"shoestring:devMode.authorizedKeys.alice", "is not an SSH public key"},
		{"two keys in one value", `{"allowed":true,"authorizedKeys":{"alice":"` + aliceKey + `\n` + aliceKey + `"}}`,
			"shoestring:devMode.authorizedKeys.alice", "is more than one line"},
		{"private key", `{"allowed":true,"authorizedKeys":{"alice":"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn"}}`,
			"shoestring:devMode.authorizedKeys.alice", "is a private key"},
		{"relative code path", `{"allowed":true,"services":[{"name":"users","codePath":"app"}],"authorizedKeys":{"a":"` + aliceKey + `"}}`,
			"shoestring:devMode.services[0].codePath", "absolute"},
		{"bad user", `{"user":"Root User"}`, "shoestring:devMode.user", "login name"},
		{"sidecar image", `{"sidecarImage":"openssh server"}`, "shoestring:devMode.sidecarImage", "is not an image reference"},
		{"privileged port", `{"localPortBase":22}`, "shoestring:devMode.localPortBase", "unprivileged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseDev(t, map[string]string{"shoestring:devMode": tc.devMode})
			require.NotEmpty(t, errs)
			assert.Contains(t, keysOfErrs(errs), tc.key)
			assert.Contains(t, errs.Error(), tc.msg)
			assert.NotContains(t, errs.Error(), "b3Blbn", "a private key never appears in a message")
		})
	}
}

func TestLocalDev(t *testing.T) {
	c, errs := parseDev(t, map[string]string{
		"shoestring:podSecurity": `{"enforce":"privileged"}`,
		"shoestring:localDev":    `{"imagePullPolicy":"Never","codeMounts":[{"service":"users","hostPath":"/hosthome/alice/users","path":"/app"}]}`,
	})
	require.Empty(t, errs)
	assert.Equal(t, "Never", c.LocalDev.ImagePullPolicy)
	_, errs = parseDev(t, map[string]string{
		"shoestring:localDev": `{"imagePullPolicy":"never","codeMounts":[{"service":"nope","hostPath":"src","path":"/"}]}`,
	})
	got := strings.Join(keysOfErrs(errs), " ")
	for _, k := range []string{"codeMounts", "imagePullPolicy", "codeMounts[0].service", "codeMounts[0].hostPath", "codeMounts[0].path"} {
		assert.Contains(t, got, "shoestring:localDev."+k)
	}
}
