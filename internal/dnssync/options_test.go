package dnssync

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parse(args []string, env map[string]string, files map[string]string) (*Options, error) {
	return ParseOptions(args, func(k string) string { return env[k] }, func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, os.ErrNotExist
	}, io.Discard)
}

func TestOptionsFlagsEnvAndToken(t *testing.T) {
	o, err := parse([]string{"--names=K.example.com.", "--owner-id=c1", "--token-file=/t"},
		map[string]string{"DNSSYNC_ZONE": "example.com", "DNSSYNC_TTL": "1", "DNSSYNC_PROXIED": "true", "DNSSYNC_RESYNC": "5m"},
		map[string]string{"/t": "secret-token\n"})
	require.NoError(t, err)
	assert.Equal(t, []string{"k.example.com"}, o.Names)
	assert.Equal(t, 1, o.TTL)
	assert.True(t, o.Proxied)
	assert.Equal(t, 5*time.Minute, o.Resync)
	assert.Equal(t, "secret-token", o.Token, "token read from the mounted file, trimmed")

	o, err = parse([]string{"--names=k.example.com", "--zone=023e105f4ecef8ad9ca31a8372d0c353", "--owner-id=c1", "--ttl=300"},
		map[string]string{"DNSSYNC_TTL": "60", "CLOUDFLARE_API_TOKEN": "env-token"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 300, o.TTL, "a flag given explicitly wins over its env fallback")
	assert.Equal(t, "env-token", o.Token)
}

func TestOptionsRefuseBadInputWithTheFlagAndTheFix(t *testing.T) {
	_, err := parse([]string{"--names=k.example.org", "--zone=example.com", "--owner-id=", "--ttl=30", "--resync=5s",
		"--node-selector=a in (b", "--api-base-url=ftp://x"}, nil, nil)
	require.Error(t, err)
	for _, want := range []string{
		`--names "k.example.org" is not in the zone example.com; use a name that ends in .example.com`,
		`--owner-id "" is not a valid owner id`,
		`--ttl "30" is out of range; use 60 to 86400 seconds, or 1 for automatic (default 120)`,
		`--resync "5s" is too short`,
		`--node-selector "a in (b" is not a label selector`,
		`--api-base-url "ftp://x" is not an http(s) URL`,
	} {
		assert.Contains(t, err.Error(), want)
	}

	_, err = parse([]string{"--names=k.example.com", "--zone=example.com", "--owner-id=c1"}, nil, nil)
	require.ErrorContains(t, err, "no Cloudflare API token: set CLOUDFLARE_API_TOKEN or --token-file")

	_, err = parse([]string{"--token=abc"}, nil, nil)
	require.Error(t, err, "there is no flag that takes the token itself")
}
