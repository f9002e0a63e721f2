package stacks

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A stack file is read from yaml.v3 nodes, the YAML library (and YAML 1.2 rules) the Pulumi engine
// reads it with, rather than decoded straight into values: the nodes still say what only the
// file shows, which the values the engine passes on have lost:
//   - a key given twice in one mapping (decoders silently keep the last one);
//   - the text of a scalar YAML reads as something else than text (0755 is the number 493, 2.10
//     the number 2.1, ~ is null, and YAML 1.1 readers such as kubectl take NO or on as booleans),
//     so that a value where the schema expects text is refused with the text as written;
//   - which leaves under shoestring:secrets are encrypted ({secure: ...}) and which are plain text
//     (the engine marks the whole top-level key secret when any leaf is).

// writtenScalar is an unquoted scalar whose YAML reading is not the text written.
type writtenScalar struct {
	text string
	kind string // "boolean", "number", "null" (YAML 1.2, as the engine reads it) or "yaml11bool"
}

// yaml11Bools are the words YAML 1.1 readers (kubectl, sigs.k8s.io/yaml, PyYAML) read as booleans
// and YAML 1.2 readers (the Pulumi engine) as text: unquoted, the file means two things.
var yaml11Bools = []string{"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
	"on", "On", "ON", "off", "Off", "OFF"}

// fileConfig is the config mapping of a stack file as read from its nodes.
type fileConfig struct {
	values     map[string]any           // each key's value: {secure: ...} replaced by SecretPlaceholder
	secretKeys []string                 // keys with at least one encrypted leaf
	written    map[string]writtenScalar // by full path, as decode names it: shoestring:services[0].env.X
	problems   Errors                   // duplicate keys, plain text next to encrypted secrets
	lines      map[string]int           // the line of each key and list item, by full path
}

func readConfigNodes(b []byte) (*fileConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	fc := &fileConfig{values: map[string]any{}, written: map[string]writtenScalar{}, lines: map[string]int{}}
	if len(doc.Content) == 0 {
		return fc, nil // an empty file
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the stack file is not a mapping with a config: key", root.Line)
	}
	fc.duplicates("", root)
	config := lastValue(root, "config")
	if config == nil || config.Tag == "!!null" {
		return fc, nil
	}
	config = resolveAlias(config)
	if config.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: config is not a mapping", config.Line)
	}
	given := map[string]string{}
	for i := 0; i+1 < len(config.Content); i += 2 {
		key := config.Content[i].Value
		if !strings.Contains(key, ":") {
			// Pulumi puts a key without a namespace in the project's, which is this program's.
			key = Namespace + ":" + key
		}
		if prev, ok := given[key]; ok && prev != config.Content[i].Value {
			fc.problems = append(fc.problems, FieldError{Key: key,
				Problem: fmt.Sprintf("is given twice, as %s and as %s (line %d): Pulumi reads a key without a namespace as %s", prev, config.Content[i].Value, config.Content[i].Line, key),
				Fix:     "remove one of them"})
		}
		given[key] = config.Content[i].Value
		fc.lines[key] = config.Content[i].Line
		keyLines(fc.lines, key, config.Content[i+1])
		secret := false
		v, err := fc.value(key, config.Content[i+1], &secret)
		if err != nil {
			return nil, err
		}
		fc.values[key] = v
		if secret && !slices.Contains(fc.secretKeys, key) {
			fc.secretKeys = append(fc.secretKeys, key)
		}
	}
	slices.Sort(fc.secretKeys)
	fc.plainSecrets(config)
	return fc, nil
}

// duplicates reports every key given twice in a mapping, anywhere under n.
func (fc *fileConfig) duplicates(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := joinKey(path, k.Value)
			if line, seen := first[k.Value]; seen {
				fc.problems = append(fc.problems, FieldError{Key: p,
					Problem: fmt.Sprintf("is given twice in the same mapping (lines %d and %d): YAML keeps only the last one", line, k.Line),
					Fix:     "remove one of them"})
			} else {
				first[k.Value] = k.Line
			}
			fc.duplicates(p, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			fc.duplicates(fmt.Sprintf("%s[%d]", path, i), item)
		}
	}
}

