package edge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/components/edge/edgetest"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
)

const (
	secretType = "kubernetes:core/v1:Secret"
	originType = "cloudflare:index/originCaCertificate:OriginCaCertificate"
)

// deployWithOriginCA runs the component with an Origin CA request, the program's way: a Cloudflare
// provider with its own token, the key as a Pulumi secret.
func deployWithOriginCA(t *testing.T, key, csr string) *pulumimock.Record {
	t.Helper()
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		cf, err := cloudflare.NewProvider(ctx, "edge-origin-ca", &cloudflare.ProviderArgs{ApiToken: pulumi.ToSecret(pulumi.String("token")).(pulumi.StringOutput).ToStringPtrOutput()})
		if err != nil {
			return err
		}
		args := testArgs()
		args.CertificateSecret = "edge-tls"
		args.Certificate = &CertificateArgs{
			Key: pulumi.ToSecret(pulumi.String(key)).(pulumi.StringOutput),
			OriginCA: &OriginCAArgs{CSR: pulumi.ToSecret(pulumi.String(csr)).(pulumi.StringOutput), RequestType: "origin-ecc",
				Hostnames: []string{"*.play.example.com", "shop.example.com"}, ValidityDays: 5475, RenewDays: 30, Provider: cf},
		}
		_, err = New(ctx, "edge", args)
		return err
	})
	require.NoError(t, err)
	return rec
}

// TestOriginCACertificateBecomesTheEdgesSecret: the Cloudflare side with mocks. The request goes to
// the Origin CA through the edge's own provider; the issued certificate and the stack's key make the
// kubernetes.io/tls Secret the DaemonSet mounts (after it exists); the key stays a Pulumi secret
// everywhere; a second evaluation asks for exactly the same certificate, so an update replaces
// nothing.
func TestOriginCACertificateBecomesTheEdgesSecret(t *testing.T) {
	key, csr, err := NewOriginKey()
	require.NoError(t, err)
	rec := deployWithOriginCA(t, key, csr)

	origin, err := rec.One(originType, "edge")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"csr": csr, "hostnames": []any{"*.play.example.com", "shop.example.com"},
		"requestType": "origin-ecc", "requestedValidity": 5475.0, "minDaysForRenewal": 30.0,
	}, origin.Plain())
	provider, err := rec.One("pulumi:providers:cloudflare", "edge-origin-ca")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(origin.Provider, provider.URN+"::"), "issued through the edge's own Cloudflare provider: %s", origin.Provider)
	assert.True(t, pulumimock.IsSecret(provider.Inputs, "apiToken"))

	secret, err := rec.One(secretType, "edge-tls")
	require.NoError(t, err)
	s := secret.Plain()
	assert.Equal(t, "kubernetes.io/tls", s["type"])
	assert.Equal(t, map[string]any{"name": "edge-tls", "namespace": "edge", "labels": map[string]any{"app.kubernetes.io/name": Name, "app.kubernetes.io/part-of": "shoestring"}}, s["metadata"])
	assert.Equal(t, map[string]any{"tls.crt": pulumimock.MockOriginCACertificate, "tls.key": key}, s["stringData"])
	assert.True(t, pulumimock.IsSecret(secret.Inputs, "stringData.tls.key"), "the key reaches the Secret only as a Pulumi secret")
	assert.Contains(t, secret.DependsOn, urnOf(t, rec, nsType, "edge"))

	ds, err := rec.One(dsType, "edge")
	require.NoError(t, err)
	assert.Contains(t, ds.DependsOn, secret.URN, "the pods start once their certificate exists")
	d := ds.Plain()
	sum := sha256.Sum256([]byte(pulumimock.MockOriginCACertificate))
	assert.Equal(t, hex.EncodeToString(sum[:]), dig(t, d, "spec", "template", "metadata", "annotations", CertificateAnnot), "a new certificate rolls the pods")
	assert.Contains(t, fmt.Sprint(dig(t, d, "spec", "template", "spec", "volumes")), "secretName:edge-tls")

	// The private key appears in no input that is not a secret.
	for _, r := range rec.Resources {
		walkPlain(t, r.Inputs, "", func(path, v string) {
			if strings.Contains(v, "PRIVATE KEY") {
				assert.True(t, pulumimock.IsSecret(r.Inputs, path), "%s %s: %s holds the key in plain text", r.Type, r.Name, path)
			}
		})
	}

	again := deployWithOriginCA(t, key, csr)
	origin2, err := again.One(originType, "edge")
	require.NoError(t, err)
	assert.Equal(t, origin.Plain(), origin2.Plain(), "the same key and request: no new certificate on update")
}

func urnOf(t *testing.T, rec *pulumimock.Record, typ, name string) string {
	t.Helper()
	r, err := rec.One(typ, name)
	require.NoError(t, err)
	return r.URN
}

// walkPlain calls fn with the dotted path of every string in props.
func walkPlain(t *testing.T, props resource.PropertyMap, prefix string, fn func(path, v string)) {
	t.Helper()
	for k, v := range props {
		walkValue(t, v, strings.TrimPrefix(prefix+"."+string(k), "."), fn)
	}
}

