package stacks

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type noResources struct{}

func (noResources) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}
func (noResources) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return a.Name, a.Inputs, nil
}

// loadAsLanguageHost runs Load the way the Go language host does: the engine's config values (as
// it reads the stack file: yaml.v3, structured values as JSON).
func loadAsLanguageHost(t *testing.T, body string) error {
	raw, secret := engineConfig(t, body)
	var loadErr error
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, loadErr = Load(ctx)
		return nil
	}, pulumi.WithMocks("shoestring", "x", noResources{}), func(ri *pulumi.RunInfo) {
		ri.Config = raw
		ri.ConfigSecretKeys = secret
	})
	require.NoError(t, err)
	return loadErr
}

// The limit of the bare language host: the engine's values have lost what only the file shows.
// The same file through LoadStackFile (every shoestring command, internal/engine) reports three
// problems (see TestBrokenStackFiles); here only the number where text belongs is seen.
func TestLoadUnderTheLanguageHostSeesOnlyValues(t *testing.T) {
	body := apiYAML + "      env: {UMASK: 0755, FLAG: NO}\n      secretEnv: [DB_PASSWORD, API_TOKEN]\n" +
		"  shoestring:secrets:\n    api:\n      DB_PASSWORD: {secure: v1:abc}\n      API_TOKEN: hunter2\n" +
		"    checksum:\n      HMAC_KEY: {secure: v1:def}\n"
	err := loadAsLanguageHost(t, body)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration: shoestring:services[0].env.UMASK: "493" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`+"`pulumi config set --path` needs `--type string` for it)", err.Error())
	assert.Len(t, loadBroken(t, body).(Errors), 3)
}

func TestLoadUnderTheLanguageHostWithoutTheFile(t *testing.T) {
	raw, _ := engineConfig(t, apiYAML+"      env: {UMASK: 0755}\n  Shoestring:namespace: x\n")
	var loadErr error
	require.NoError(t, pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, loadErr = Load(ctx)
		return nil
	}, pulumi.WithMocks("shoestring", "x", noResources{}), func(ri *pulumi.RunInfo) { ri.Config = raw }))
	require.Error(t, loadErr)
	// PULUMI_CONFIG lists the keys the program does not ask for; without it (as here) a namespace
	// typo is found by the checks of the stack file before the engine runs.
	assert.Equal(t, `invalid stack configuration: shoestring:services[0].env.UMASK: "493" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`+"`pulumi config set --path` needs `--type string` for it)", loadErr.Error())
}

func TestLoadUnderTheLanguageHostFindsNamespaceTyposInPulumiConfig(t *testing.T) {
	body := apiYAML + "  shoestrng:commonEnv: {A: b}\n  gcp:project: acme\n"
	raw, _ := engineConfig(t, body)
	b, err := json.Marshal(raw)
	require.NoError(t, err)
	t.Setenv("PULUMI_CONFIG", string(b))
	err = loadAsLanguageHost(t, body)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration: shoestrng:commonEnv: is not in the shoestring namespace, so the program would never read it; did you mean "shoestring:commonEnv"? rename the key`, err.Error())
}
