package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CertificateAnnot carries the served certificate's SHA-256 on the pods: nginx reads its
// certificate only at start, so a new certificate (renewal, other hostnames) rolls the pods.
const CertificateAnnot = "shoestring.dev/tls-crt-sha256"

// CertificateArgs make the program provide the kubernetes.io/tls Secret Args.CertificateSecret:
// either from a PEM chain it is given, or from Cloudflare's Origin CA.
type CertificateArgs struct {
	// Key is the PEM private key. It reaches the Secret only as a Pulumi secret.
	Key pulumi.StringInput
	// Chain is the PEM certificate chain, leaf first (used without OriginCA).
	Chain pulumi.StringInput
	// OriginCA requests the certificate for Key's request from Cloudflare's Origin CA instead.
	OriginCA *OriginCAArgs
}

// OriginCAArgs request a Cloudflare Origin CA certificate. Every field but RenewDays replaces the
// certificate when it changes; the key stays (it is the stack's), so the Secret only gets the new
// certificate.
type OriginCAArgs struct {
	CSR          pulumi.StringInput // PEM request of CertificateArgs.Key (NewOriginKey makes both)
	RequestType  string             // "origin-ecc" or "origin-rsa", after the key
	Hostnames    []string
	ValidityDays int
	// RenewDays: an update within this many days of the expiry requests a new certificate.
	RenewDays int
	// Provider is a Cloudflare provider whose token may create Origin CA certificates
	// (Zone > SSL and Certificates > Edit on the zones of Hostnames).
	Provider pulumi.ProviderResource
}

// NewOriginKey makes an edge key pair for the Origin CA: an ECDSA P-256 private key (PKCS#8 PEM) and
// a certificate request for it (PEM). The request names no host (the Origin CA takes the hostnames
// from the API call), so the same key and request serve every later change of hostnames.
func NewOriginKey() (keyPEM, csrPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "shoestring edge", Organization: []string{"shoestring"}},
	}, key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), nil
}

// TLSSecretArgs is the kubernetes.io/tls Secret the edge mounts: tls.crt (the chain) and tls.key
// (the key, kept a Pulumi secret).
func TLSSecretArgs(namespace, name string, chain, key pulumi.StringInput) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(namespace), Labels: labels()},
		Type:     pulumi.String("kubernetes.io/tls"),
		StringData: pulumi.StringMap{
			"tls.crt": chain,
			"tls.key": pulumi.ToSecret(key).(pulumi.StringOutput),
		},
	}
}

// certificate creates what args.Certificate asks for (the Origin CA certificate, the Secret) and
// returns the Secret and the served chain.
func certificate(ctx *pulumi.Context, name string, parent pulumi.Resource, args *Args, deps []pulumi.Resource) (pulumi.Resource, pulumi.StringOutput, error) {
	c := args.Certificate
	if c.Key == nil {
		return nil, pulumi.StringOutput{}, fmt.Errorf("edge %s: the certificate has no key", name)
	}
	var chain pulumi.StringOutput
	switch {
	case c.OriginCA != nil:
		o := c.OriginCA
		if o.Provider == nil || o.CSR == nil || len(o.Hostnames) == 0 {
			return nil, pulumi.StringOutput{}, fmt.Errorf("edge %s: the Origin CA certificate needs a Cloudflare provider, a CSR and hostnames", name)
		}
		cert, err := cloudflare.NewOriginCaCertificate(ctx, name, &cloudflare.OriginCaCertificateArgs{
			Csr:               o.CSR,
			Hostnames:         pulumi.ToStringArray(o.Hostnames),
			RequestType:       pulumi.String(o.RequestType),
			RequestedValidity: pulumi.Int(o.ValidityDays),
			MinDaysForRenewal: pulumi.Int(o.RenewDays),
		}, pulumi.Parent(parent), pulumi.Provider(o.Provider))
		if err != nil {
			return nil, pulumi.StringOutput{}, err
		}
		chain = cert.Certificate
	case c.Chain != nil:
		chain = c.Chain.ToStringOutput()
	default:
		return nil, pulumi.StringOutput{}, fmt.Errorf("edge %s: the certificate has neither a chain nor an Origin CA request", name)
	}
	secret, err := corev1.NewSecret(ctx, name+"-tls", TLSSecretArgs(args.Namespace, args.CertificateSecret, chain, c.Key),
		pulumi.Parent(parent), pulumi.DependsOn(deps))
	if err != nil {
		return nil, pulumi.StringOutput{}, err
	}
	return secret, chain, nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
