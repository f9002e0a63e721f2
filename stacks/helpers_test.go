package stacks

import (
	"os"
	"reflect"
	"sort"
)

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

func acceptedTopLevel() []string {
	keys := []string{Namespace + ":" + OverridesKey, Namespace + ":" + ReplaceKey}
	for k := range fieldsByKey(reflect.TypeOf(Config{})) {
		keys = append(keys, Namespace+":"+k)
	}
	sort.Strings(keys)
	return keys
}
