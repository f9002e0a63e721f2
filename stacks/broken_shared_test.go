package stacks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// sharedForm writes a broken stack file's keys the two other ways a definition reaches a stack:
// all in Pulumi.yaml (a shoestring key declared with default:, another namespace's with value:)
// under an empty stack file, or, for the schema's keys, under shoestring:overrides of a stack whose
// Pulumi.yaml shares nothing. ok is false where the form cannot say the same (a key only a stack
// file may hold, a namespace overrides do not take, null, which an override reads as "remove").
func sharedForm(t *testing.T, body string, overrides bool) (project, stack string, ok bool) {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("config:\n"+body), &doc))
	config := doc.Content[0].Content[1]
	var proj, ovr, own yaml.Node
	proj.Kind, ovr.Kind, own.Kind = yaml.MappingNode, yaml.MappingNode, yaml.MappingNode
	for i := 0; i+1 < len(config.Content); i += 2 {
		k, v := config.Content[i], config.Content[i+1]
		ns, key, _ := strings.Cut(k.Value, ":")
		if key == "secrets" || key == OverridesKey || key == ReplaceKey || (overrides && hasNull(v)) {
			return "", "", false
		}
		if !overrides {
			decl := "value"
			if ns == Namespace {
				decl = "default"
			}
			proj.Content = append(proj.Content, k, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: decl}, v}})
			continue
		}
		if ns != Namespace || !slices.Contains(schemaKeys(), key) {
			return "", "", false
		}
		if key == "cluster" { // where the stack deploys stays the stack's own
			own.Content = append(own.Content, k, v)
			continue
		}
		ovr.Content = append(ovr.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	p := map[string]any{"name": "shoestring", "runtime": "go"}
	s := map[string]any{"config": map[string]any{}}
	if overrides {
		own.Content = append(own.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: Namespace + ":" + OverridesKey}, &ovr)
		s["config"] = &own
	} else {
		p["config"] = &proj
	}
	pb, err := yaml.Marshal(p)
	require.NoError(t, err)
	sb, err := yaml.Marshal(s)
	require.NoError(t, err)
	return string(pb), string(sb), true
}

// The broken files again, written through Pulumi.yaml and through shoestring:overrides: the merged
// definition gets the same message (from Pulumi.yaml, the one the language host's path gives the
// same values), and at least as many cases go through it as through a stack file alone.
func TestBrokenFilesThroughTheSharedDefinition(t *testing.T) {
	counts := map[bool]int{}
	for _, overrides := range []bool{false, true} {
		for _, tc := range brokenFiles {
			if tc.parse == "-" {
				continue
			}
			project, stack, ok := sharedForm(t, tc.yaml, overrides)
			if !ok {
				continue
			}
			// From Pulumi.yaml the values reach the checks as the engine reads them; an override is
			// in the stack file, whose text as written is known.
			want := tc.parse
			if want == "" || overrides {
				want = tc.want
			}
			form := map[bool]string{false: "Pulumi.yaml", true: "overrides"}[overrides]
			t.Run(form+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte(project), 0o644))
				path := filepath.Join(dir, "Pulumi.broken.yaml")
				require.NoError(t, os.WriteFile(path, []byte(stack), 0o644))
				_, err := LoadStackFile(path)
				require.Error(t, err, "%s\n%s", project, stack)
				got := err.Error()
				if os.Getenv("PRINT_BROKEN") != "" && withoutLocations(want) != withoutLocations(got) {
					t.Logf("WANT %s\nGOT  %s", want, err)
				}
				assert.Equal(t, withoutLocations(want), withoutLocations(got))
				// Each problem the stack file form names a line of is named in the file that
				// now holds the key: Pulumi.yaml, or the stack file with the override.
				file := map[bool]string{false: ProjectFile, true: "Pulumi.broken.yaml"}[overrides]
				locations := locationRe.FindAllString(got, -1)
				assert.Len(t, locations, len(locationRe.FindAllString(tc.want, -1)), "problems named with a file and line")
				for _, l := range locations {
					assert.True(t, strings.HasPrefix(l, file+":"), "%q is not in %s", l, file)
				}
			})
			counts[overrides]++
		}
	}
	t.Logf("through Pulumi.yaml: %d, through overrides: %d", counts[false], counts[true])
	assert.GreaterOrEqual(t, counts[false]+counts[true], len(brokenFiles), "the merged definition is covered at least as well as a stack file alone")
}

// hasNull says whether a null is anywhere under n (in an override, null removes what it names).
func hasNull(n *yaml.Node) bool {
	if n.ShortTag() == "!!null" {
		return true
	}
	for _, c := range n.Content {
		if hasNull(c) {
			return true
		}
	}
	return false
}
