package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"
)

// SecretPlaceholder stands in for each encrypted value when a stack file is read without the
// Pulumi engine (render, cost, tests): ciphertext cannot be decrypted here, and a placeholder keeps
// the rendering deterministic without ever putting a real secret in a manifest.
const SecretPlaceholder = "placeholder-not-a-secret"

// ReadStackFile reads a Pulumi.<stack>.yaml the way the engine would hand it to the program: each
// config key with its value (structured values as JSON), under it the shared configuration of the
// project file in the same folder, and the list of keys holding secrets.
// Encrypted values ({secure: ...}) become SecretPlaceholder.
func ReadStackFile(path string) (raw map[string]string, secretKeys []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var file struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	shared, err := projectDefaults(filepath.Dir(path))
	if err != nil {
		return nil, nil, err
	}
	if file.Config == nil {
		file.Config = map[string]any{}
	}
	for k, v := range shared {
		if _, set := file.Config[k]; !set {
			file.Config[k] = v // the engine's rule: a key the stack sets replaces the shared one
		}
	}
	raw = map[string]string{}
	for k, v := range file.Config {
		v, secret := replaceSecure(v)
		if secret {
			secretKeys = append(secretKeys, k)
		}
		switch s := v.(type) {
		case string, float64, bool:
			raw[k], _ = scalarString(s) // the engine passes top-level scalars as strings
		default:
			j, err := json.Marshal(s)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: config %s: %w", path, k, err)
			}
			raw[k] = string(j)
		}
	}
	sort.Strings(secretKeys)
	return raw, secretKeys, nil
}

// replaceSecure swaps every {secure: ciphertext} for SecretPlaceholder and says whether it found one.
func replaceSecure(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["secure"]; ok && len(t) == 1 {
			return SecretPlaceholder, true
		}
		found := false
		for k, item := range t {
			var s bool
			t[k], s = replaceSecure(item)
			found = found || s
		}
		return t, found
	case []any:
		found := false
		for i, item := range t {
			var s bool
			t[i], s = replaceSecure(item)
			found = found || s
		}
		return t, found
	}
	return v, false
}

// LoadStackFile reads and parses a stack file in one step, for tools that run without the engine:
// like encrypted values, secrets the configuration refers to but the file does not set become
// SecretPlaceholder (committed stack files hold no secret values; see LoadStackFileWithPlaceholders,
// which also says which). A real `pulumi up` reads config through Load, where a missing secret is
// an error naming the command that sets it.
func LoadStackFile(path string) (*Config, error) {
	cfg, _, err := LoadStackFileWithPlaceholders(path)
	return cfg, err
}
