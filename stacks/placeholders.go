package stacks

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// LoadStackFileWithPlaceholders reads a stack file like LoadStackFile, for tools that evaluate the
// program without the Pulumi engine (render, make up, tests): committed stack files hold no secret
// values, so every secret the configuration refers to but the file does not set (see MissingSecret)
// becomes SecretPlaceholder. It returns the keys it filled in, so callers can say so. A real
// `pulumi up` goes through Load, where a missing secret stays an error with the command that sets it.
func LoadStackFileWithPlaceholders(path string) (*Config, []string, error) {
	raw, secretKeys, err := ReadStackFile(path)
	if err != nil {
		return nil, nil, err
	}
	return ParseWithPlaceholders(raw, secretKeys)
}

// ParseWithPlaceholders is Parse with LoadStackFileWithPlaceholders' stand-ins for missing secrets.
func ParseWithPlaceholders(raw map[string]string, secretKeys []string) (*Config, []string, error) {
	cfg, err := Parse(raw, secretKeys)
	var errs Errors
	if err == nil || !errors.As(err, &errs) {
		return cfg, nil, err
	}
	const key = Namespace + ":secrets"
	secrets := map[string]map[string]string{}
	if v, ok := raw[key]; ok {
		if json.Unmarshal([]byte(v), &secrets) != nil {
			return nil, nil, err // malformed: Parse has said why
		}
	}
	var filled []string
	for _, e := range errs {
		if e.Problem != missingSecretProblem {
			continue
		}
		group, name, _ := strings.Cut(strings.TrimPrefix(e.Key, key+"."), ".")
		if secrets[group] == nil {
			secrets[group] = map[string]string{}
		}
		secrets[group][name] = SecretPlaceholder
		filled = append(filled, e.Key)
	}
	if len(filled) == 0 {
		return nil, nil, err
	}
	b, _ := json.Marshal(secrets)
	withSecrets := make(map[string]string, len(raw)+1)
	for k, v := range raw {
		withSecrets[k] = v
	}
	withSecrets[key] = string(b)
	if !slices.Contains(secretKeys, key) {
		secretKeys = append(slices.Clone(secretKeys), key)
	}
	cfg, err = Parse(withSecrets, secretKeys)
	if err != nil {
		return nil, nil, err
	}
	return cfg, filled, nil
}
