package stacks

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one invalid configuration value: the full config key (with the path inside a
// structured value), the value as given, what is wrong with it and what would be accepted.
type FieldError struct {
	Key     string // e.g. "shoestring:cluster.gke.machineType"
	Value   string // the offending value as the user wrote it; empty when the key is missing
	Problem string // what is wrong
	Fix     string // what is accepted instead, or the command that fixes it

	// File and Line say where the key is written (a stack file's name or Pulumi.yaml), when the
	// configuration was read from files; the message starts with them.
	File string
	Line int

	meant string // for a key typo with a did-you-mean: the full key it likely meant
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	}
	b.WriteString(e.Key)
	b.WriteString(": ")
	if e.Value != "" {
		fmt.Fprintf(&b, "%q ", e.Value)
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Errors is every problem found in one stack's configuration, so a user fixes them in one pass.
type Errors []FieldError

func (es Errors) Error() string {
	if len(es) == 1 {
		return "invalid stack configuration: " + es[0].Error()
	}
	lines := make([]string, len(es))
	for i, e := range es {
		mark := ""
		if es.followsFromTypo(e) {
			mark = "(may follow from the unknown key above) "
		}
		lines[i] = "  - " + mark + e.Error()
	}
	return fmt.Sprintf("invalid stack configuration (%d problems):\n%s", len(es), strings.Join(lines, "\n"))
}

// isKeyTypo says whether the error is a key the program does not read (an unknown key, a
// namespace that looks like a typo of shoestring) with a did-you-mean: the likely cause of other
// problems, so listed first.
func (e FieldError) isKeyTypo() bool {
	return (e.Problem == unknownKeyProblem || e.Problem == namespaceTypoProblem) && e.meant != ""
}

// followsFromTypo says whether e is about the key a typo in es meant (shoestring:services is
// missing when shoestrng:services was written), or names it: a consequence, not a second mistake.
func (es Errors) followsFromTypo(e FieldError) bool {
	if e.isKeyTypo() {
		return false
	}
	for _, t := range es {
		if !t.isKeyTypo() {
			continue
		}
		// A value given under the meant key is a mistake of its own; its absence, or a
		// reference to what it would have declared, follows from the typo.
		missing := e.Value == "" && (e.Key == t.meant || strings.HasPrefix(e.Key, t.meant+".") || strings.HasPrefix(e.Key, t.meant+"["))
		if missing || strings.Contains(e.Problem, t.meant) || strings.Contains(e.Fix, t.meant) {
			return true
		}
	}
	return false
}

// sorted orders errors by key, except that key typos come first and what follows from them next.
func (es Errors) sorted() Errors {
	rank := func(e FieldError) int {
		switch {
		case e.isKeyTypo():
			return 0
		case es.followsFromTypo(e):
			return 1
		}
		return 2
	}
	sort.SliceStable(es, func(i, j int) bool {
		if a, b := rank(es[i]), rank(es[j]); a != b {
			return a < b
		}
		return es[i].Key < es[j].Key
	})
	return es
}

// fieldErr builds a FieldError; value may be any printable value (empty string for "missing").
func fieldErr(key string, value any, problem, fix string) FieldError {
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
	}
	return FieldError{Key: key, Value: v, Problem: problem, Fix: fix}
}

// oneOf renders a list of accepted values for a Fix.
func oneOf(values ...string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "use one of " + strings.Join(q, ", ")
}
