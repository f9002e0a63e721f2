package playground_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// baseEntries reads a shipped stack file into the `pulumi config --json` form.
func baseEntries(t *testing.T, path string) map[string]playground.ConfigEntry {
	t.Helper()
	raw, secret, err := stacks.ReadStackFile(path)
	require.NoError(t, err)
	out := map[string]playground.ConfigEntry{}
	for k, v := range raw {
		v := v
		e := playground.ConfigEntry{Value: &v}
		for _, s := range secret {
			e.Secret = e.Secret || s == k
		}
		var obj any
		if json.Unmarshal([]byte(v), &obj) == nil {
			switch obj.(type) {
			case map[string]any, []any:
				e.ObjectValue = obj
			}
		}
		out[k] = e
	}
	return out
}

// TestPlaygroundOfTheShippedSandboxIsValid: a playground made from Pulumi.sandbox.yaml, for each
// of its services as the changed one, passes the same validation a preview runs.
func TestPlaygroundOfTheShippedSandboxIsValid(t *testing.T) {
	base := baseEntries(t, "../../Pulumi.sandbox.yaml")
	cfg, err := stacks.LoadStackFile("../../Pulumi.sandbox.yaml")
	require.NoError(t, err)
	name, _ := stacks.PlaygroundForBranch("play/try-it")
	for _, s := range cfg.Services {
		t.Run(s.Name, func(t *testing.T) {
			out, _, err := playground.StackConfig(base, playground.Spec{Name: name, Changed: []string{s.Name}, Kubeconfig: "/tmp/kc", Created: time.Now()})
			require.NoError(t, err)
			raw, secret := playground.RawConfig(out)
			pc, _, err := stacks.ParseWithPlaceholders(raw, secret) // secrets are set outside the stack file
			require.NoError(t, err)
			for _, b := range pc.Backing {
				assert.Equal(t, stacks.BackingExternal, b.Mode, "the playground shares the base's %s", b.Name)
				assert.Equal(t, b.Name+"."+cfg.Namespace+".svc.cluster.local", b.Host)
			}

			rec, err := pulumimock.Run("play-try-it", func(ctx *pulumi.Context) error { return program.Deploy(ctx, pc) })
			require.NoError(t, err)
			assert.Empty(t, rec.ByType("kubernetes:apps/v1:StatefulSet"), "no database of its own")
			assert.Empty(t, rec.ByType("kubernetes:apps/v1:DaemonSet"), "no edge of its own")
			var deployed []string
			for _, r := range rec.ByType("kubernetes:apps/v1:Deployment") {
				meta := r.Plain()["metadata"].(map[string]any)
				assert.Equal(t, "play-try-it", meta["namespace"])
				deployed = append(deployed, meta["name"].(string))
			}
			assert.Contains(t, deployed, s.Name)
			assert.Contains(t, deployed, cfg.Edge.Playgrounds.GatewayService)
			for _, svc := range cfg.Services {
				if svc.Name != s.Name && svc.Name != cfg.Edge.Playgrounds.GatewayService {
					assert.NotContains(t, deployed, svc.Name, "unchanged services stay in the base")
				}
			}
		})
	}
}
