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

func TestOptionsLeaderElectionAndPacing(t *testing.T) {
	base := []string{"--names=k.example.com", "--zone=example.com", "--owner-id=c1"}
	env := map[string]string{"CLOUDFLARE_API_TOKEN": "t", "POD_NAMESPACE": "dns-sync"}
	o, err := parse(append(base, "--leader-elect"), env, nil)
	require.NoError(t, err)
	assert.Equal(t, 15*time.Second, o.LeaseDuration)
	assert.Equal(t, 10*time.Second, o.RenewDeadline)
	assert.Equal(t, 2*time.Second, o.RetryPeriod)
	cfg := o.Config()
	assert.Equal(t, time.Second, cfg.Coalesce)
	assert.Equal(t, time.Minute, cfg.ForeignRecheck)

	o, err = parse(append(base, "--coalesce=0", "--foreign-recheck=0"), env, nil)
	require.NoError(t, err)
	assert.Negative(t, o.Config().Coalesce, "0 turns pacing off")
	assert.Negative(t, o.Config().ForeignRecheck, "0 leaves foreign records to the resync")

	_, err = parse(append(base, "--leader-elect", "--lease-duration=10s", "--renew-deadline=10s", "--retry-period=0s",
		"--coalesce=1m", "--foreign-recheck=1s"), env, nil)
	require.Error(t, err)
	for _, want := range []string{
		`--renew-deadline "10s" must be above 0 and below --lease-duration 10s`,
		`--retry-period "0s" must be above 0 and below --renew-deadline 10s`,
		`--coalesce "1m0s" is out of range; use 0 (off) to 10s (default 1s)`,
		`--foreign-recheck "1s" is out of range`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = parse(append(base, "--leader-elect", "--lease-duration=2500ms"), env, nil)
	require.ErrorContains(t, err, `--lease-duration "2.5s" is not whole seconds`)
}

func TestReadiness(t *testing.T) {
	for _, tt := range []struct {
		synced, electing, leading, syncedOnce, want bool
	}{
		{false, false, false, true, false}, // node cache not synced
		{true, false, false, false, false}, // no successful sync yet
		{true, false, false, true, true},
		{true, true, false, false, true},   // a standby is ready
		{false, true, false, false, false}, // ... once its cache synced
		{true, true, true, false, false},   // a new leader: after its first sync
		{true, true, true, true, true},
	} {
		got, why := ready(tt.synced, tt.electing, tt.leading, tt.syncedOnce)
		assert.Equal(t, tt.want, got, "%+v: %s", tt, why)
	}
}
