package program

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped sandbox reaches every playground through one proxied wildcard the program makes, and
// every proxied record of the shipped stacks is one label below the zone (Universal SSL's reach).
func TestShippedStacksProxyOnlyNamesUniversalSSLCovers(t *testing.T) {
	for _, stack := range []string{"sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg := loadStack(t, stack)
			rec := deployStack(t, stack)
			records := rec.ByType("cloudflare:index/record:Record")
			require.NotEmpty(t, records)
			for _, r := range records {
				p := r.Plain()
				name := p["name"].(string)
				assert.Equal(t, true, p["proxied"], name)
				below := strings.TrimSuffix(strings.TrimSuffix(name, cfg.DNS.Zone), ".")
				assert.NotContains(t, below, ".", "%s is one label below %s", name, cfg.DNS.Zone)
			}
			if cfg.Edge.Playgrounds.Domain == "" {
				return // prod has no playgrounds
			}
			w := one(t, rec, "cloudflare:index/record:Record", "dnssync-alias-*."+cfg.Edge.Playgrounds.Domain)
			assert.Equal(t, "CNAME", w["type"])
			assert.Equal(t, "*."+cfg.Edge.Playgrounds.Domain, w["name"])
			assert.Equal(t, cfg.DNS.Name, w["content"])
		})
	}
}
