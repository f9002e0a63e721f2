package stacks

import (
	"encoding/json"
	"slices"
	"strings"
)

// LoadStackFileWithPlaceholders reads a stack file like LoadStackFile, for tools that evaluate the
// program without the Pulumi engine (render, make up, tests): committed stack files hold no secret
// values, so every secret the configuration refers to but the file does not set (see MissingSecret)
// becomes SecretPlaceholder. It returns the keys it filled in, so callers can say so. A real
// `pulumi up` goes through Load, where a missing secret stays an error with the command that sets it.
func LoadStackFileWithPlaceholders(path string) (*Config, []string, error) {
	f, err := readStackFile(path)
	if err != nil {
		return nil, nil, err
	}
	return parseWithPlaceholders(f.raw, f.secretKeys, f)
}

// ParseWithPlaceholders is Parse with LoadStackFileWithPlaceholders' stand-ins for missing secrets.
func ParseWithPlaceholders(raw map[string]string, secretKeys []string) (*Config, []string, error) {
	return parseWithPlaceholders(raw, secretKeys, nil)
}

func parseWithPlaceholders(raw map[string]string, secretKeys []string, f *stackFile) (*Config, []string, error) {
	cfg, errs := parseAllowingExamples(raw, secretKeys, f)
	if len(errs) == 0 {
		return cfg, nil, nil
	}
	var err error = errs
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
	cfg, errs = parseAllowingExamples(withSecrets, secretKeys, f)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return cfg, filled, nil
}

// parseAllowingExamples is parse where the committed stack files' stand-ins for a team's own
// values (Cloudflare's example zone id) are warnings: renders and local runs never reach
// Cloudflare, while a real deploy (Load) refuses them.
func parseAllowingExamples(raw map[string]string, secretKeys []string, f *stackFile) (*Config, Errors) {
	cfg, errs := parse(raw, secretKeys, f)
	var rest, examples Errors
	for _, e := range errs {
		if e.Problem == exampleZoneIDProblem {
			e.Problem += " (a deploy refuses it)"
			examples = append(examples, e)
		} else {
			rest = append(rest, e)
		}
	}
	if len(rest) > 0 || len(examples) == 0 {
		return cfg, errs
	}
	cfg.Warnings = append(cfg.secretLookingEnv(), examples...)
	return cfg, nil
}
