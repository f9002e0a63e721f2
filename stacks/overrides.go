package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// OverridesKey is the key under Namespace whose value changes parts of the shared configuration
// for one stack. A stack file that sets a key replaces the project's value of that key as a whole
// (Pulumi's rule), and is refused when that leaves out shared items unless shoestring:replace says
// it means to (ReplaceKey); shoestring:overrides says only what differs:
//
//	shoestring:overrides:
//	  commonEnv: {APP_ENV: prod}            # one variable; the others stay
//	  services:
//	    api:                                 # the service named api
//	      replicas: 2
//	      routes: [{host: api.example.com}]  # a list without names is replaced
//	      workers: {queue: {replicas: 2}}    # items of named lists by name
//	      releaseJobs: {demo-data: {when: never}}
//	    admin: null                          # not deployed by this stack
//
// The rules are JSON merge patch (RFC 7386), the merge Pulumi itself applies to environment
// config, with one addition for lists whose items have a name (services, backing, workers,
// cronJobs, releaseJobs, ports...): the patch is a mapping from name to that item's patch. A name
// the shared list does not have is an error (a typo would otherwise add nothing silently); null
// removes the item; a name: inside an item's patch that differs from its key is an error (an
// override cannot rename). Such a list given whole (as a list) is held to the same rule as a
// stack's own key: it must keep every shared item, or be named in shoestring:replace.
const OverridesKey = "overrides"

// applyOverrides returns raw with shoestring:overrides merged into the keys it names. raw is not
// modified. replace is shoestring:replace (see ReplaceKey); whole are the paths of lists of named
// items the overrides give whole (services.api.cronJobs), which shoestring:replace may name;
// moved and shifted say where values landed (see merger).
func applyOverrides(raw map[string]string, secretKeys, replace []string) (out map[string]string, _ *merger) {
	full := Namespace + ":" + OverridesKey
	text, ok := raw[full]
	if !ok {
		return raw, &merger{}
	}
	out = maps.Clone(raw)
	delete(out, full)
	var patch map[string]any
	if err := json.Unmarshal([]byte(text), &patch); err != nil || patch == nil {
		return out, &merger{errs: []FieldError{fieldErr(full, text, "is not a mapping",
			"write a YAML mapping from a key of this namespace (services, commonEnv, ...) to what this stack changes in it")}}
	}
	accepted := slices.DeleteFunc(schemaKeys(), func(k string) bool { return k == "secrets" })
	m := merger{replace: replace}
	for _, key := range slices.Sorted(maps.Keys(patch)) {
		path := full + "." + key
		target := Namespace + ":" + key
		switch {
		case key == "secrets" || slices.Contains(secretKeys, target):
			m.errs = append(m.errs, fieldErr(path, "", "overrides secret values",
				fmt.Sprintf("set each secret in this stack with `pulumi config set --secret --path '%s.<group>.<NAME>' <value>`", key)))
			continue
		case !slices.Contains(accepted, key):
			m.errs = append(m.errs, unknownKey(path, key, accepted))
			continue
		}
		var base any
		if s, ok := out[target]; ok {
			if err := json.Unmarshal([]byte(s), &base); err != nil {
				base = s // a top-level scalar: the engine passes it as a plain string
			}
		}
		before := len(m.errs)
		merged := m.merge(path, target, base, patch[key])
		if len(m.errs) > before {
			continue
		}
		switch v := merged.(type) {
		case nil:
			delete(out, target)
		case string:
			out[target] = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				m.errs = append(m.errs, fieldErr(path, "", err.Error(), ""))
				continue
			}
			out[target] = string(b)
		}
	}
	return out, &m
}

// movedPaths is what the file shows by path (the text of scalars as written, the lines of keys)
// with each entry under shoestring:overrides also at the path where the override puts it.
func movedPaths[V any](written map[string]V, moved map[string]string) map[string]V {
	if len(moved) == 0 {
		return written
	}
	out := maps.Clone(written)
	for path, w := range written {
		for from, to := range moved {
			if rest, ok := strings.CutPrefix(path, from); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				out[to+rest] = w
			}
		}
	}
	return out
}

// merger merges one stack's overrides, collecting its errors and the named lists given whole.
type merger struct {
	replace []string
	whole   []string
	errs    []FieldError
	// moved maps the path of each value an override sets (shoestring:overrides.services.api.env.X)
	// to where it lands (shoestring:services[0].env.X), so that what the file shows of it (its text
	// as written) follows it into the merged value.
	moved map[string]string
	// shifted are the merged paths of lists an override took items out of: past them, indices
	// are no longer those of the shared list.
	shifted []string
}

