package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

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
	compareWithGolden(t, first, filepath.Join("..", "..", "internal", "testing", "mockrender", "testdata", "golden", "prod", "manifests"))

	require.NoError(t, runRender([]string{"--project", project, "--stack", "prod", "--out", out}))
	assert.Equal(t, first, readTree(t, out), "two renders of the same files are the same bytes")

	err = runRender([]string{"--stack", "prod"})
	assert.ErrorContains(t, err, "--out")
}

// notRendered are the golden objects a render cannot reproduce, as it has no Cloudflare
// provider: the DNS-sync controller's, and the edge's TLS (its certificate comes from Cloudflare's
// Origin CA, so a render's edge serves HTTP only and its config and pods differ).
func notRendered(key string) bool {
	switch key {
	case "Secret edge/edge-tls", "ConfigMap edge/edge-nginx", "DaemonSet edge/edge-nginx":
		return true
	}
	return strings.Contains(key, "dns-sync") || strings.Contains(key, "dnssync")
}

// compareWithGolden checks the engine's render against the mock render committed as golden
// files: the same objects with the same content, except notRendered and what only the engine
// writes.
func compareWithGolden(t *testing.T, rendered map[string]string, goldenDir string) {
	t.Helper()
	golden := map[string]map[string]any{}
	require.NoError(t, filepath.WalkDir(goldenDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var o map[string]any
		require.NoError(t, yaml.Unmarshal(b, &o))
		golden[objectKey(o)] = o
		return nil
	}))
	seen := map[string]bool{}
	for name, body := range rendered {
		var o map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(body), &o), name)
		k := objectKey(o)
		seen[k] = true
		if notRendered(k) {
			continue
		}
		want, ok := golden[k]
		if !assert.True(t, ok, "%s (%s) is in the engine's render but not in the golden mock render", k, name) {
			continue
		}
		assert.Equal(t, comparable(want), comparable(o), "%s: the engine's render differs from the golden file", k)
	}
	for k := range golden {
		if !seen[k] && !notRendered(k) {
			t.Errorf("%s is in the golden mock render but not in the engine's", k)
		}
	}
}

func objectKey(o map[string]any) string {
	meta, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%v %v/%v", o["kind"], meta["namespace"], meta["name"])
}

// comparable is o without what only the engine writes (its own annotations), and with a Secret's
// stringData as the data the provider turns it into.
func comparable(o map[string]any) map[string]any {
	if sd, ok := o["stringData"].(map[string]any); ok {
		data, _ := o["data"].(map[string]any)
		if data == nil {
			data = map[string]any{}
		}
		for k, v := range sd {
			data[k] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(v)))
		}
		o["data"] = data
		delete(o, "stringData")
	}
	if meta, ok := o["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			for k := range ann {
				if strings.HasPrefix(k, "pulumi.com/") {
					delete(ann, k)
				}
			}
			if len(ann) == 0 {
				delete(meta, "annotations")
			}
		}
	}
	return o
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
