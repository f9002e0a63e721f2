package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// CheckStackFile is the check every shoestring command makes of a stack file before it does
// anything (render, cost, preview, up, images, the playground commands), so that one file gets one
// verdict. It is LoadStackFile with one rule for secrets the configuration refers to but the file
// does not set: a stack that deploys to a GKE cluster is refused with each of them (a value made up
// here would reach a real cluster without anyone knowing it); a stack on an existing cluster (a
// local one, such as dev) gets a stand-in for each, whose keys are returned so the command can name
// them (internal/engine generates the values once and keeps them in the local state).
//
// Its error names the file first. A file that cannot be read is the only thing said: every
// problem found without it would be a consequence. So is a missing project file when the stack
// file alone is not a valid stack (its problems would be the shared definition's absence).
func CheckStackFile(path string) (*Config, []string, error) {
	name := filepath.Base(path)
	f, err := readStackFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: not found (in %s): each stack's settings are in Pulumi.<stack>.yaml beside %s; pick one of the project's stacks, or create it", name, filepath.Dir(path), ProjectFile)
		}
		return nil, nil, fileError(name, err)
	}
	cfg, errs := parse(f.raw, f.secretKeys, f)
	if len(errs) > 0 {
		project := filepath.Join(filepath.Dir(path), ProjectFile)
		if _, err := os.Stat(project); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: not found (in %s): it holds what every stack shares (services, backing services, commonEnv), so %s cannot be checked without it; run from the project folder, or pass the folder that has it",
				ProjectFile, filepath.Dir(path), name)
		}
		if cfg.Cluster.Mode == ClusterModeGKE {
			return nil, nil, fmt.Errorf("%s: %w", name, errs)
		}
	}
	cfg, generated, err := parseWithPlaceholders(f.raw, f.secretKeys, f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, generated, nil
}

// fileError is an error reading a file, named by it once (errors of the project file already
// name it).
func fileError(name string, err error) error {
	if strings.HasPrefix(err.Error(), name+":") || strings.Contains(err.Error(), ProjectFile) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// GeneratesSecrets says whether missing secrets of this stack are generated locally (a stack on an
// existing cluster) rather than refused (a GKE stack); see CheckStackFile.
func (c *Config) GeneratesSecrets() bool { return c.Cluster.Mode != ClusterModeGKE }

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
	cfg.Warnings = append(append(cfg.secretLookingEnv(), cfg.networkPolicyWarnings()...), examples...)
	return cfg, nil
}
