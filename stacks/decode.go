package stacks

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// decode copies a generic JSON value (as Pulumi passes structured config) into dst, strictly:
// an unknown key, a wrong type or a fraction where a whole number belongs is reported with its
// full path instead of being ignored, so a typo in a stack file never goes unnoticed.
func decode(path string, src any, dst reflect.Value) []FieldError {
	return decoder{}.decode(path, src, dst)
}

// decoder knows, when the values come from a stack file, the text of the scalars YAML does not
// read as text (see writtenScalar), by full path.
type decoder struct{ written map[string]writtenScalar }

func (d decoder) decode(path string, src any, dst reflect.Value) []FieldError {
	if src == nil {
		return nil // an explicit null keeps the default
	}
	if dst.Kind() == reflect.Pointer {
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return d.decode(path, src, dst.Elem())
	}
	if dst.CanAddr() {
		if u, ok := dst.Addr().Interface().(encoding.TextUnmarshaler); ok {
			s, ok := scalarString(src)
			if !ok {
				return []FieldError{fieldErr(path, short(src), "is not a string", "write a single string value")}
			}
			if err := u.UnmarshalText([]byte(s)); err != nil {
				return []FieldError{fieldErr(path, s, err.Error(), "")}
			}
			return nil
		}
	}
	switch dst.Kind() {
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return []FieldError{fieldErr(path, short(src), "is not an object", "write a YAML mapping of "+strings.Join(slices.Sorted(maps.Keys(fieldsByKey(dst.Type()))), ", "))}
		}
		return d.decodeStruct(path, m, dst)
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok {
			return []FieldError{fieldErr(path, short(src), "is not an object", "write a YAML mapping")}
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMap(dst.Type()))
		}
		var errs []FieldError
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v := reflect.New(dst.Type().Elem()).Elem()
			if e := d.element(path+"."+k, m[k], v); len(e) > 0 {
				errs = append(errs, e...)
				continue
			}
			dst.SetMapIndex(reflect.ValueOf(k), v)
		}
		return errs
	case reflect.Slice:
		l, ok := src.([]any)
		if !ok {
			return []FieldError{fieldErr(path, short(src), "is not a list", "write a YAML list")}
		}
		out := reflect.MakeSlice(dst.Type(), len(l), len(l))
		var errs []FieldError
		for i, item := range l {
			errs = append(errs, d.element(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i))...)
		}
		dst.Set(out)
		return errs
	case reflect.String:
		s, ok := scalarString(src)
		if !ok {
			return []FieldError{fieldErr(path, short(src), "is not a string", "write a single string value")}
		}
		// A single text field that also takes numbers (a port name or number, "0") accepts one,
		// unless YAML changed its text (0755 is 493): the file says what was written.
		if w, known := d.written[path]; known && w.kind == "number" && w.text != s {
			return []FieldError{notText(path, w, s)}
		}
		dst.SetString(s)
	case reflect.Bool:
		switch v := src.(type) {
		case bool:
			dst.SetBool(v)
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return []FieldError{fieldErr(path, v, "is not a boolean", "write true or false")}
			}
			dst.SetBool(b)
		default:
			return []FieldError{fieldErr(path, short(src), "is not a boolean", "write true or false")}
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		var f float64
		switch v := src.(type) {
		case float64:
			f = v
		case json.Number:
			p, err := v.Float64()
			if err != nil {
				return []FieldError{fieldErr(path, v, "is not a whole number", "write a number such as 3")}
			}
			f = p
		case string:
			p, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return []FieldError{fieldErr(path, v, "is not a whole number", "write a number such as 3")}
			}
			f = p
		default:
			return []FieldError{fieldErr(path, short(src), "is not a whole number", "write a number such as 3")}
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return []FieldError{fieldErr(path, strconv.FormatFloat(f, 'f', -1, 64), "is not a whole number", "write a number such as 3")}
		}
		dst.SetInt(int64(f))
	case reflect.Float64:
		switch v := src.(type) {
		case float64:
			dst.SetFloat(v)
		case string:
			p, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return []FieldError{fieldErr(path, v, "is not a number", "write a number such as 0.5")}
			}
			dst.SetFloat(p)
		default:
			return []FieldError{fieldErr(path, short(src), "is not a number", "write a number such as 0.5")}
		}
	default:
		panic(fmt.Sprintf("stacks: no decoder for %s at %s", dst.Type(), path))
	}
	return nil
}

