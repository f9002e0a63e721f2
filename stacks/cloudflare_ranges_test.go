package stacks

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheCommittedCloudflareListIsDatedIPv4(t *testing.T) {
	ranges, asOf, err := CloudflareIPv4Ranges()
	require.NoError(t, err)
	assert.False(t, asOf.IsZero())
	assert.GreaterOrEqual(t, len(ranges), 10)
	for _, r := range ranges {
		p := netip.MustParsePrefix(r)
		assert.True(t, p.Addr().Is4(), r)
		assert.NotEqual(t, 0, p.Bits(), "%s is not the whole internet", r)
	}
}

func TestFirewallDefaultsToCloudflareWhenNamesAreProxied(t *testing.T) {
	cloudflare, _, err := CloudflareIPv4Ranges()
	require.NoError(t, err)
	proxied := map[string]string{
		"shoestring:cluster":  gke,
		"shoestring:dns":      `{"zone":"example.com","name":"k.example.com","proxied":true,"ttl":1}`,
		"shoestring:dnssync":  `{"enabled":true}`,
		"shoestring:secrets":  `{"dns-sync":{"CLOUDFLARE_API_TOKEN":"t"}}`,
		"shoestring:services": `[{"name":"api","image":"acme/api:1.0.0"}]`,
	}
	c, err := Parse(proxied, []string{"shoestring:secrets"})
	require.NoError(t, err)
	assert.Equal(t, cloudflare, c.Cluster.GKE.FirewallSourceRanges, "only Cloudflare's proxy reaches the origin")

	direct := map[string]string{}
	for k, v := range proxied {
		direct[k] = v
	}
	direct["shoestring:dns"] = `{"zone":"example.com","name":"k.example.com"}`
	c, err = Parse(direct, []string{"shoestring:secrets"})
	require.NoError(t, err)
	assert.Equal(t, []string{"0.0.0.0/0"}, c.Cluster.GKE.FirewallSourceRanges, "names not proxied: browsers reach the nodes")

	own := map[string]string{}
	for k, v := range proxied {
		own[k] = v
	}
	own["shoestring:cluster"] = `{"gke":{"zone":"us-central1-a","firewallSourceRanges":["203.0.113.0/24"]}}`
	c, err = Parse(own, []string{"shoestring:secrets"})
	require.NoError(t, err)
	assert.Equal(t, []string{"203.0.113.0/24"}, c.Cluster.GKE.FirewallSourceRanges, "the stack's own ranges win")

	own["shoestring:cluster"] = `{"gke":{"zone":"us-central1-a","firewallSourceRanges":[]}}`
	_, err = Parse(own, []string{"shoestring:secrets"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:cluster.gke.firewallSourceRanges: is empty")
}

// The refresh script, fed a local copy in Cloudflare's format (no network), writes a file the
// program reads.
func TestTheRefreshScriptWritesTheFormatTheProgramReads(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "ips-v4")
	require.NoError(t, os.WriteFile(src, []byte("173.245.48.0/20\r\n103.21.244.0/22\n"), 0o644))
	out := filepath.Join(dir, "cloudflare-ips-v4.txt")
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "refresh-cloudflare-ips.sh"), out)
	cmd.Env = append(os.Environ(), "CLOUDFLARE_IPS_URL=file://"+src)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	saved := cloudflareIPv4
	t.Cleanup(func() { cloudflareIPv4 = saved })
	cloudflareIPv4 = string(written)
	ranges, asOf, err := CloudflareIPv4Ranges()
	require.NoError(t, err)
	assert.Equal(t, []string{"173.245.48.0/20", "103.21.244.0/22"}, ranges)
	assert.False(t, asOf.IsZero())
	assert.True(t, strings.HasPrefix(string(written), "# Cloudflare's published IPv4 ranges"))

	// An answer without ranges leaves the file alone.
	require.NoError(t, os.WriteFile(src, []byte("<html>error</html>\n"), 0o644))
	cmd = exec.Command("bash", filepath.Join("..", "scripts", "refresh-cloudflare-ips.sh"), out)
	cmd.Env = append(os.Environ(), "CLOUDFLARE_IPS_URL=file://"+src)
	_, err = cmd.CombinedOutput()
	require.Error(t, err)
	again, _ := os.ReadFile(out)
	assert.Equal(t, written, again)
}