// joinKey names a key the way errors do: config keys by themselves, nested keys after a dot.
func joinKey(path, key string) string {
	switch path {
	case "":
		return key
	case "config":
		return key
	}
	return path + "." + key
}

// value converts a node into the generic value the engine would pass (as JSON), recording scalars
// that YAML does not read as the text written, and whether an encrypted value is inside.
func (fc *fileConfig) value(path string, n *yaml.Node, secret *bool) (any, error) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Value == "secure" {
			*secret = true
			return SecretPlaceholder, nil
		}
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].ShortTag() == "!!merge" { // <<: *defaults, then the keys given here win
				merged, err := fc.value(path, n.Content[i+1], secret)
				if err != nil {
					return nil, err
				}
				for _, mm := range mergeMaps(merged) {
					for k, v := range mm {
						if _, set := m[k]; !set {
							m[k] = v
						}
					}
				}
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].ShortTag() == "!!merge" {
				continue
			}
			k := n.Content[i].Value
			if _, replaced := m[k]; replaced { // by a duplicate, or over what a merge key brought
				fc.forget(path + "." + k)
			}
			v, err := fc.value(path+"."+k, n.Content[i+1], secret)
			if err != nil {
				return nil, err
			}
			m[k] = v // a duplicate key is reported; the last one wins, as in every decoder
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := fc.value(fmt.Sprintf("%s[%d]", path, i), item, secret)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml.ScalarNode:
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
		switch n.ShortTag() {
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %q is not a boolean", n.Line, path, n.Value)
			}
			fc.written[path] = writtenScalar{n.Value, "boolean"}
			return b, nil
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", n.Line, path, err)
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("line %d: %s: %s is not a number the engine can pass on; quote it", n.Line, path, n.Value)
			}
			fc.written[path] = writtenScalar{n.Value, "number"}
			return f, nil
		case "!!null":
			fc.written[path] = writtenScalar{n.Value, "null"}
			return nil, nil
		}
		if !quoted && slices.Contains(yaml11Bools, n.Value) {
			fc.written[path] = writtenScalar{n.Value, "yaml11bool"}
		}
		return n.Value, nil // strings, and timestamps as written
	}
	return nil, fmt.Errorf("line %d: %s: unexpected YAML node", n.Line, path)
}

// forget drops what was recorded of a value that another one replaces, and of everything in it.
func (fc *fileConfig) forget(path string) {
	for p := range fc.written {
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			delete(fc.written, p)
		}
	}
}

// plainSecrets refuses plain-text leaves under shoestring:secrets next to encrypted ones: the
// engine marks the whole key secret when any leaf is, so only the file tells them apart. (With no
// encrypted leaf at all, Parse refuses the whole key as plain text.)
func (fc *fileConfig) plainSecrets(config *yaml.Node) {
	const key = Namespace + ":secrets"
	if !slices.Contains(fc.secretKeys, key) {
		return
	}
	var walk func(path, setPath string, n *yaml.Node)
	walk = func(path, setPath string, n *yaml.Node) {
		n = resolveAlias(n)
		switch n.Kind {
		case yaml.MappingNode:
			if len(n.Content) == 2 && n.Content[0].Value == "secure" {
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				walk(path+"."+k, strings.TrimPrefix(setPath+"."+k, "."), n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				walk(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d]", setPath, i), item)
			}
		case yaml.ScalarNode:
			if n.ShortTag() == "!!null" {
				return
			}
			fc.problems = append(fc.problems, FieldError{Key: path,
				Problem: fmt.Sprintf("is plain text (line %d, value withheld) next to encrypted values: it would be stored and passed unencrypted", n.Line),
				Fix:     fmt.Sprintf("remove it from the stack file and set it with `pulumi config set --secret --path 'secrets.%s' <value>`", setPath)})
		}
	}
	if n := lastValue(config, key); n != nil {
		walk(key, "", n)
	}
}

// mergeMaps is what a merge key (<<) brings: a mapping, or a list of them (the first wins).
func mergeMaps(v any) []map[string]any {
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		var out []map[string]any
		for _, item := range t {
			if m, ok := item.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func lastValue(m *yaml.Node, key string) *yaml.Node {
	var out *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			out = m.Content[i+1]
		}
	}
	return out
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
