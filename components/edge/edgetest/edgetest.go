// Package edgetest runs the edge's real nginx in tests: the container's start script against a temp
// folder, `nginx -t`, and self-signed certificates. It is a test helper shared by components/edge
// and the program's tests of each stack's generated config.
package edgetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/components/edge"
)

// NginxBinary finds Debian's nginx for end-to-end tests: skipped without SHOESTRING_E2E=1, a
// failure with it when nginx is missing.
func NginxBinary(t testing.TB) string {
	t.Helper()
	if os.Getenv("SHOESTRING_E2E") != "1" {
		t.Skip("needs real nginx: run `make test` (sets SHOESTRING_E2E=1)")
	}
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("nginx not found: install it with `apt-get install -y nginx` (.ci/run does)")
	return ""
}

// RunStartScript runs the container's start script against a temp prefix with nginx args.
// It returns the command and the prefix folder the script prepares.
func RunStartScript(t testing.TB, nginx, conf, resolvConf string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix") + "/"
	src := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(src, []byte(conf), 0o644))
	cmd := exec.Command("/bin/sh", append([]string{"-c", edge.StartScript, "edge-start"}, args...)...)
	cmd.Env = append(os.Environ(),
		"EDGE_CONFIG="+src, "EDGE_PREFIX="+prefix, "RESOLV_CONF="+resolvConf,
		"PATH="+filepath.Dir(nginx)+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, prefix
}

// NginxCheck runs `nginx -t` on conf through the start script, with a resolv.conf naming
// nameserver (nginx -t contacts no one). It returns nginx's output and the prefix folder.
func NginxCheck(t testing.TB, conf, nameserver string) (string, string, error) {
	t.Helper()
	nginx := NginxBinary(t)
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	require.NoError(t, os.WriteFile(resolv, []byte("search example.internal\nnameserver "+nameserver+"\noptions ndots:5\n"), 0o644))
	cmd, prefix := RunStartScript(t, nginx, conf, resolv, "-t")
	out, err := cmd.CombinedOutput()
	return string(out), prefix, err
}

// WriteCertificate writes a self-signed tls.crt and tls.key for hosts (the keys of a
// kubernetes.io/tls Secret) to a temp folder and returns it.
func WriteCertificate(t testing.TB, hosts ...string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return dir
}
