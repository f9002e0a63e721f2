package program

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// TestEverySecretTheEdgeMountsIsDeployed: on the first up of each committed stack, the Secret the
// edge DaemonSet mounts is one the program creates (no pod waits for a Secret nobody makes); for
// sandbox and prod it comes from the Origin CA through the edge's own Cloudflare provider, for the
// hostnames the stack routes.
func TestEverySecretTheEdgeMountsIsDeployed(t *testing.T) {
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg := loadStack(t, stack)
			rec := deployStack(t, stack)
			created := map[string]bool{}
			for _, s := range rec.ByType("kubernetes:core/v1:Secret") {
				meta := s.Plain()["metadata"].(map[string]any)
				created[fmt.Sprint(meta["namespace"], "/", meta["name"])] = true
			}
			ds := one(t, rec, k8sDaemonSet, "edge")
			volumes := ds["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["volumes"].([]any)
			mounted := 0
			for _, v := range volumes {
				if sec, ok := v.(map[string]any)["secret"].(map[string]any); ok {
					mounted++
					assert.True(t, created[cfg.Edge.Namespace+"/"+sec["secretName"].(string)], "%s mounts Secret %s, which the program does not create", stack, sec["secretName"])
				}
			}
			assert.Equal(t, cfg.Edge.CertificateSecret != "", mounted == 1)
			if cfg.Edge.Certificate.Source != stacks.CertificateOriginCA {
				assert.Empty(t, rec.ByType("cloudflare:index/originCaCertificate:OriginCaCertificate"))
				return
			}
			origin, err := rec.One("cloudflare:index/originCaCertificate:OriginCaCertificate", "edge")
			require.NoError(t, err)
			var hosts []any
			for _, h := range cfg.OriginCAHostnames() {
				hosts = append(hosts, h)
			}
			assert.Equal(t, hosts, origin.Plain()["hostnames"])
			for _, r := range cfg.EdgeRoutes() {
				assert.Contains(t, hosts, r.Host)
			}
			assert.Equal(t, "origin-ecc", origin.Plain()["requestType"])
			provider, err := rec.One("pulumi:providers:cloudflare", "edge-origin-ca")
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(origin.Provider, provider.URN+"::"))
			assert.True(t, pulumimock.IsSecret(provider.Inputs, "apiToken"))
			assert.True(t, pulumimock.IsSecret(origin.Inputs, "csr"), "request and key come from the stack's secrets")
		})
	}
}

// TestOriginCANeedsTheCloudflarePlugin: the engine loads the Cloudflare plugin for a stack whose
// edge certificate comes from the Origin CA, even without DNS-sync aliases.
func TestOriginCANeedsTheCloudflarePlugin(t *testing.T) {
	names := func(cfg *stacks.Config) []string {
		var out []string
		for _, p := range Plugins(cfg) {
			out = append(out, p.Name)
		}
		return out
	}
	cfg := loadStack(t, "sandbox")
	cfg.DNSSync.Enabled = false
	assert.Contains(t, names(cfg), "cloudflare")
	cfg.Edge.Certificate.Source = stacks.CertificateExternal
	assert.NotContains(t, names(cfg), "cloudflare")
	assert.NotContains(t, names(loadStack(t, "dev")), "cloudflare")

	// DNS sync on with no aliases still makes the playgrounds' wildcard record in the zone.
	cfg = loadStack(t, "sandbox")
	cfg.DNS.Aliases = nil
	require.NotEmpty(t, cfg.PlaygroundWildcard(), "sandbox's playground domain is in its zone")
	cfg.Edge.Certificate.Source = stacks.CertificateExternal
	assert.Contains(t, names(cfg), "cloudflare", "the wildcard record needs the Cloudflare plugin")
}
