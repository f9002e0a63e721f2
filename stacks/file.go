package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
)

// SecretPlaceholder stands in for each encrypted value when a stack file is read without the
// Pulumi engine (render, cost, tests): ciphertext cannot be decrypted here, and a placeholder keeps
// the rendering deterministic without ever putting a real secret in a manifest.
const SecretPlaceholder = "placeholder-not-a-secret"

// ReadStackFile reads a Pulumi.<stack>.yaml the way the engine would hand it to the program: each
// config key with its value (structured values as JSON), under it the shared configuration of the
// project file in the same folder, and the list of keys holding secrets.
// Encrypted values ({secure: ...}) become SecretPlaceholder. What only the file shows (a key given
// twice, plain text next to encrypted values under shoestring:secrets) is an Errors; LoadStackFile
// reports it together with every other problem of the file.
func ReadStackFile(path string) (raw map[string]string, secretKeys []string, err error) {
	f, err := readStackFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(f.problems) > 0 {
		return nil, nil, f.problems.sorted()
	}
	return f.raw, f.secretKeys, nil
}

// stackFile is a stack file as read: what ReadStackFile returns, and what only the file shows.
type stackFile struct {
	raw        map[string]string
	secretKeys []string
	written    map[string]writtenScalar
	problems   Errors
	own        map[string]any // the keys the stack file itself sets, with their values
	shared     map[string]any // the project file's shared values (see projectDefaults)

	// Where keys are written (see locate): the stack file's name and lines, the project file's.
	name         string
	lines        map[string]int
	projectLines map[string]int
	shiftedLists []string
}

func readStackFile(path string) (*stackFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := readConfigNodes(b)
	if err != nil {
		return nil, yamlSyntaxError(filepath.Base(path), b, err)
	}
	shared, projectLines, err := projectDefaults(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	own := maps.Clone(fc.values)
	for k, v := range shared {
		if _, set := fc.values[k]; !set {
			fc.values[k] = v // the engine's rule: a key the stack sets replaces the shared one
		}
	}
	f := &stackFile{raw: map[string]string{}, secretKeys: fc.secretKeys, written: fc.written, problems: fc.problems,
		own: own, shared: shared, name: filepath.Base(path), lines: fc.lines, projectLines: projectLines}
	// Problems of Pulumi.yaml's own keys are there, whether or not the stack sets the key too.
	for _, e := range perStackKeysShared(shared) {
		e.File, e.Line = ProjectFile, projectLines[e.Key]
		f.problems = append(f.problems, e)
	}
	for k, v := range fc.values {
		switch s := v.(type) {
		case string, float64, bool:
			f.raw[k], _ = scalarString(s) // the engine passes top-level scalars as strings
		default:
			j, err := json.Marshal(s)
			if err != nil {
				return nil, fmt.Errorf("%s: config %s: %w", path, k, err)
			}
			f.raw[k] = string(j)
		}
	}
	return f, nil
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
