package engine

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelfSignedCertificateServesItsHosts(t *testing.T) {
	crt, key, err := selfSignedCertificate([]string{"api-sandbox.example.com", "*.example.com"})
	require.NoError(t, err)
	pair, err := tls.X509KeyPair([]byte(crt), []byte(key))
	require.NoError(t, err, "a matching PEM certificate and key, as the stack's check requires")
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(crt)))
	for _, host := range []string{"api-sandbox.example.com", "feature-x.example.com"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots})
		assert.NoError(t, err, "a client trusting the certificate reaches %s", host)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "api.example.org", Roots: roots})
	assert.Error(t, err, "a name the edge does not route")

	_, _, err = selfSignedCertificate(nil)
	assert.ErrorContains(t, err, "routes no host")
}

func TestWorkFileKeepsTheEdgesHTTPSWithALocalCertificate(t *testing.T) {
	dir := project(t, "prod", `config:
  shoestring:cluster:
    gke: {zone: europe-west1-b}
  shoestring:edge: {certificateSecret: edge-tls, certificate: {source: originCA, validityDays: 365, hostnames: [a.example.com]}}
`)
	work := filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.prod.yaml"), work, dir, retarget{kubeconfig: "/k", localCertificate: true}, nil))
	cfg := readYAML(t, work)["config"].(map[string]any)
	assert.Equal(t, map[string]any{"certificateSecret": "edge-tls", "certificate": map[string]any{"source": "stack"}}, cfg["shoestring:edge"],
		"the stack's Secret, filled from the secrets generated here")

	// An edge serving HTTP only stays so.
	dir = project(t, "dev", `config:
  shoestring:edge: {healthPort: 10255}
`)
	work = filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.dev.yaml"), work, dir, retarget{kubeconfig: "/k", localCertificate: true}, nil))
	assert.Equal(t, map[string]any{"healthPort": float64(10255)}, readYAML(t, work)["config"].(map[string]any)["shoestring:edge"])
}
