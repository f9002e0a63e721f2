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
// (Pulumi's rule); shoestring:overrides says only what differs:
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
// removes the item.
const OverridesKey = "overrides"

// applyOverrides returns raw with shoestring:overrides merged into the keys it names. raw is not
// modified.
func applyOverrides(raw map[string]string, secretKeys []string) (map[string]string, []FieldError) {
	full := Namespace + ":" + OverridesKey
	text, ok := raw[full]
	if !ok {
		return raw, nil
	}
	out := maps.Clone(raw)
	delete(out, full)
	var patch map[string]any
	if err := json.Unmarshal([]byte(text), &patch); err != nil || patch == nil {
		return out, []FieldError{fieldErr(full, text, "is not a mapping",
			"write a YAML mapping from a key of this namespace (services, commonEnv, ...) to what this stack changes in it")}
	}
	accepted := slices.DeleteFunc(schemaKeys(), func(k string) bool { return k == "secrets" })
	var errs []FieldError
	for _, key := range slices.Sorted(maps.Keys(patch)) {
		path := full + "." + key
		target := Namespace + ":" + key
		switch {
		case key == "secrets" || slices.Contains(secretKeys, target):
			errs = append(errs, fieldErr(path, "", "overrides secret values",
				fmt.Sprintf("set each secret in this stack with `pulumi config set --secret --path '%s.<group>.<NAME>' <value>`", key)))
			continue
		case !slices.Contains(accepted, key):
			errs = append(errs, unknownKey(path, key, accepted))
			continue
		}
		var base any
		if s, ok := out[target]; ok {
			if err := json.Unmarshal([]byte(s), &base); err != nil {
				base = s // a top-level scalar: the engine passes it as a plain string
			}
		}
		merged, e := mergeNamed(path, target, base, patch[key])
		errs = append(errs, e...)
		if len(e) > 0 {
			continue
		}
		switch m := merged.(type) {
		case nil:
			delete(out, target)
		case string:
			out[target] = m
		default:
			b, err := json.Marshal(m)
			if err != nil {
				errs = append(errs, fieldErr(path, "", err.Error(), ""))
				continue
			}
			out[target] = string(b)
		}
	}
	return out, errs
}

// mergeNamed merges patch into base (see OverridesKey): path names the patch in errors, where
// the value it changes.
func mergeNamed(path, where string, base, patch any) (any, []FieldError) {
	p, isObject := patch.(map[string]any)
	if !isObject {
		return patch, nil // a scalar or a list replaces the value
	}
	if list, ok := base.([]any); ok && allNamed(list) {
		return mergeList(path, where, list, p)
	}
	b, ok := base.(map[string]any)
	if !ok {
		b = map[string]any{}
	} else {
		b = maps.Clone(b)
	}
	var errs []FieldError
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if p[k] == nil {
			delete(b, k)
			continue
		}
		v, e := mergeNamed(path+"."+k, where+"."+k, b[k], p[k])
		errs = append(errs, e...)
		b[k] = v
	}
	return b, errs
}

// mergeList applies a patch keyed by name to a list of named items, keeping the list's order.
func mergeList(path, where string, list []any, patch map[string]any) (any, []FieldError) {
	index := map[string]int{}
	var names []string
	for i, item := range list {
		n := item.(map[string]any)["name"].(string)
		index[n] = i
		names = append(names, n)
	}
	out := slices.Clone(list)
	removed := map[int]bool{}
	var errs []FieldError
	for _, name := range slices.Sorted(maps.Keys(patch)) {
		i, ok := index[name]
		if !ok {
			fix := "name one of: " + strings.Join(names, ", ")
			if best := closest(name, names); best != "" {
				fix = fmt.Sprintf("did you mean %q? %s", best, fix)
			}
			errs = append(errs, fieldErr(path+"."+name, "", fmt.Sprintf("names no item of %s", where),
				fix+" (an override changes a shared item; a stack that needs a whole list of its own sets the key itself)"))
			continue
		}
		if patch[name] == nil {
			removed[i] = true
			continue
		}
		if _, ok := patch[name].(map[string]any); !ok {
			errs = append(errs, fieldErr(path+"."+name, short(patch[name]), "is not a mapping",
				"write the fields of "+name+" this stack changes, e.g. {replicas: 2}, or null to leave it out"))
			continue
		}
		merged, e := mergeNamed(path+"."+name, fmt.Sprintf("%s[%d]", where, i), out[i], patch[name])
		errs = append(errs, e...)
		if m, ok := merged.(map[string]any); ok {
			m["name"] = name // the name identifies the item; an override cannot rename it
		}
		out[i] = merged
	}
	kept := out[:0]
	for i, item := range out {
		if !removed[i] {
			kept = append(kept, item)
		}
	}
	return kept, errs
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
	out, errs := applyOverrides(raw, secretKeys)
	if len(errs) > 0 {
		return nil, Errors(errs).sorted()
	}
	return out, nil
}
