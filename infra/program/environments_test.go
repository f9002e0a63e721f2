package program

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// TestSandboxAndProdDifferOnlyInTheirConfig shows that the two environments are the same code:
//   - evaluating a stack file under the other stack's name gives the same resources, input for
//     input, so nothing depends on which stack runs;
//   - every input that differs between sandbox and prod changes when, starting from sandbox, one
//     top-level config key is set to prod's value: each difference traces to a key in the YAML.
func TestSandboxAndProdDifferOnlyInTheirConfig(t *testing.T) {
	sandboxRaw, sandboxSecret := readRaw(t, "sandbox")
	prodRaw, prodSecret := readRaw(t, "prod")

	sandbox := flatten(evaluate(t, "sandbox", sandboxRaw, sandboxSecret))
	prod := flatten(evaluate(t, "prod", prodRaw, prodSecret))
	assert.Equal(t, sandbox, flatten(evaluate(t, "prod", sandboxRaw, sandboxSecret)), "sandbox's config under the name prod")
	assert.Equal(t, prod, flatten(evaluate(t, "sandbox", prodRaw, prodSecret)), "prod's config under the name sandbox")

	differences := diff(sandbox, prod)
	require.NotEmpty(t, differences, "the shipped stacks differ in config, so their resources must differ")

	explained := map[string][]string{}
	for _, key := range unionKeys(sandboxRaw, prodRaw) {
		if sandboxRaw[key] == prodRaw[key] {
			continue
		}
		swapped := copyMap(sandboxRaw)
		if v, ok := prodRaw[key]; ok {
			swapped[key] = v
		} else {
			delete(swapped, key)
		}
		for _, d := range diff(sandbox, flatten(evaluate(t, "sandbox", swapped, append(sandboxSecret, prodSecret...)))) {
			explained[d] = append(explained[d], key)
		}
	}
	for _, d := range differences {
		if keys, ok := explained[d]; ok {
			t.Logf("%s <- %s", d, strings.Join(keys, ", "))
		} else {
			t.Errorf("%s differs between sandbox and prod but no single config key explains it", d)
		}
	}
}

func readRaw(t *testing.T, stack string) (map[string]string, []string) {
	t.Helper()
	raw, secret, err := stacks.ReadStackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	return raw, secret
}

func evaluate(t *testing.T, stackName string, raw map[string]string, secret []string) *pulumimock.Record {
	t.Helper()
	cfg, _, err := stacks.ParseWithPlaceholders(raw, secret) // committed stacks set no secret values
	require.NoError(t, err)
	rec, err := pulumimock.Run(stackName, func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	return rec
}

// flatten maps "type::name input.path" to the printed input value, for every resource.
func flatten(rec *pulumimock.Record) map[string]string {
	out := map[string]string{}
	for _, r := range rec.Resources {
		prefix := r.Type + "::" + r.Name
		out[prefix] = "(registered)"
		var walk func(string, any)
		walk = func(path string, v any) {
			switch t := v.(type) {
			case map[string]any:
				for k, item := range t {
					walk(path+"."+k, item)
				}
			case []any:
				for i, item := range t {
					walk(fmt.Sprintf("%s[%d]", path, i), item)
				}
			default:
				out[prefix+" "+strings.TrimPrefix(path, ".")] = fmt.Sprint(t)
			}
		}
		walk("", r.Plain())
	}
	return out
}

// diff lists the keys whose values differ or exist on one side only.
func diff(a, b map[string]string) []string {
	var out []string
	for _, k := range unionKeys(a, b) {
		av, aok := a[k]
		bv, bok := b[k]
		if aok != bok || av != bv {
			out = append(out, k)
		}
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
