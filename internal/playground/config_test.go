package playground

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/stacks"
)

const baseConfigJSON = `{
  "gcp:project": {"value": "shoestring-sandbox", "secret": false},
  "shoestring:namespace": {"value": "shop", "secret": false},
  "shoestring:cluster": {"value": "{\"gke\":{\"zone\":\"us-central1-a\"}}", "objectValue": {"gke": {"zone": "us-central1-a"}}, "secret": false},
  "shoestring:playground": {"value": "{\"maxAge\":\"3d\"}", "objectValue": {"maxAge": "3d"}, "secret": false},
  "shoestring:edge": {"value": "{}", "objectValue": {"playgrounds": {"domain": "play.example.com", "gatewayService": "gateway"}}, "secret": false},
  "shoestring:secrets": {"value": "{\"users\":{\"DB_PASSWORD\":\"s3cret\"},\"mysql\":{\"MYSQL_PASSWORD\":\"m\"}}", "objectValue": {"users": {"DB_PASSWORD": "s3cret"}, "mysql": {"MYSQL_PASSWORD": "m"}}, "secret": true},
  "shoestring:backing": {"value": "[...]", "objectValue": [
    {"name": "mysql", "engine": "mysql", "mode": "in-cluster", "storageSize": "5Gi", "secretEnv": ["MYSQL_PASSWORD"]},
    {"name": "redis", "engine": "redis", "port": 6380},
    {"name": "search", "engine": "postgresql", "mode": "external", "host": "db.example.com"}
  ], "secret": false},
  "shoestring:services": {"value": "[...]", "objectValue": [
    {"name": "gateway", "image": "example/gateway:1", "ports": [{"name": "http", "port": 8080}]},
    {"name": "users", "image": "example/users:1"},
    {"name": "orders", "image": "example/orders:1"}
  ], "secret": false}
}`

func baseConfig(t *testing.T) map[string]ConfigEntry {
	var m map[string]ConfigEntry
	require.NoError(t, json.Unmarshal([]byte(baseConfigJSON), &m))
	return m
}

func TestStackConfig(t *testing.T) {
	n, _ := stacks.PlaygroundForBranch("play/faster-users")
	created := time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("x", 3600))
	out, deployed, err := StackConfig(baseConfig(t), Spec{Name: n, Changed: []string{"users"},
		Images: map[string]string{"users": "example/users:play-faster-users"}, Kubeconfig: "/tmp/kc", Created: created})
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway", "users"}, deployed)

	assert.Equal(t, "play-faster-users", *out["shoestring:namespace"].Value)
	assert.Equal(t, []any{
		map[string]any{"name": "gateway", "image": "example/gateway:1", "ports": []any{map[string]any{"name": "http", "port": float64(8080)}}},
		map[string]any{"name": "users", "image": "example/users:play-faster-users"},
	}, out["shoestring:services"].ObjectValue)
	assert.Equal(t, map[string]any{"maxAge": "3d", "branch": "play/faster-users", "baseNamespace": "shop",
		"created": "2026-11-23T11:00:00Z"}, out["shoestring:playground"].ObjectValue)
	assert.Equal(t, map[string]any{"mode": "existing", "existing": map[string]any{"kubeconfig": "/tmp/kc"}}, out["shoestring:cluster"].ObjectValue)
	assert.True(t, out["shoestring:secrets"].Secret, "secrets stay secrets")
	assert.Equal(t, []any{
		map[string]any{"name": "mysql", "engine": "mysql", "mode": "external", "host": "mysql.shop.svc.cluster.local"},
		map[string]any{"name": "redis", "engine": "redis", "mode": "external", "host": "redis.shop.svc.cluster.local", "port": float64(6380)},
		map[string]any{"name": "search", "engine": "postgresql", "mode": "external", "host": "db.example.com"},
	}, out["shoestring:backing"].ObjectValue, "in-cluster backing services are the base's, shared")
	assert.Equal(t, "shoestring-sandbox", *out["gcp:project"].Value)
	// Value is the JSON form of ObjectValue, as `pulumi config --json` writes it.
	var back any
	require.NoError(t, json.Unmarshal([]byte(*out["shoestring:services"].Value), &back))
	assert.Equal(t, out["shoestring:services"].ObjectValue, back)
	// The base is not modified.
	assert.Equal(t, "shop", *baseConfig(t)["shoestring:namespace"].Value)
}

func TestStackConfigErrors(t *testing.T) {
	n, _ := stacks.PlaygroundForBranch("play/x")
	_, _, err := StackConfig(baseConfig(t), Spec{Name: n, Changed: []string{"billing"}})
	assert.ErrorContains(t, err, `changed service "billing"`)
	_, _, err = StackConfig(baseConfig(t), Spec{Name: n, Images: map[string]string{"orders": "x"}})
	assert.ErrorContains(t, err, "does not deploy it")

	pgBase := baseConfig(t)
	v := `{"branch":"play/y"}`
	pgBase["shoestring:playground"] = ConfigEntry{Value: &v, ObjectValue: map[string]any{"branch": "play/y"}}
	_, _, err = StackConfig(pgBase, Spec{Name: n})
	assert.ErrorContains(t, err, "itself a playground")
}