func walkValue(t *testing.T, v resource.PropertyValue, path string, fn func(path, v string)) {
	switch {
	case v.IsSecret():
		walkValue(t, v.SecretValue().Element, path, fn)
	case v.IsOutput():
		walkValue(t, v.OutputValue().Element, path, fn)
	case v.IsObject():
		walkPlain(t, v.ObjectValue(), path, fn)
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			walkValue(t, e, fmt.Sprintf("%s.%d", path, i), fn)
		}
	case v.IsString():
		fn(path, v.StringValue())
	}
}

func TestStackCertificateAndExternalSecret(t *testing.T) {
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		args := testArgs()
		args.CertificateSecret = "edge-tls"
		args.Certificate = &CertificateArgs{Key: pulumi.ToSecret(pulumi.String("KEY")).(pulumi.StringOutput), Chain: pulumi.String("CHAIN")}
		_, err := New(ctx, "edge", args)
		return err
	})
	require.NoError(t, err)
	assert.Empty(t, rec.ByType(originType))
	secret, err := rec.One(secretType, "edge-tls")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"tls.crt": "CHAIN", "tls.key": "KEY"}, secret.Plain()["stringData"])

	// Made outside: no Secret here, the DaemonSet still mounts it.
	args := testArgs()
	args.CertificateSecret = "edge-tls"
	rec = deploy(t, args)
	assert.Empty(t, rec.ByType(secretType))
	assert.Contains(t, fmt.Sprint(dig(t, plain(t, rec, dsType), "spec", "template", "spec", "volumes")), "secretName:edge-tls")
}

// signLikeTheOriginCA issues what Cloudflare's Origin CA returns for a request: a certificate for
// the request's key, with the hostnames of the API call as its names, signed by a CA the client
// (Cloudflare's proxy, here the test) trusts.
func signLikeTheOriginCA(t *testing.T, csrPEM string, hostnames []string) (chain string, roots *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test Origin CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	block, _ := pem.Decode([]byte(csrPEM))
	require.NotNil(t, block)
	req, err := x509.ParseCertificateRequest(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, req.CheckSignature())
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hostnames[0]}, DNSNames: hostnames,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, req.PublicKey, caKey)
	require.NoError(t, err)
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), roots
}

// TestNginxServesTheOriginCACertificate: real nginx on loopback serves HTTPS with a certificate of
// the Origin CA's shape for a key from NewOriginKey, from the Secret exactly as the component
// writes it, and a client that trusts the CA verifies it for a routed host and a playground.
func TestNginxServesTheOriginCACertificate(t *testing.T) {
	edgetest.NginxBinary(t)
	key, csr, err := NewOriginKey()
	require.NoError(t, err)
	chain, roots := signLikeTheOriginCA(t, csr, []string{"shop.example.test", "*.play.example.test"})

	// The Secret as the component makes it from the issued certificate and the stack's key.
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		args := testArgs()
		args.CertificateSecret = "edge-tls"
		args.Certificate = &CertificateArgs{Key: pulumi.ToSecret(pulumi.String(key)).(pulumi.StringOutput), Chain: pulumi.String(chain)}
		_, err := New(ctx, "edge", args)
		return err
	})
	require.NoError(t, err)
	secret, err := rec.One(secretType, "edge-tls")
	require.NoError(t, err)
	data := secret.Plain()["stringData"].(map[string]any)
	tlsDir := t.TempDir()
	for _, f := range []string{"tls.crt", "tls.key"} {
		require.NoError(t, os.WriteFile(filepath.Join(tlsDir, f), []byte(data[f].(string)), 0o600))
	}

	web, gateway := backend(t, "web"), backend(t, "gateway")
	dns := startDNS(t, "web.apps.svc.cluster.local", "gateway.play-login.svc.cluster.local")
	httpPort, httpsPort, healthPort := freePort(t), freePort(t), freePort(t)
	o := testOptions(httpPort, healthPort, dns.addr())
	o.TLS, o.HTTPSPort, o.TLSDir = true, httpsPort, tlsDir
	o.Playgrounds = &Playgrounds{Domain: "play.example.test", NamespacePrefix: "play-", Service: "gateway", Port: gateway}
	conf, err := NginxConf([]Route{{Host: "shop.example.test", PathPrefix: "/", Namespace: "apps", Service: "web", Port: web}}, o)
	require.NoError(t, err)
	serveNginx(t, conf, healthPort)

	for host, want := range map[string]string{
		"shop.example.test":       "web shop.example.test /x",
		"login.play.example.test": "gateway login.play.example.test /x",
	} {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{ServerName: host, RootCAs: roots}, // verified, as Cloudflare's proxy does in Full (strict)
		}}
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/x", httpsPort), nil)
		req.Host = host
		resp, err := client.Do(req)
		require.NoError(t, err, host)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, host)
		assert.Equal(t, want, string(b), host)
		require.NotNil(t, resp.TLS)
		assert.Equal(t, []string{"shop.example.test", "*.play.example.test"}, resp.TLS.PeerCertificates[0].DNSNames)
	}

	// A client that does not trust that CA (a browser reaching an unproxied name) refuses it.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{ServerName: "shop.example.test", RootCAs: x509.NewCertPool()}}}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/", httpsPort), nil)
	req.Host = "shop.example.test"
	_, err = client.Do(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
}
