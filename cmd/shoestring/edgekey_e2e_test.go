package main

import (
	"bytes"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/stacks"
)

// TestEdgeKeyStoresTheKeyOnlyAsAStackSecret runs `shoestring edge-key` with the real Pulumi CLI: the
// key and its request land in the stack file encrypted, read back (decrypted) they are a matching
// pair that stacks accepts, and a second run does not replace them without --rotate.
func TestEdgeKeyStoresTheKeyOnlyAsAStackSecret(t *testing.T) {
	if os.Getenv("SHOESTRING_E2E") == "" {
		t.Skip("needs the Pulumi CLI: run `make test` (SHOESTRING_E2E=1)")
	}
	pulumiBin := filepath.Join(toolsDir(), "bin", "pulumi")
	if _, err := os.Stat(pulumiBin); err != nil {
		t.Fatalf("the Pulumi CLI is missing at %s: run scripts/tools.sh pulumi", pulumiBin)
	}
	tmp := t.TempDir()
	project := filepath.Join(tmp, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "state"), 0o755))
	require.NoError(t, os.MkdirAll(project, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: shoestring\nruntime: go\n"), 0o644))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(tmp, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "edge-key-test")
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_HOME", filepath.Join(tmp, "pulumi-home"))
	pulumi := func(args ...string) string {
		cmd := exec.Command(pulumiBin, args...)
		cmd.Dir = project
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "pulumi %v: %s", args, out)
		return string(out)
	}
	pulumi("stack", "init", "sandbox", "--non-interactive")

	var out bytes.Buffer
	require.NoError(t, edgeKey([]string{"--stack", "sandbox", "--project", project, "--pulumi", pulumiBin}, &out))
	assert.Contains(t, out.String(), "shoestring:secrets.edge.ORIGIN_CA_KEY and .ORIGIN_CA_CSR of stack sandbox")
	assert.NotContains(t, out.String(), "PRIVATE KEY")

	file, err := os.ReadFile(filepath.Join(project, "Pulumi.sandbox.yaml"))
	require.NoError(t, err)
	assert.NotContains(t, string(file), "PRIVATE KEY", "only ciphertext in the stack file")
	assert.Contains(t, string(file), "secure:")

	key := pulumi("config", "get", "--path", "shoestring:secrets.edge.ORIGIN_CA_KEY", "--stack", "sandbox")
	csr := pulumi("config", "get", "--path", "shoestring:secrets.edge.ORIGIN_CA_CSR", "--stack", "sandbox")
	assert.True(t, strings.HasPrefix(key, "-----BEGIN PRIVATE KEY-----"), "a PKCS#8 PEM key")
	req, err := stacks.ParseOriginCACSR(csr)
	require.NoError(t, err)
	pub, err := stacks.PrivateKeyPublic(key)
	require.NoError(t, err)
	assert.True(t, req.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub), "the request is the key's")

	err = edgeKey([]string{"--stack", "sandbox", "--project", project, "--pulumi", pulumiBin}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already has shoestring:secrets.edge.ORIGIN_CA_KEY: the key must stay the same across updates; pass --rotate")
	assert.Equal(t, key, pulumi("config", "get", "--path", "shoestring:secrets.edge.ORIGIN_CA_KEY", "--stack", "sandbox"), "unchanged")

	require.NoError(t, edgeKey([]string{"--stack", "sandbox", "--project", project, "--pulumi", pulumiBin, "--rotate"}, &out))
	assert.NotEqual(t, key, pulumi("config", "get", "--path", "shoestring:secrets.edge.ORIGIN_CA_KEY", "--stack", "sandbox"), "rotated")
}
