package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/stacks"
)

// TestRenderWithTheEngine renders prod through the real engine and Kubernetes provider (render
// mode): no cluster, no GCP or Cloudflare plugin; the objects of its Kubernetes side land as YAML.
// As committed, prod sets none of its secrets: the render is refused like a preview, and leaves an
// earlier render as it was. With the secrets set (as a deployer's file holds them, encrypted for a
// provider this machine cannot read), two renders give the same bytes.
func TestRenderWithTheEngine(t *testing.T) {
	if os.Getenv("SHOESTRING_E2E") == "" {
		t.Skip("needs the Pulumi CLI and the Kubernetes provider: run `make test` (SHOESTRING_E2E=1)")
	}
	project := copyProject(t, "prod")
	out := t.TempDir()
	earlier := filepath.Join(out, "1-manifest", "earlier.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(earlier), 0o755))
	require.NoError(t, os.WriteFile(earlier, []byte("kind: ConfigMap\n"), 0o644))
	err := runRender([]string{"--project", project, "--stack", "prod", "--out", out})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:secrets.api.DB_PASSWORD: is referenced but not set")
	assert.FileExists(t, earlier, "a refused render changes nothing")

	// A deployer's file names the team's zone, not Cloudflare's documentation example.
	prodFile := filepath.Join(project, "Pulumi.prod.yaml")
	b, err := os.ReadFile(prodFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(prodFile, []byte(strings.ReplaceAll(string(b), stacks.ExampleZoneID, "0123456789abcdef0123456789abcdef")), 0o644))
	appendTo(t, prodFile, "  shoestring:secrets:\n    api: {DB_PASSWORD: "+encrypted+"}\n"+
		"    checksum: {HMAC_KEY: "+encrypted+"}\n"+
		"    dns-sync: {CLOUDFLARE_API_TOKEN: "+encrypted+"}\n"+
		"    edge: {CLOUDFLARE_API_TOKEN: "+encrypted+", ORIGIN_CA_CSR: "+encrypted+", ORIGIN_CA_KEY: "+encrypted+"}\n")
	require.NoError(t, runRender([]string{"--project", project, "--stack", "prod", "--out", out}))
	assert.NoFileExists(t, earlier, "a render replaces the earlier one")
	first := readTree(t, out)
	require.NotEmpty(t, first)
	var all strings.Builder
	for name, body := range first {
		all.WriteString(body)
		assert.NotContains(t, name, "dns-sync", "no DNS controller: a render talks to no Cloudflare")
	}
	assert.Contains(t, all.String(), "kind: Deployment")
	assert.Contains(t, all.String(), "kind: Namespace")

	require.NoError(t, runRender([]string{"--project", project, "--stack", "prod", "--out", out}))
	assert.Equal(t, first, readTree(t, out), "two renders of the same files are the same bytes")

	err = runRender([]string{"--stack", "prod"})
	assert.ErrorContains(t, err, "--out")
}

// readTree is every rendered file under dir by its path there, with its content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range renderDirs {
		files, err := filepath.Glob(filepath.Join(dir, d, "*.yaml"))
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			out[filepath.Join(d, filepath.Base(f))] = string(b)
		}
	}
	return out
}