func (d decoder) decodeStruct(path string, m map[string]any, dst reflect.Value) []FieldError {
	fields := fieldsByKey(dst.Type())
	var errs []FieldError
	for _, k := range slices.Sorted(maps.Keys(m)) {
		idx, ok := fields[k]
		if !ok {
			errs = append(errs, unknownKey(path+"."+k, k, slices.Sorted(maps.Keys(fieldsByKey(dst.Type())))))
			continue
		}
		errs = append(errs, d.decode(path+"."+k, m[k], dst.FieldByIndex(idx))...)
	}
	return errs
}

// element decodes an item of a map or list. Where the item is text (env values, commands, names),
// only a YAML string is accepted: a boolean, number or null would reach the program as other text
// than written ("NO" is false to YAML 1.1 readers, 0755 is 493, 2.10 is 2.1, ~ is null), the way
// Kubernetes refuses a number in a ConfigMap's data.
func (d decoder) element(path string, src any, dst reflect.Value) []FieldError {
	if dst.Kind() != reflect.String {
		return d.decode(path, src, dst)
	}
	w, known := d.written[path]
	if _, isText := src.(string); isText && (!known || w.kind != "yaml11bool") {
		return d.decode(path, src, dst)
	}
	if known {
		s, _ := scalarString(src)
		return []FieldError{notText(path, w, s)}
	}
	// From the engine's JSON (the Go language host): the text as written is lost.
	fix := "quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"
	switch v := src.(type) {
	case nil:
		return []FieldError{fieldErr(path, nil, "is null in YAML, not text", "quote it in the stack file, or write \"\" for an empty value")}
	case bool:
		return []FieldError{fieldErr(path, strconv.FormatBool(v), "is a boolean in YAML, not text", fix)}
	case float64:
		return []FieldError{fieldErr(path, strconv.FormatFloat(v, 'f', -1, 64), "is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1)", fix)}
	}
	return d.decode(path, src, dst)
}

// notText is the error for a scalar YAML reads as something else than the text written.
func notText(path string, w writtenScalar, read string) FieldError {
	fix := fmt.Sprintf("quote it: %q", w.text)
	switch w.kind {
	case "boolean":
		return FieldError{Key: path, Value: w.text, Problem: "is read as a boolean by YAML", Fix: fix}
	case "yaml11bool":
		return FieldError{Key: path, Value: w.text, Problem: "is read as a boolean by YAML 1.1 (kubectl and other YAML 1.1 readers)", Fix: fix}
	case "null":
		if w.text == "" {
			return FieldError{Key: path, Problem: "is empty, which YAML reads as null", Fix: "write \"\" for an empty value"}
		}
		return FieldError{Key: path, Value: w.text, Problem: "is read as null by YAML", Fix: fix + ", or write \"\" for an empty value"}
	}
	if read != w.text {
		return FieldError{Key: path, Value: w.text, Problem: "is read as the number " + read + " by YAML", Fix: fix}
	}
	return FieldError{Key: path, Value: w.text, Problem: "is read as a number by YAML", Fix: fix}
}

// unknownKey names the closest accepted key, since most unknown keys are typos.
func unknownKey(full, key string, accepted []string) FieldError {
	fix := "accepted keys here: " + strings.Join(accepted, ", ")
	meant := ""
	if best := closest(key, accepted); best != "" {
		fix = fmt.Sprintf("did you mean %q? %s", best, fix)
		// The full key meant: the typo's with its last part corrected.
		meant = strings.TrimSuffix(full, key) + best
		if strings.Contains(best, ":") {
			meant = best
		}
	}
	return FieldError{Key: full, Problem: unknownKeyProblem, Fix: fix, meant: meant}
}

const unknownKeyProblem = "is not a known key"

// fieldsByKey maps the json (nested values) or config (top-level keys) tag of each field, looking
// through embedded structs, to the field's index path.
func fieldsByKey(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int{}, prefix...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			name := tagName(f)
			if name == "" || name == "-" {
				continue
			}
			out[name] = idx
		}
	}
	walk(t, nil)
	return out
}

func tagName(f reflect.StructField) string {
	if n, ok := f.Tag.Lookup("config"); ok {
		return n
	}
	n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return n
}

func scalarString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(s), true
	}
	return "", false
}

// short prints a value for an error message without dumping a whole structure.
func short(v any) string {
	switch v.(type) {
	case map[string]any:
		return "{...}"
	case []any:
		return "[...]"
	}
	s, _ := scalarString(v)
	return s
}

// closest returns the accepted key nearest to key (case-insensitive edit distance at most 3).
func closest(key string, accepted []string) string {
	best, bestD := "", 4
	for _, a := range accepted {
		if d := editDistance(strings.ToLower(key), strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