// merge merges patch into base (see OverridesKey): path names the patch in errors, where
// the value it changes.
func (mg *merger) merge(path, where string, base, patch any) any {
	p, isObject := patch.(map[string]any)
	if !isObject {
		if mg.moved == nil {
			mg.moved = map[string]string{}
		}
		mg.moved[path] = where
		// A scalar or a list replaces the value; a list that replaces named items must keep
		// each of them, or be marked as meaning the whole list (see ReplaceKey).
		if list, ok := base.([]any); ok && len(list) > 0 && allNamed(list) {
			if _, isList := patch.([]any); isList {
				mg.wholeList(path, where, list, patch)
			}
		}
		return patch
	}
	if list, ok := base.([]any); ok && len(list) > 0 && allNamed(list) {
		return mg.mergeList(path, where, list, p)
	}
	b, ok := base.(map[string]any)
	if !ok {
		b = map[string]any{}
	} else {
		b = maps.Clone(b)
	}
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if p[k] == nil {
			delete(b, k)
			continue
		}
		b[k] = mg.merge(path+"."+k, where+"."+k, b[k], p[k])
	}
	return b
}

// wholeList checks a list given whole in place of a list of named items: it may change anything
// but leave nothing out, unless shoestring:replace names it.
func (mg *merger) wholeList(path, where string, base []any, patch any) {
	rel := strings.TrimPrefix(path, Namespace+":"+OverridesKey+".")
	mg.whole = append(mg.whole, rel)
	lost := dropped("", base, patch)
	if len(lost) == 0 || slices.Contains(mg.replace, rel) {
		return
	}
	example := "{<name>: {<field>: <value>}}"
	if items, _ := patch.([]any); len(items) > 0 {
		if first, ok := items[0].(map[string]any); ok {
			if n, ok := first["name"].(string); ok {
				example = fmt.Sprintf("{%s: {<field>: <value>}}", n)
			}
		}
	}
	mg.errs = append(mg.errs, FieldError{Key: path,
		Problem: fmt.Sprintf("is a list, which replaces %s as a whole and leaves out %s", where, listDropped(lost)),
		Fix: fmt.Sprintf("to change items, write a mapping from name to what changes, e.g. %s; to mean the whole list, add %s to %s:%s",
			example, rel, Namespace, ReplaceKey)})
}

// mergeList applies a patch keyed by name to a list of named items, keeping the list's order.
func (mg *merger) mergeList(path, where string, list []any, patch map[string]any) any {
	index := map[string]int{}
	var names []string
	for i, item := range list {
		n := item.(map[string]any)["name"].(string)
		index[n] = i
		names = append(names, n)
	}
	out := slices.Clone(list)
	removed := map[int]bool{}
	for _, name := range slices.Sorted(maps.Keys(patch)) {
		i, ok := index[name]
		if !ok {
			fix := "name one of: " + strings.Join(names, ", ")
			if best := closest(name, names); best != "" {
				fix = fmt.Sprintf("did you mean %q? %s", best, fix)
			}
			mg.errs = append(mg.errs, fieldErr(path+"."+name, "", fmt.Sprintf("names no item of %s", where),
				fix+" (an override changes a shared item; a stack that needs a list of its own gives it whole and names it in shoestring:replace)"))
			continue
		}
		if patch[name] == nil {
			removed[i] = true
			continue
		}
		p, ok := patch[name].(map[string]any)
		if !ok {
			mg.errs = append(mg.errs, fieldErr(path+"."+name, short(patch[name]), "is not a mapping",
				"write the fields of "+name+" this stack changes, e.g. {replicas: 2}, or null to leave it out"))
			continue
		}
		if renamed, has := p["name"]; has && renamed != name {
			// The name is what the override matches the item by: a new one would be ignored, or
			// deploy the item under a name nothing else refers to.
			mg.errs = append(mg.errs, fieldErr(path+"."+name+".name", short(renamed), "renames "+name+", which an override cannot do",
				fmt.Sprintf("remove name: here (the key %s is the item's name); to deploy it under another name, rename it in %s, or give the whole list in this stack with its path in %s:%s",
					name, ProjectFile, Namespace, ReplaceKey)))
			continue
		}
		merged := mg.merge(path+"."+name, fmt.Sprintf("%s[%d]", where, i), out[i], p)
		if m, ok := merged.(map[string]any); ok {
			m["name"] = name
		}
		out[i] = merged
	}
	if len(removed) > 0 {
		mg.shifted = append(mg.shifted, where)
	}
	kept := out[:0]
	for i, item := range out {
		if !removed[i] {
			kept = append(kept, item)
		}
	}
	return kept
}

// allNamed says whether every item of a list is a mapping with a string name.
func allNamed(list []any) bool {
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["name"].(string); !ok {
			return false
		}
	}
	return true
}

// ResolveOverrides is raw with shoestring:overrides merged into the keys it names and removed, for
// tools that derive one stack's config from another's (a playground from its base): they edit the
// values the base stack actually deploys.
func ResolveOverrides(raw map[string]string, secretKeys []string) (map[string]string, error) {
	replace, errs := replaceList(raw)
	out, m := applyOverrides(maps.Clone(raw), secretKeys, replace)
	errs = append(errs, m.errs...)
	delete(out, Namespace+":"+ReplaceKey)
	if len(errs) > 0 {
		return nil, Errors(errs).sorted()
	}
	return out, nil
}
