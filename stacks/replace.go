package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ReplaceKey is the key under Namespace that lists the values a stack means to replace whole:
// without it, a value that would leave out part of the shared definition is refused (see dropped).
//
//	shoestring:replace: [backing]                 # this stack's shoestring:backing replaces Pulumi.yaml's
//	shoestring:replace: [services.api.cronJobs]   # a list given whole inside shoestring:overrides
//
// One rule for every key: what a stack writes never drops a shared item, map entry or field
// silently. A stack file's own value of a key Pulumi.yaml also sets (Pulumi's engine then uses the
// stack's value as a whole), and a list of named items given whole inside shoestring:overrides,
// either keep everything the shared value has (and change what they like) or are listed here.
const ReplaceKey = "replace"

// replaceList reads shoestring:replace from raw (nil when not set).
func replaceList(raw map[string]string) ([]string, []FieldError) {
	full := Namespace + ":" + ReplaceKey
	text, ok := raw[full]
	if !ok {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return nil, []FieldError{fieldErr(full, text, "is not a list of keys",
			"list the keys this stack replaces whole, e.g. [backing] for the stack's own shoestring:backing, or [services.api.cronJobs] for a list given whole in shoestring:overrides")}
	}
	return list, nil
}

// checkReplaced refuses each key the stack file sets whose value leaves out part of the value
// Pulumi.yaml shares, unless shoestring:replace names it; own are the keys the stack file sets,
// shared the project's values. It also refuses entries of shoestring:replace that name nothing
// the stack replaces (a typo would otherwise keep the protection off nothing, and the next real
// replacement unmarked).
func checkReplaced(own map[string]any, shared map[string]any, replace []string, overridden []string) []FieldError {
	var errs []FieldError
	for _, full := range slices.Sorted(maps.Keys(own)) {
		ns, key, _ := strings.Cut(full, ":")
		base, isShared := shared[full]
		if ns != Namespace || !isShared || key == OverridesKey || key == ReplaceKey || key == "secrets" {
			continue
		}
		lost := dropped("", base, own[full])
		if len(lost) == 0 || slices.Contains(replace, key) {
			continue
		}
		errs = append(errs, FieldError{Key: full,
			Problem: fmt.Sprintf("replaces the value %s shares as a whole, and leaves out %s", ProjectFile, listDropped(lost)),
			Fix: fmt.Sprintf("to change parts of it, remove %s from the stack file and write only what differs under %s:%s.%s (named items by name); to mean the whole value, add %s to %s:%s",
				full, Namespace, OverridesKey, key, key, Namespace, ReplaceKey)})
	}
	full := Namespace + ":" + ReplaceKey
	for i, entry := range replace {
		top, _, _ := strings.Cut(entry, ".")
		_, isOwn := own[Namespace+":"+top]
		_, isShared := shared[Namespace+":"+top]
		switch {
		case entry == top && isOwn && isShared:
		case entry != top && slices.Contains(overridden, entry):
		default:
			errs = append(errs, fieldErr(fmt.Sprintf("%s[%d]", full, i), entry, "names nothing this stack replaces",
				fmt.Sprintf("name a key the stack file sets and %s shares (e.g. backing), or the path of a list given whole in %s:%s (e.g. services.api.cronJobs); remove it otherwise",
					ProjectFile, Namespace, OverridesKey)))
		}
	}
	return errs
}

// dropped lists what mine leaves out of shared: map entries by key and items of named lists by
// name, at any depth (an item both have is compared field by field), as paths in the form
// overrides use (api.cronJobs.cleanup). Scalars and lists without names are replaced by mine's:
// the new value is written in the file, nothing disappears unseen.
func dropped(path string, shared, mine any) []string {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch s := shared.(type) {
	case map[string]any:
		m, ok := mine.(map[string]any)
		if !ok {
			return nil
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(s)) {
			v, has := m[k]
			if !has {
				out = append(out, join(k))
				continue
			}
			out = append(out, dropped(join(k), s[k], v)...)
		}
		return out
	case []any:
		m, ok := mine.([]any)
		if !ok || len(s) == 0 || !allNamed(s) {
			return nil
		}
		byName := map[string]any{}
		for _, item := range m {
			if im, ok := item.(map[string]any); ok {
				if n, ok := im["name"].(string); ok {
					byName[n] = im
				}
			}
		}
		var out []string
		for _, item := range s {
			name := item.(map[string]any)["name"].(string)
			v, has := byName[name]
			if !has {
				out = append(out, join(name))
				continue
			}
			out = append(out, dropped(join(name), item, v)...)
		}
		return out
	}
	return nil
}

// listDropped names each thing left out: the message is the list of what the stack would lose.
func listDropped(lost []string) string { return strings.Join(lost, ", ") }
