package stacks

import (
	"fmt"
	"maps"
	"strings"

	"gopkg.in/yaml.v3"
)

// Where a key is written: each FieldError of a file names the file and the line of its key, so a
// user goes straight to it. A value of the merged definition is named where it was set: the stack
// file for its own keys and what its shoestring:overrides change, Pulumi.yaml for the rest.

// keyLines records the line of every key under n, by the path errors name it with
// (shoestring:services[0].env.X): a mapping's key at the key, a list's item at the item.
func keyLines(lines map[string]int, path string, n *yaml.Node) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.ShortTag() == "!!merge" {
				keyLines(lines, path, n.Content[i+1])
				continue
			}
			p := path + "." + k.Value
			lines[p] = k.Line // the last of a key given twice wins, as its value does
			keyLines(lines, p, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = item.Line
			keyLines(lines, p, item)
		}
	}
}

// projectKeyLines are the lines of the project file's shared keys, by full key: a value under
// its declaration's default: (or value:, as the engine prefers default:) is named at its own line.
func projectKeyLines(content []byte, project string) map[string]int {
	var doc yaml.Node
	if yaml.Unmarshal(content, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	config := lastValue(resolveAlias(doc.Content[0]), "config")
	if config == nil {
		return nil
	}
	config = resolveAlias(config)
	if config.Kind != yaml.MappingNode {
		return nil
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(config.Content); i += 2 {
		key := config.Content[i].Value
		if !strings.Contains(key, ":") {
			key = project + ":" + key
		}
		lines[key] = config.Content[i].Line
		v := resolveAlias(config.Content[i+1])
		if v.Kind == yaml.MappingNode {
			if d := lastValue(v, "default"); d != nil {
				v = d
			} else if d := lastValue(v, "value"); d != nil {
				v = d
			} else {
				continue
			}
		}
		keyLines(lines, key, v)
	}
	return lines
}

// topKey is the config key a path is under (shoestring:services for shoestring:services[0].image).
func topKey(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// nearest is the longest prefix of path (path itself, or a key or item it is inside) that lines
// has, with its line; "" when there is none.
func nearest(lines map[string]int, path string) (string, int) {
	for p := path; p != ""; {
		if line, ok := lines[p]; ok {
			return p, line
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return "", 0
}

// locate names in each error the file and the line of its key. Lines of what an override moved
// are also at the path it landed on (moved, see merger), so they win over the shared value they
// change. A key the file does not have (one that is missing) is named at the nearest key it would
// be under, and at nothing when that is missing too.
func (f *stackFile) locate(errs Errors, moved map[string]string) Errors {
	own := movedPaths(f.lines, withParents(moved))
	for i, e := range errs {
		if e.File != "" {
			continue
		}
		sk, sl := nearest(own, e.Key)
		var pk string
		var pl int
		if _, set := f.own[topKey(e.Key)]; !set {
			pk, pl = nearest(f.projectLines, e.Key)
			// Past a shared list an override took items out of, the merged list's indices are
			// not the file's: the list itself is as near as is known.
			for _, list := range f.shiftedLists {
				if strings.HasPrefix(pk, list+"[") {
					pk, pl = list, f.projectLines[list]
				}
			}
		}
		switch {
		case pk != "" && len(pk) > len(sk):
			errs[i].File, errs[i].Line = ProjectFile, pl
		case sk != "":
			errs[i].File, errs[i].Line = f.name, sl
		}
	}
	return errs
}

// withParents is moved with the keys an override sets a value under: where
// shoestring:overrides.services.api.image lands on shoestring:services[0].image,
// shoestring:overrides.services.api is shoestring:services[0], so a problem of another field of
// that item is named at the override that changed it. It stops below the top-level key: an
// override changes parts of shoestring:services, never the key itself, which a stack file may set
// on a line of its own.
func withParents(moved map[string]string) map[string]string {
	out := maps.Clone(moved)
	for from, to := range moved {
		for {
			i, j := strings.LastIndexAny(from, ".["), strings.LastIndexAny(to, ".[")
			if i < 0 || j < 0 || !strings.ContainsAny(to[:j], ".[") {
				break
			}
			from, to = from[:i], to[:j]
			if _, seen := out[from]; !seen {
				out[from] = to
			}
		}
	}
	return out
}
