package program

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/components/service"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// configMapData is a rendered ConfigMap's data: what anyone who may read ConfigMaps knows.
func configMapData(t *testing.T, rec *pulumimock.Record, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range resOf(t, rec, tConfigMap, name).Plain()["data"].(map[string]any) {
		out[k] = v.(string)
	}
	return out
}

// Pod annotations are readable by whoever may read Deployments: with the public ConfigMaps and a
// guessed password, a plain hash would confirm the guess. Keyed, it only confirms with the key.
func TestAGuessedSecretDoesNotReproduceTheConfigChecksum(t *testing.T) {
	rec := renderWorkloads(t, nil)
	annotation := checksumOf(resOf(t, rec, tDeployment, "api"))
	require.NotEmpty(t, annotation)
	public := []service.ConfigRef{
		{Kind: "ConfigMap", Name: "common-config", Checksum: service.Checksum(configMapData(t, rec, "common-config"))},
		{Kind: "ConfigMap", Name: "api-config", Checksum: service.Checksum(configMapData(t, rec, "api-config"))},
	}
	guess := map[string]string{"DB_PASSWORD": "pw-api-1234567"} // the right value
	withSecret := func(checksum string) string {
		return service.TemplateChecksum(append(append([]service.ConfigRef{}, public...),
			service.ConfigRef{Kind: "Secret", Name: "api-secrets", Checksum: checksum}))
	}
	assert.NotEqual(t, withSecret(service.Checksum(guess)), annotation, "the right password, hashed without the key, does not match")
	assert.Equal(t, withSecret(service.KeyedChecksum("3f9a1c2e7b6d4a5f8e0c1b2a3d4e5f60", guess)), annotation,
		"with the stack's key it does: the annotation is made of exactly these parts")
}

// Release Job names carry a hash of the Secrets they read: it changes with a value, and with the key.
func TestReleaseJobNamesDependOnTheKeyNotOnlyTheSecret(t *testing.T) {
	jobName := func(key, password string) (name, annotation string) {
		rec := renderWorkloads(t, func(c *stacks.Config) {
			c.Secrets[stacks.ChecksumSecretGroup][stacks.ChecksumKeyName] = stacks.NewSecret(key)
			c.Secrets["api"]["DB_PASSWORD"] = stacks.NewSecret(password)
		})
		for _, r := range rec.ByType(tJob) {
			if n := r.Plain()["metadata"].(map[string]any)["name"].(string); strings.HasPrefix(n, "api-migrate-") {
				return n, checksumOf(r)
			}
		}
		t.Fatal("no api-migrate Job")
		return "", ""
	}
	base, baseAnn := jobName("key-one", "pw-api-1234567")
	again, _ := jobName("key-one", "pw-api-1234567")
	assert.Equal(t, base, again, "the same inputs name the same Job")
	otherKey, otherKeyAnn := jobName("key-two", "pw-api-1234567")
	assert.NotEqual(t, base, otherKey, "another stack's key gives another name for the same secret")
	assert.NotEqual(t, baseAnn, otherKeyAnn)
	newPassword, _ := jobName("key-one", "pw-api-changed")
	assert.NotEqual(t, base, newPassword, "a changed password reruns the Job")
}

func TestThePodsOfAStackReadingSecretsNeedTheChecksumKey(t *testing.T) {
	_, err := stacks.Parse(map[string]string{
		"shoestring:cluster":  `{"mode":"existing","existing":{"kubeconfig":"/tmp/kc"}}`,
		"shoestring:services": `[{"name":"api","image":"acme/api:1.0.0","secretEnv":["DB_PASSWORD"]}]`,
		"shoestring:secrets":  `{"api":{"DB_PASSWORD":"pw"}}`,
	}, []string{"shoestring:secrets"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:secrets.checksum.HMAC_KEY: is referenced but not set; set a random key once, e.g. `pulumi config set --secret --path 'secrets.checksum.HMAC_KEY' \"$(openssl rand -hex 32)\"`")

	_, err = stacks.Parse(map[string]string{
		"shoestring:cluster":  `{"mode":"existing","existing":{"kubeconfig":"/tmp/kc"}}`,
		"shoestring:services": `[{"name":"api","image":"acme/api:1.0.0"}]`,
	}, nil)
	assert.NoError(t, err, "no Secret read, nothing hashed, no key needed")
}
