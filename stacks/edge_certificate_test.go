package stacks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// originKey is a key and request of the shape `shoestring edge-key` stores.
func originKey(t *testing.T) (keyPEM, csrPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "edge"}}, key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
}

// certStack is edgeStack with a playground domain, an edge section and secrets.
func certStack(t *testing.T, edge string, secrets map[string]string, extra map[string]string) (map[string]string, []string) {
	t.Helper()
	raw := edgeStack(`,"routes":[{"host":"shop.example.com"}]`, edge)
	if len(secrets) > 0 {
		b, err := json.Marshal(map[string]map[string]string{"edge": secrets})
		require.NoError(t, err)
		raw["shoestring:secrets"] = string(b)
	}
	for k, v := range extra {
		raw[k] = v
	}
	return raw, []string{"shoestring:secrets"}
}

func TestCertificateSecretThatNothingProvidesIsRefused(t *testing.T) {
	raw, sk := certStack(t, `{"certificateSecret":"edge-tls"}`, nil, nil)
	_, err := Parse(raw, sk)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:edge.certificateSecret: "edge-tls" names a Secret that neither this program nor the stack provides, so no edge pod could start; set shoestring:edge.certificate.source to "originCA"`)
	assert.Contains(t, err.Error(), "`shoestring edge-key --stack <stack>`")
	assert.Contains(t, err.Error(), `or remove certificateSecret to serve HTTP only`)

	for _, tc := range []struct{ edge, want string }{
		{`{"certificate":{"source":"originCA"}}`, `shoestring:edge.certificateSecret: is required with certificate.source originCA`},
		{`{"certificateSecret":"edge-tls","certificate":{"source":"letsencrypt"}}`, `shoestring:edge.certificate.source: "letsencrypt" is not a certificate source`},
		{`{"certificateSecret":"edge-tls","certificate":{"source":"external","hostnames":["shop.example.com"]}}`, `shoestring:edge.certificate.hostnames: is only used with source originCA`},
	} {
		raw, sk := certStack(t, tc.edge, nil, nil)
		_, err := Parse(raw, sk)
		require.Error(t, err, tc.edge)
		assert.Contains(t, err.Error(), tc.want)
	}

	// Made outside (cert-manager): accepted as the stack's word.
	raw, sk = certStack(t, `{"certificateSecret":"edge-tls","certificate":{"source":"external"}}`, nil, nil)
	_, err = Parse(raw, sk)
	require.NoError(t, err)
}

func TestOriginCACertificate(t *testing.T) {
	key, csr := originKey(t)
	secrets := map[string]string{"ORIGIN_CA_KEY": key, "ORIGIN_CA_CSR": csr, "CLOUDFLARE_API_TOKEN": "token"}
	edge := `{"certificateSecret":"edge-tls","certificate":{"source":"originCA"},"playgrounds":{"domain":"play.example.com","gatewayService":"api"}}`
	raw, sk := certStack(t, edge, secrets, nil)
	c, err := Parse(raw, sk)
	require.NoError(t, err)
	assert.Equal(t, EdgeCertificate{Source: CertificateOriginCA, ValidityDays: 5475, RenewDays: 30}, c.Edge.Certificate)
	assert.Equal(t, []string{"*.play.example.com", "shop.example.com"}, c.OriginCAHostnames(), "every routed host and the playgrounds")

	raw, sk = certStack(t, `{"certificateSecret":"edge-tls","certificate":{"source":"originCA","hostnames":["www.example.com","*.example.com","www.example.com"]}}`, secrets, nil)
	c, err = Parse(raw, sk)
	require.NoError(t, err)
	assert.Equal(t, []string{"*.example.com", "www.example.com"}, c.OriginCAHostnames())

	// Nothing set yet: each missing secret is named, with the command that makes key and request.
	raw, sk = certStack(t, edge, nil, nil)
	_, err = Parse(raw, sk)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:secrets.edge.CLOUDFLARE_API_TOKEN: is referenced but not set; set it with `pulumi config set --secret --path 'secrets.edge.CLOUDFLARE_API_TOKEN' <value>`")
	assert.Contains(t, err.Error(), "shoestring:secrets.edge.ORIGIN_CA_KEY: is referenced but not set; run `shoestring edge-key --stack <stack>`")
	assert.Contains(t, err.Error(), "shoestring:secrets.edge.ORIGIN_CA_CSR: is referenced but not set; run `shoestring edge-key --stack <stack>`")

	// Render and other tools without the engine: placeholders stand in, nothing else is refused.
	c, filled, err := ParseWithPlaceholders(raw, sk)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"shoestring:secrets.edge.CLOUDFLARE_API_TOKEN", "shoestring:secrets.edge.ORIGIN_CA_KEY", "shoestring:secrets.edge.ORIGIN_CA_CSR"}, filled)
	assert.Equal(t, CertificateOriginCA, c.Edge.Certificate.Source)

	otherKey, _ := originKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaCSR, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "edge"}}, rsaKey)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, edge string
		secrets    map[string]string
		extra      map[string]string
		want       string
	}{
		{"key of another request", edge, map[string]string{"ORIGIN_CA_KEY": otherKey, "ORIGIN_CA_CSR": csr, "CLOUDFLARE_API_TOKEN": "t"}, nil,
			"shoestring:secrets.edge.ORIGIN_CA_KEY: does not belong to secrets.edge.ORIGIN_CA_CSR (value withheld); run `shoestring edge-key --stack <stack> --rotate`"},
		{"not a key", edge, map[string]string{"ORIGIN_CA_KEY": "hunter2", "ORIGIN_CA_CSR": csr, "CLOUDFLARE_API_TOKEN": "t"}, nil,
			"shoestring:secrets.edge.ORIGIN_CA_KEY: is not a PEM private key (value withheld)"},
		{"not a request", edge, map[string]string{"ORIGIN_CA_KEY": key, "ORIGIN_CA_CSR": "csr", "CLOUDFLARE_API_TOKEN": "t"}, nil,
			"shoestring:secrets.edge.ORIGIN_CA_CSR: is not a PEM certificate request"},
		{"RSA request", edge, map[string]string{"ORIGIN_CA_KEY": key, "ORIGIN_CA_CSR": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: rsaCSR})), "CLOUDFLARE_API_TOKEN": "t"}, nil,
			"shoestring:secrets.edge.ORIGIN_CA_CSR: is not for an ECDSA P-256 key"},
		{"validity", `{"certificateSecret":"edge-tls","certificate":{"source":"originCA","validityDays":100}}`, secrets, nil,
			`shoestring:edge.certificate.validityDays: "100" is not a validity Cloudflare's Origin CA issues; use one of [7 30 90 365 730 1095 5475] (default 5475)`},
		{"renewal after expiry", `{"certificateSecret":"edge-tls","certificate":{"source":"originCA","validityDays":7}}`, secrets, nil,
			`shoestring:edge.certificate.renewDays: "30" is out of range`},
		{"bad hostname", `{"certificateSecret":"edge-tls","certificate":{"source":"originCA","hostnames":["*.*.example.com"]}}`, secrets, nil,
			`shoestring:edge.certificate.hostnames[0]: "*.*.example.com" has a wildcard that is not the leftmost label`},
		{"name published unproxied", edge, secrets, map[string]string{
			"shoestring:dns": `{"zone":"example.com","zoneId":"9a7806061c88ada191ed06f989cc3dac","name":"k.example.com","aliases":["shop"]}`, "shoestring:dnssync": `{"enabled":true}`},
			`shoestring:dns.proxied: "false" leaves shop.example.com unproxied, so browsers would reach the edge directly and refuse its Origin CA certificate (for shop.example.com); set dns.proxied: true and dns.ttl: 1, or use edge.certificate.source "stack" with a publicly trusted certificate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, sk := certStack(t, tc.edge, tc.secrets, tc.extra)
			if _, ok := tc.extra["shoestring:dnssync"]; ok {
				var all map[string]map[string]string
				require.NoError(t, json.Unmarshal([]byte(raw["shoestring:secrets"]), &all))
				all["dns-sync"] = map[string]string{"CLOUDFLARE_API_TOKEN": "t"}
				b, _ := json.Marshal(all)
				raw["shoestring:secrets"] = string(b)
			}
			_, err := Parse(raw, sk)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "a key never reaches an error")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestStackCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shop.example.com"}, DNSNames: []string{"shop.example.com"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	crt := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
	otherKey, _ := originKey(t)
	edge := `{"certificateSecret":"edge-tls","certificate":{"source":"stack"}}`

	raw, sk := certStack(t, edge, map[string]string{"TLS_CRT": crt, "TLS_KEY": keyPEM}, nil)
	_, err = Parse(raw, sk)
	require.NoError(t, err)

	raw, sk = certStack(t, edge, nil, nil)
	_, err = Parse(raw, sk)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:secrets.edge.TLS_CRT: is referenced but not set")
	assert.Contains(t, err.Error(), "shoestring:secrets.edge.TLS_KEY: is referenced but not set")

	raw, sk = certStack(t, edge, map[string]string{"TLS_CRT": crt, "TLS_KEY": otherKey}, nil)
	_, err = Parse(raw, sk)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:secrets.edge.TLS_KEY: and secrets.edge.TLS_CRT are not a matching PEM key and certificate (value withheld)")
	assert.NotContains(t, err.Error(), "PRIVATE KEY")
}

// TestRepositoryStacksServeHTTPSOnTheFirstUp: the committed sandbox and prod stacks name a
// certificate Secret the program provides, for names Cloudflare proxies.
func TestRepositoryStacksServeHTTPSOnTheFirstUp(t *testing.T) {
	for _, stack := range []string{"sandbox", "prod"} {
		c, filled, err := LoadStackFileWithPlaceholders(filepath.Join("..", "Pulumi."+stack+".yaml"))
		require.NoError(t, err, stack)
		assert.Equal(t, "edge-tls", c.Edge.CertificateSecret, stack)
		assert.Equal(t, CertificateOriginCA, c.Edge.Certificate.Source, stack)
		assert.True(t, c.DNS.Proxied, stack)
		assert.Contains(t, filled, "shoestring:secrets.edge.ORIGIN_CA_KEY", "%s: set by `shoestring edge-key`, never committed", stack)
		assert.NotEmpty(t, c.OriginCAHostnames(), stack)
	}
}
