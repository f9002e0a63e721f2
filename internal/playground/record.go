package playground

import (
	"fmt"
	"time"
)

// OutputKey is the stack output in which a playground stack records what it is. Outputs live in the
// backend's state, so `list` and `reap` on a fresh CI runner (without the playground's stack file)
// still know each playground's branch and age.
const OutputKey = "playground"

// Record is what a playground stack records about itself.
type Record struct {
	Branch    string
	Namespace string
	Host      string // "" without a playground domain
	Created   time.Time
}

// Map is the record as the stack output's value.
func (r Record) Map() map[string]string {
	return map[string]string{"branch": r.Branch, "namespace": r.Namespace, "host": r.Host, "created": r.Created.UTC().Format(time.RFC3339)}
}

// ParseRecord reads the record back from a stack output value (a map of strings).
func ParseRecord(v any) (Record, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Record{}, fmt.Errorf("output %q is not a mapping", OutputKey)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	r := Record{Branch: str("branch"), Namespace: str("namespace"), Host: str("host")}
	if c := str("created"); c != "" {
		t, err := time.Parse(time.RFC3339, c)
		if err != nil {
			return Record{}, fmt.Errorf("output %s.created: %w", OutputKey, err)
		}
		r.Created = t
	}
	return r, nil
}