func TestStackConfigDevMode(t *testing.T) {
	n, _ := stacks.PlaygroundForBranch("play/x")
	base := baseConfig(t)
	_, _, err := StackConfig(base, Spec{Name: n, Changed: []string{"users"}, DevMode: []string{"users"}})
	assert.ErrorContains(t, err, "does not allow dev mode")

	v := `{}`
	base["shoestring:devMode"] = ConfigEntry{Value: &v, ObjectValue: map[string]any{"allowed": true, "authorizedKeys": map[string]any{"alice": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice"}}}
	out, _, err := StackConfig(base, Spec{Name: n, Changed: []string{"users"}, DevMode: []string{"users:/srv/app"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"allowed": true, "authorizedKeys": map[string]any{"alice": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice"},
		"services": []any{map[string]any{"name": "users", "codePath": "/srv/app"}}}, out["shoestring:devMode"].ObjectValue)
	_, changed := out["shoestring:podSecurity"]
	assert.False(t, changed, "the non-root SSH sidecar meets the base's Pod Security level")

	_, _, err = StackConfig(base, Spec{Name: n, DevMode: []string{"orders"}})
	assert.ErrorContains(t, err, "does not deploy it")
}

// The base's unset keys take the schema's defaults (stacks owns them): the namespace, the cluster
// domain of the shared backing services' hosts.
func TestStackConfigTakesTheSchemasDefaults(t *testing.T) {
	n, _ := stacks.PlaygroundForBranch("play/x")
	base := baseConfig(t)
	delete(base, "shoestring:namespace")
	out, _, err := StackConfig(base, Spec{Name: n, Changed: []string{"users"}})
	require.NoError(t, err)
	def := stacks.Default()
	assert.Equal(t, def.Namespace, out["shoestring:playground"].ObjectValue.(map[string]any)["baseNamespace"])
	mysql := out["shoestring:backing"].ObjectValue.([]any)[0].(map[string]any)
	assert.Equal(t, "mysql."+def.Namespace+".svc."+def.Edge.ClusterDomain, mysql["host"])
}

func TestAPlaygroundDeploysEveryGateway(t *testing.T) {
	base := baseConfig(t)
	edge := `{"playgrounds":{"domain":"play.example.com","gatewayServices":["gateway","orders"]}}`
	var edgeObject any
	require.NoError(t, json.Unmarshal([]byte(edge), &edgeObject))
	base["shoestring:edge"] = ConfigEntry{Value: &edge, ObjectValue: edgeObject}
	services := `[{"name":"gateway","image":"example/gateway:1","ports":[{"name":"http","port":8080}]},` +
		`{"name":"users","image":"example/users:1"},{"name":"orders","image":"example/orders:1","ports":[{"name":"http","port":8080}]}]`
	var servicesObject any
	require.NoError(t, json.Unmarshal([]byte(services), &servicesObject))
	base["shoestring:services"] = ConfigEntry{Value: &services, ObjectValue: servicesObject}

	n, _ := stacks.PlaygroundForBranch("play/faster-users")
	_, deployed, err := StackConfig(base, Spec{Name: n, Changed: []string{"users"}, Kubeconfig: "/tmp/kc"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway", "users", "orders"}, deployed, "each gateway, in the base's order")
}

func TestAPlaygroundStartsFromWhatItsBaseDeploys(t *testing.T) {
	str := func(s string) *string { return &s }
	base := map[string]ConfigEntry{
		"shoestring:namespace": {Value: str("apps")},
		"shoestring:services":  {Value: str(`[{"name":"api","image":"a:1","replicas":1},{"name":"admin","image":"b:1"}]`)},
		"shoestring:overrides": {Value: str(`{"services":{"admin":null,"api":{"replicas":2}},"namespace":"shop"}`)},
		"shoestring:secrets":   {Value: str(`{"api":{"DB_PASSWORD":"x"}}`), Secret: true},
	}
	got, err := resolveOverrides(base)
	require.NoError(t, err)
	assert.NotContains(t, got, "shoestring:overrides")
	assert.Equal(t, `[{"image":"a:1","name":"api","replicas":2}]`, *got["shoestring:services"].Value)
	assert.Equal(t, []any{map[string]any{"image": "a:1", "name": "api", "replicas": float64(2)}}, got["shoestring:services"].ObjectValue)
	assert.Equal(t, "shop", *got["shoestring:namespace"].Value)
	assert.Nil(t, got["shoestring:namespace"].ObjectValue)
	assert.True(t, got["shoestring:secrets"].Secret)

	base["shoestring:overrides"] = ConfigEntry{Value: str(`{"services":{"apii":{"replicas":2}}}`)}
	_, err = resolveOverrides(base)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:overrides.services.apii: names no item of shoestring:services; did you mean "api"?`)
}

// A playground holds the secrets of what it runs and no others: not the Cloudflare tokens or the
// edge's key of its base, not the services it does not deploy, not the shared backing services'.
func TestAPlaygroundGetsOnlyTheSecretsItsServicesUse(t *testing.T) {
	base := baseConfig(t)
	all := map[string]any{
		"users":    map[string]any{"DB_PASSWORD": "s3cret"},
		"orders":   map[string]any{"DB_PASSWORD": "o"},
		"mysql":    map[string]any{"MYSQL_PASSWORD": "m"},
		"edge":     map[string]any{"CLOUDFLARE_API_TOKEN": "cf-edge", "ORIGIN_CA_KEY": "k"},
		"dns-sync": map[string]any{"CLOUDFLARE_API_TOKEN": "cf-dns"},
	}
	require.NoError(t, setObject(base, "shoestring:secrets", all))
	n, _ := stacks.PlaygroundForBranch("play/faster-users")
	out, _, err := StackConfig(base, Spec{Name: n, Changed: []string{"users"}, Kubeconfig: "/tmp/kc", Created: time.Now()})
	require.NoError(t, err)
	assert.True(t, out["shoestring:secrets"].Secret, "secrets stay secrets")
	assert.Equal(t, map[string]any{"users": map[string]any{"DB_PASSWORD": "s3cret"}}, out["shoestring:secrets"].ObjectValue)
	assert.NotContains(t, *out["shoestring:secrets"].Value, "cf-")
}
