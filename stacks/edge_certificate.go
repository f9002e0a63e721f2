package stacks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
)

const certificateFix = "set shoestring:edge.certificate.source to \"" + CertificateOriginCA + "\" (the program requests a Cloudflare Origin CA certificate: run `shoestring edge-key --stack <stack>` once), \"" +
	CertificateStack + "\" (set secrets.edge." + EdgeTLSCertificateName + " and secrets.edge." + EdgeTLSKeyName + " to a PEM certificate chain and key) or \"" +
	CertificateExternal + "\" (a Secret made outside this program, e.g. by cert-manager), or remove certificateSecret to serve HTTP only"

// checkCertificate refuses a certificateSecret that nothing provides, and checks what each source
// needs: the Origin CA request, hostnames and secrets, or the stack's certificate and key.
func (c *EdgeConfig) checkCertificate(cfg *Config) []FieldError {
	const k = Namespace + ":edge"
	e := &c.Edge
	cert := &e.Certificate
	var errs []FieldError
	switch {
	case e.CertificateSecret == "" && cert.Source == "":
		return nil
	case e.CertificateSecret == "":
		return []FieldError{fieldErr(k+".certificateSecret", nil, "is required with certificate.source "+cert.Source,
			"name the kubernetes.io/tls Secret the edge mounts, e.g. \"edge-tls\"")}
	case cert.Source == "":
		return []FieldError{fieldErr(k+".certificateSecret", e.CertificateSecret,
			"names a Secret that neither this program nor the stack provides, so no edge pod could start", certificateFix)}
	}
	ck := k + ".certificate"
	if cert.Source != CertificateOriginCA {
		for _, f := range []struct {
			key string
			set bool
		}{{"hostnames", len(cert.Hostnames) > 0}} {
			if f.set {
				errs = append(errs, fieldErr(ck+"."+f.key, nil, "is only used with source "+CertificateOriginCA, "remove it, or set source: "+CertificateOriginCA))
			}
		}
	}
	switch cert.Source {
	case CertificateOriginCA:
		errs = append(errs, c.checkOriginCA(cfg)...)
	case CertificateStack:
		crt, okCrt := cfg.Secrets[EdgeSecretGroup][EdgeTLSCertificateName]
		key, okKey := cfg.Secrets[EdgeSecretGroup][EdgeTLSKeyName]
		if !okCrt {
			errs = append(errs, MissingSecret(EdgeSecretGroup, EdgeTLSCertificateName))
		}
		if !okKey {
			errs = append(errs, MissingSecret(EdgeSecretGroup, EdgeTLSKeyName))
		}
		if okCrt && okKey && !isPlaceholder(crt) && !isPlaceholder(key) {
			if _, err := tls.X509KeyPair([]byte(crt.Reveal()), []byte(key.Reveal())); err != nil {
				errs = append(errs, FieldError{Key: fmt.Sprintf("%s:secrets.%s.%s", Namespace, EdgeSecretGroup, EdgeTLSKeyName),
					Problem: "and secrets.edge." + EdgeTLSCertificateName + " are not a matching PEM key and certificate (value withheld): " + err.Error(),
					Fix:     "set both from the same key pair: the certificate chain (leaf first) and its unencrypted private key, PEM"})
			}
		}
	case CertificateExternal:
	default:
		errs = append(errs, fieldErr(ck+".source", cert.Source, "is not a certificate source", certificateFix))
	}
	return errs
}

func isPlaceholder(s Secret) bool { return s.Reveal() == SecretPlaceholder }

