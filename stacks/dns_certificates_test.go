package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testZoneID = "9a7806061c88ada191ed06f989cc3dac"

// proxiedStack is a stack whose DNS sync publishes proxied names, with the given dns and edge keys.
func proxiedStack(dns, edge string) map[string]string {
	raw := map[string]string{
		"shoestring:services": `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}],"routes":[{"host":"shop.example.com"}]}]`,
		"shoestring:cluster":  `{"mode":"existing","existing":{"kubeconfig":"/tmp/kubeconfig"}}`,
		"shoestring:dns":      dns,
		"shoestring:dnssync":  `{"enabled":true}`,
		"shoestring:secrets":  `{"dns-sync":{"CLOUDFLARE_API_TOKEN":"t"}}`,
	}
	if edge != "" {
		raw["shoestring:edge"] = edge
	}
	return raw
}

func TestProxiedNamesBeyondUniversalSSLAreRefused(t *testing.T) {
	deep := `{"zone":"example.com","zoneId":"` + testZoneID + `","name":"k.sandbox.example.com","aliases":["api.sandbox.example.com"],"proxied":true,"ttl":1}`
	_, err := Parse(proxiedStack(deep, ""), []string{"shoestring:secrets"})
	require.Error(t, err)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	byKey := map[string]FieldError{}
	for _, e := range errs {
		byKey[e.Key] = e
	}
	require.Len(t, errs, 2, "%v", err)
	alias := byKey["shoestring:dns.aliases[0]"]
	assert.Equal(t, "api.sandbox.example.com", alias.Value)
	assert.Contains(t, alias.Problem, "2 labels below the zone example.com, beyond Cloudflare's Universal SSL certificate")
	assert.Contains(t, alias.Fix, `e.g. "api-sandbox.example.com"`)
	assert.Contains(t, alias.Fix, "shoestring:dns.advancedCertificate: true")
	assert.Equal(t, "k.sandbox.example.com", byKey["shoestring:dns.name"].Value)

	// The stack says the zone has a certificate for them; or the names are not proxied.
	advanced := `{"zone":"example.com","zoneId":"` + testZoneID + `","name":"k.sandbox.example.com","aliases":["api.sandbox.example.com"],"proxied":true,"ttl":1,"advancedCertificate":true}`
	_, err = Parse(proxiedStack(advanced, ""), []string{"shoestring:secrets"})
	assert.NoError(t, err)
	direct := `{"zone":"example.com","zoneId":"` + testZoneID + `","name":"k.sandbox.example.com","aliases":["api.sandbox.example.com"]}`
	_, err = Parse(proxiedStack(direct, ""), []string{"shoestring:secrets"})
	assert.NoError(t, err)
	flat := `{"zone":"example.com","zoneId":"` + testZoneID + `","name":"k-sandbox.example.com","aliases":["api-sandbox"],"proxied":true,"ttl":1}`
	_, err = Parse(proxiedStack(flat, ""), []string{"shoestring:secrets"})
	assert.NoError(t, err, "one label below the zone is what Universal SSL covers")
}

func TestThePlaygroundWildcardIsOneLabelBelowTheZoneOnAFreePlan(t *testing.T) {
	dns := `{"zone":"example.com","zoneId":"` + testZoneID + `","name":"k-sandbox.example.com","proxied":true,"ttl":1}`
	_, err := Parse(proxiedStack(dns, `{"playgrounds":{"domain":"play.example.com"}}`), []string{"shoestring:secrets"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:edge.playgrounds.domain: "play.example.com" makes the proxied record *.play.example.com, 2 labels below the zone example.com`)
	assert.Contains(t, err.Error(), `use the zone itself, "example.com"`)

	c, err := Parse(proxiedStack(dns, `{"playgrounds":{"domain":"example.com"}}`), []string{"shoestring:secrets"})
	require.NoError(t, err, "the zone as playground domain, beside the stack's exact route shop.example.com")
	assert.Equal(t, "*.example.com", c.PlaygroundWildcard())

	noID := `{"zone":"example.com","name":"k-sandbox.example.com","proxied":true,"ttl":1}`
	_, err = Parse(proxiedStack(noID, `{"playgrounds":{"domain":"example.com"}}`), []string{"shoestring:secrets"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:dns.zoneId: is required for the playgrounds' record *.example.com")
}

func TestAPlaygroundCannotTakeARoutesHost(t *testing.T) {
	_, errs := parseDev(t, map[string]string{
		"shoestring:namespace":  "play-shop",
		"shoestring:services":   `[{"name":"gateway","image":"example/gateway:1.0","ports":[{"name":"http","port":8080}],"routes":[{"host":"shop.example.com"}]}]`,
		"shoestring:playground": `{"branch":"play/shop","baseNamespace":"apps"}`,
		"shoestring:edge":       `{"playgrounds":{"domain":"example.com"}}`,
	})
	require.Len(t, errs, 1, "%v", errs)
	assert.Equal(t, "shoestring:playground.branch", errs[0].Key)
	assert.Equal(t, "play/shop", errs[0].Value)
	assert.Contains(t, errs[0].Problem, "makes the playground host shop.example.com, which is the host of a route")
}
