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
}

func (e FieldError) Error() string {
	var b strings.Builder
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
		lines[i] = "  - " + e.Error()
	}
	return fmt.Sprintf("invalid stack configuration (%d problems):\n%s", len(es), strings.Join(lines, "\n"))
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Key < es[j].Key })
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
