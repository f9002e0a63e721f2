package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dnsOK = `{"zone":"example.com","zoneId":"9a7806061c88ada191ed06f989cc3dac","name":"k.example.com","aliases":["www"]}`

func TestDNSDefaultsAndAliases(t *testing.T) {
	c, err := Parse(map[string]string{"shoestring:cluster": gke, "shoestring:dns": dnsOK,
		"shoestring:dnssync": `{"enabled":true}`, "shoestring:secrets": `{"dns-sync":{"CLOUDFLARE_API_TOKEN":"t"}}`},
		[]string{"shoestring:secrets"})
	require.NoError(t, err)
	assert.Equal(t, 120, c.DNS.TTL)
	assert.Equal(t, []string{"www.example.com"}, c.DNS.FullAliases())
	assert.Equal(t, "shoestring", c.DNSOwnerID(), "the owner id defaults to the cluster name")
	assert.Equal(t, 1, c.DNSSync.Replicas)
	assert.Equal(t, "10m", c.DNSSync.Resync)
	assert.Equal(t, "t", c.Secrets[DNSSyncSecretGroup][DNSSyncTokenName].Reveal())

	off, err := Parse(map[string]string{"shoestring:cluster": gke}, nil)
	require.NoError(t, err)
	assert.False(t, off.DNSSync.Enabled, "off unless a stack turns it on: no zone, no token needed")
}

func TestDNSInvalid(t *testing.T) {
	cases := []struct{ name, dns, sync, want string }{
		{"TTL out of range", `{"zone":"example.com","name":"k.example.com","ttl":30}`, `{}`,
			`shoestring:dns.ttl: "30" is out of range; use 60 to 86400 seconds, or 1 for automatic (default 120)`},
		{"proxied needs automatic TTL", `{"zone":"example.com","name":"k.example.com","proxied":true}`, `{}`,
			`shoestring:dns.ttl: "120" is ignored by Cloudflare for proxied records; set ttl: 1 together with proxied: true`},
		{"name outside the zone", `{"zone":"example.com","name":"k.example.org"}`, `{}`,
			`shoestring:dns.name: "k.example.org" is not in the zone example.com; use a name ending in .example.com`},
		{"zone missing when enabled", `{"name":"k.example.com"}`, `{"enabled":true}`,
			`shoestring:dns.zone: is required when dnssync is enabled or aliases are set`},
		{"aliases need the zone id", `{"zone":"example.com","name":"k.example.com","aliases":["www"]}`, `{}`,
			`shoestring:dns.zoneId: is required for aliases`},
		{"alias equal to the name", `{"zone":"example.com","zoneId":"9a7806061c88ada191ed06f989cc3dac","name":"k.example.com","aliases":["k"]}`, `{}`,
			`shoestring:dns.aliases[0]: "k" is the synced name itself`},
		{"bad owner id", `{"zone":"example.com","name":"k.example.com","ownerId":"a b"}`, `{}`,
			`shoestring:dns.ownerId: "a b" is not a valid owner id`},
		{"resync too short", dnsOK, `{"resync":"10s"}`,
			`shoestring:dnssync.resync: "10s" is shorter than 1m`},
		{"replicas out of range", dnsOK, `{"replicas":0}`,
			`shoestring:dnssync.replicas: "0" is out of range; use 1 to 5`},
		{"bad selector", dnsOK, `{"nodeSelector":"a in (b"}`,
			`shoestring:dnssync.nodeSelector: "a in (b" is not a label selector`},
		{"token missing when enabled", dnsOK, `{"enabled":true}`,
			`shoestring:secrets.dns-sync.CLOUDFLARE_API_TOKEN:`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(map[string]string{"shoestring:cluster": gke, "shoestring:dns": tc.dns, "shoestring:dnssync": tc.sync}, nil)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.want), "error %q\nwant it to contain %q", err, tc.want)
		})
	}
}

func TestCloudflareExampleZoneIDIsRefusedWhereUsed(t *testing.T) {
	example := `{"zone":"example.com","zoneId":"` + ExampleZoneID + `","name":"k.example.com","aliases":["www"]}`
	raw := map[string]string{"shoestring:cluster": gke, "shoestring:dns": example,
		"shoestring:dnssync": `{"enabled":true}`, "shoestring:secrets": `{"dns-sync":{"CLOUDFLARE_API_TOKEN":"t"}}`}
	_, err := Parse(raw, []string{"shoestring:secrets"})
	require.Error(t, err)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1, "%v", err)
	assert.Equal(t, "shoestring:dns.zoneId", errs[0].Key)
	assert.Equal(t, ExampleZoneID, errs[0].Value)
	assert.Contains(t, errs[0].Fix, "pulumi config set --path 'shoestring:dns.zoneId' <id>")

	// Renders and local runs, which never reach Cloudflare, take it with a warning.
	c, filled, err := ParseWithPlaceholders(raw, []string{"shoestring:secrets"})
	require.NoError(t, err)
	assert.Empty(t, filled, "the zone id is not a secret to generate")
	var zoneWarnings []FieldError
	for _, w := range c.Warnings {
		if w.Key == "shoestring:dns.zoneId" {
			zoneWarnings = append(zoneWarnings, w)
		}
	}
	require.Len(t, zoneWarnings, 1, "%v", c.Warnings)

	// Where nothing uses the id (no controller, no aliases), it is no one's problem.
	_, err = Parse(map[string]string{"shoestring:cluster": gke,
		"shoestring:dns": `{"zone":"example.com","zoneId":"` + ExampleZoneID + `","name":"k.example.com"}`}, nil)
	require.NoError(t, err)
}
