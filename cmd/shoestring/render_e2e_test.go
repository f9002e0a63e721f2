package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenderWithTheEngine renders prod through the real engine and Kubernetes provider (render
// mode): no cluster, no GCP or Cloudflare plugin; the objects of its Kubernetes side land as YAML.
func TestRenderWithTheEngine(t *testing.T) {
	if os.Getenv("SHOESTRING_E2E") == "" {
		t.Skip("needs the Pulumi CLI and the Kubernetes provider: run `make test` (SHOESTRING_E2E=1)")
	}
	project := copyProject(t, "prod")
	out := t.TempDir()
	require.NoError(t, runRender([]string{"--project", project, "--stack", "prod", "--out", out}))
	files, err := filepath.Glob(filepath.Join(out, "1-manifest", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(b)
	}
	assert.Contains(t, all.String(), "kind: Deployment")
	assert.Contains(t, all.String(), "kind: Namespace")
	for _, f := range files {
		assert.NotContains(t, filepath.Base(f), "dns-sync", "no DNS controller: a render talks to no Cloudflare")
	}

	err = runRender([]string{"--stack", "prod"})
	assert.ErrorContains(t, err, "--out")
}
