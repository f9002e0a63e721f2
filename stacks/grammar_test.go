package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The grammars come from libraries; these cases pin the decisions this package makes with them,
// including values the hand-written patterns they replace got wrong.

func TestImageReferences(t *testing.T) {
	for _, ok := range []string{"busybox:1.37", "nginx:1.27.3-alpine", "ghcr.io/acme/api:1.4.2", "localhost:5000/acme/api:V1.2",
		"acme/api@sha256:" + strings.Repeat("a", 64), "ghcr.io/acme/api:1.4.2@sha256:" + strings.Repeat("0", 64)} {
		assert.Empty(t, imageProblem(ok), ok)
		assert.Empty(t, checkImage("k", ok), ok)
	}
	for _, bad := range []string{"", "ghcr.io/Acme/api:1.0", "acme//api:1.0", "acme/api:", "acme/api:-x", "acme/api@sha256:abc", "acme api:1"} {
		assert.Contains(t, imageProblem(bad), "is not an image reference (", bad)
	}
	assert.Equal(t, "is not an image reference (invalid reference format: repository name (acme/Api) must be lowercase)", imageProblem("acme/Api:1"),
		"the library says what is wrong")
	problem := func(image string) string {
		errs := checkImage("k", image)
		if len(errs) != 1 {
			return ""
		}
		return errs[0].Problem
	}
	assert.Contains(t, problem("ghcr.io/acme/api"), "has no tag or digest")
	assert.Contains(t, problem("localhost:5000/acme/api"), "has no tag or digest", "a registry port is not a tag")
	assert.Contains(t, problem("acme/api:latest"), "moving tag latest")
	assert.Contains(t, problem("acme//api:1"), "is not an image reference")
}

func TestNamesAndAddresses(t *testing.T) {
	assert.True(t, isDNSLabel("apps"))
	assert.False(t, isDNSLabel(strings.Repeat("a", 64)), "at most 63 characters")
	assert.False(t, isDNSLabel("a.b"))

	assert.True(t, isPortName("http"))
	assert.True(t, isPortName("grpc-web"))
	for _, bad := range []string{"web--1", "8080", "-http", strings.Repeat("a", 16), "HTTP"} {
		assert.False(t, isPortName(bad), bad)
	}

	assert.True(t, isEnvVarName("APP_MODE"))
	assert.True(t, isEnvVarName("my.env-name"))
	assert.False(t, isEnvVarName("1ST"))
	assert.False(t, isEnvVarName(".."), "Kubernetes refuses names that start with ..")

	for _, ok := range []string{"db", "db.other", "DB.Example.com", "db.example.com."} {
		assert.True(t, isHostname(ok), ok)
	}
	for _, bad := range []string{"", "a..b", "-db.example.com", "db_1.example.com", strings.Repeat("a", 64) + ".example.com"} {
		assert.False(t, isHostname(bad), bad)
	}

	for _, ok := range []string{"10.0.0.10", "10.0.0.10:53", "[fd00::a]", "[fd00::a]:53", "kube-dns.kube-system", "dns.internal:5353"} {
		assert.True(t, isServerAddress(ok), ok)
	}
	for _, bad := range []string{"udp://10.0.0.10", "fd00::a", "[10.0.0.1]", "10.0.0.10:0", "10.0.0.10:65536", "-bad", "[fd00::a"} {
		assert.False(t, isServerAddress(bad), bad)
	}

	assert.True(t, isHTTPURL("http://127.0.0.1:8080/client/v4"))
	for _, bad := range []string{"ftp://x", "http://", "http://a b", "127.0.0.1:8080"} {
		assert.False(t, isHTTPURL(bad), bad)
	}

	assert.True(t, isGCEName("shoestring-node", maxNetworkTag))
	assert.True(t, isGCEName(strings.Repeat("a", 63), maxNetworkTag), "a network tag may have 63 characters")
	assert.False(t, isGCEName(strings.Repeat("a", 41), maxGKEClusterName))
	assert.False(t, isGCEName("1st", maxGKEClusterName), "starts with a letter")
}

func TestTimeZones(t *testing.T) {
	assert.Empty(t, timeZoneProblem("Europe/Berlin"))
	assert.Empty(t, timeZoneProblem("UTC"))
	assert.NotEmpty(t, timeZoneProblem("Local"))
	assert.NotEmpty(t, timeZoneProblem("local"))
	assert.NotEmpty(t, timeZoneProblem("Mars/Olympus"))
	assert.NotEmpty(t, timeZoneProblem("../etc/passwd"))
}

func TestSSHPublicKeys(t *testing.T) {
	assert.Empty(t, sshPublicKeyProblem(aliceKey))
	assert.Empty(t, sshPublicKeyProblem("  "+aliceKey+"\n"), "surrounding white space is fine")
	cases := map[string]string{
		"hunter2":                "is not an SSH public key (no key found)",
		"ssh-ed25519 AAAA alice": "is not an SSH public key",
		"ssh-rsa " + aliceKey[len("ssh-ed25519 "):]: "is not an SSH public key",
		aliceKey + "\n" + aliceKey:                  "is more than one line",
		`command="ls" ` + aliceKey:                  "starts with authorized_keys options (command=\"ls\")",
	}
	for key, want := range cases {
		assert.Contains(t, sshPublicKeyProblem(key), want, key)
	}
}
