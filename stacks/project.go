package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// ProjectFile is the project file beside every stack file. Its `config:` holds what every stack
// shares (Pulumi's project-level configuration): a stack file's key replaces the shared value of
// the same key as a whole, and shoestring:overrides changes parts of it (see overrides.go).
const ProjectFile = "Pulumi.yaml"

// projectDefaults reads the shared configuration of the project file in dir, as the engine merges
// it under each stack's: full keys ("shoestring:services") with their values. A folder without a
// project file shares nothing. lines are where each shared key is written (see projectKeyLines).
func projectDefaults(dir string) (_ map[string]any, lines map[string]int, _ error) {
	path := filepath.Join(dir, ProjectFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	// The engine's own reader: the same shorthand rules (a scalar or a list is the value, a mapping
	// declares the key with default:/value:) and the same validation of the file.
	proj, err := workspace.LoadProject(path)
	if err != nil {
		if b, readErr := os.ReadFile(path); readErr == nil && strings.Contains(err.Error(), "yaml: ") {
			return nil, nil, yamlSyntaxError(ProjectFile, b, err)
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]any{}
	for key, decl := range proj.Config {
		// The engine prefers default: over value: when a declaration has both; so does this.
		v := decl.Value
		if decl.Default != nil {
			v = decl.Default
		}
		if v == nil {
			continue
		}
		if !strings.Contains(key, ":") {
			key = proj.Name.String() + ":" + key
		}
		plain, err := workspace.SimplifyMarshalledValue(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: config %s: %w", path, key, err)
		}
		// Through JSON, so values have the types a stack file's have (numbers are float64).
		b, err := json.Marshal(plain)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: config %s: %w", path, key, err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return nil, nil, err
		}
		out[key] = generic
	}
	if b, err := os.ReadFile(path); err == nil {
		lines = projectKeyLines(b, proj.Name.String())
	}
	return out, lines, nil
}

// perStackKeysShared refuses, in the project file, the keys that only mean something in one
// stack's file: shoestring:overrides and shoestring:replace say how a stack differs from the shared
// values (a project-level copy would be shadowed by the first stack that sets its own), and
// secret values are never committed in plain text.
func perStackKeysShared(shared map[string]any) []FieldError {
	var errs []FieldError
	for _, key := range []string{OverridesKey, ReplaceKey} {
		if _, ok := shared[Namespace+":"+key]; ok {
			errs = append(errs, FieldError{Key: Namespace + ":" + key,
				Problem: fmt.Sprintf("is set in %s, where it would be shadowed by each stack file that sets its own", ProjectFile),
				Fix:     fmt.Sprintf("write the shared value itself in %s, and %s:%s in each stack file that differs", ProjectFile, Namespace, key)})
		}
	}
	if _, ok := shared[Namespace+":secrets"]; ok {
		errs = append(errs, FieldError{Key: Namespace + ":secrets",
			Problem: fmt.Sprintf("is set in %s (value withheld), which holds no secret values: they would be committed in plain text and shared by every stack", ProjectFile),
			Fix:     "remove it from " + ProjectFile + " and set each value in each stack with `pulumi config set --secret --path 'secrets.<group>.<NAME>' <value>`"})
	}
	return errs
}