func (c *EdgeConfig) checkOriginCA(cfg *Config) []FieldError {
	const ck = Namespace + ":edge.certificate"
	cert := &c.Edge.Certificate
	var errs []FieldError
	if !slices.Contains(OriginCAValidities, cert.ValidityDays) {
		errs = append(errs, fieldErr(ck+".validityDays", cert.ValidityDays, "is not a validity Cloudflare's Origin CA issues",
			fmt.Sprintf("use one of %v (default 5475)", OriginCAValidities)))
	}
	if cert.RenewDays < 1 || cert.RenewDays >= cert.ValidityDays {
		errs = append(errs, fieldErr(ck+".renewDays", cert.RenewDays, "is out of range", "use a number of days from 1 to below validityDays, e.g. 30"))
	}
	for i, h := range cert.Hostnames {
		if msg := CheckHostname(h); msg != "" {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.hostnames[%d]", ck, i), h, msg, hostFix))
		}
	}
	hosts := cfg.OriginCAHostnames()
	if len(hosts) == 0 {
		errs = append(errs, fieldErr(ck+".hostnames", nil, "is empty and the stack routes no host", "list the host names the certificate covers, e.g. [\"shop.example.com\"]"))
	}
	// An Origin CA certificate is trusted by Cloudflare's proxy only: a browser that reaches the
	// edge directly, through a record DNS sync publishes unproxied, refuses it.
	if cfg.DNSSync.Enabled && !cfg.DNS.Proxied {
		published := append([]string{cfg.DNS.Name}, cfg.DNS.FullAliases()...)
		for _, h := range hosts {
			for _, p := range published {
				if hostCovers(h, p) {
					errs = append(errs, fieldErr(Namespace+":dns.proxied", false,
						fmt.Sprintf("leaves %s unproxied, so browsers would reach the edge directly and refuse its Origin CA certificate (for %s)", p, h),
						"set dns.proxied: true and dns.ttl: 1, or use edge.certificate.source \""+CertificateStack+"\" with a publicly trusted certificate"))
					break
				}
			}
		}
	}
	if _, ok := cfg.Secrets[EdgeSecretGroup][EdgeOriginCATokenName]; !ok {
		errs = append(errs, MissingSecret(EdgeSecretGroup, EdgeOriginCATokenName))
	}
	// The key and its request are made together, once, by `shoestring edge-key`: both are stack
	// secrets (the request is public, but keeping it beside its key lets one command replace both).
	const keygen = "run `shoestring edge-key --stack <stack>`: it makes the key and its request once"
	key, okKey := cfg.Secrets[EdgeSecretGroup][EdgeOriginCAKeyName]
	csr, okCSR := cfg.Secrets[EdgeSecretGroup][EdgeOriginCACSRName]
	for _, m := range []struct {
		name string
		ok   bool
	}{{EdgeOriginCAKeyName, okKey}, {EdgeOriginCACSRName, okCSR}} {
		if !m.ok {
			e := MissingSecret(EdgeSecretGroup, m.name)
			e.Fix = keygen
			errs = append(errs, e)
		}
	}
	if !okKey || !okCSR || isPlaceholder(key) || isPlaceholder(csr) {
		return errs
	}
	secretKey := func(name string) string { return fmt.Sprintf("%s:secrets.%s.%s", Namespace, EdgeSecretGroup, name) }
	const rotate = "run `shoestring edge-key --stack <stack> --rotate`: it replaces the key and its request together"
	req, err := ParseOriginCACSR(csr.Reveal())
	if err != nil {
		return append(errs, FieldError{Key: secretKey(EdgeOriginCACSRName), Problem: err.Error(), Fix: rotate})
	}
	pub, err := PrivateKeyPublic(key.Reveal())
	switch {
	case err != nil:
		errs = append(errs, FieldError{Key: secretKey(EdgeOriginCAKeyName), Problem: "is not a PEM private key (value withheld): " + err.Error(), Fix: rotate})
	case !publicKeysEqual(pub, req.PublicKey):
		errs = append(errs, FieldError{Key: secretKey(EdgeOriginCAKeyName), Problem: "does not belong to secrets.edge." + EdgeOriginCACSRName + " (value withheld)", Fix: rotate})
	}
	return errs
}

// OriginCAHostnames are the names the Origin CA certificate covers: edge.certificate.hostnames, or
// by default every routed host and *.<playground domain>, sorted, without duplicates.
func (c *Config) OriginCAHostnames() []string {
	if hs := c.Edge.Certificate.Hostnames; len(hs) > 0 {
		out := slices.Clone(hs)
		slices.Sort(out)
		return slices.Compact(out)
	}
	var out []string
	for _, r := range c.EdgeRoutes() {
		out = append(out, r.Host)
	}
	if d := c.Edge.Playgrounds.Domain; d != "" {
		out = append(out, "*."+d)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// hostCovers says whether a certificate name (exact or "*.parent") covers host.
func hostCovers(certName, host string) bool {
	if certName == host {
		return true
	}
	if parent, ok := strings.CutPrefix(certName, "*."); ok {
		label, rest, found := strings.Cut(host, ".")
		return found && label != "" && rest == parent
	}
	return false
}

// OriginCARequestType is the Origin CA request type of the keys `shoestring edge-key` makes.
const OriginCARequestType = "origin-ecc"

// ParseOriginCACSR parses a PEM certificate request and checks its signature and its key: ECDSA
// P-256, what the Origin CA signs as OriginCARequestType.
func ParseOriginCACSR(text string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("is not a PEM certificate request")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not a valid certificate request: %v", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("has a signature that does not verify: %v", err)
	}
	if k, ok := req.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("is not for an ECDSA P-256 key (%T)", req.PublicKey)
	}
	return req, nil
}

// PrivateKeyPublic parses a PEM private key (PKCS#8, SEC 1 or PKCS#1) and returns its public key.
func PrivateKeyPublic(text string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM block of type %q, not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T key", key)
	}
	return s.Public(), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
