// Package lifecycle creates, lists and removes playground stacks with the Pulumi Automation API.
// It drives the Pulumi CLI with an inline program, in a temporary work folder so that playground
// stack files never land in the repository: everything a later run needs (branch, creation time)
// is in the backend's state, as the stack output stacks.PlaygroundOutputKey.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/stacks"
)

// ErrNoSuchPlayground is returned by Down for a playground that does not exist.
var ErrNoSuchPlayground = errors.New("no such playground")

// Options configure a Manager.
type Options struct {
	// ProjectDir holds Pulumi.yaml and the base stacks' Pulumi.<stack>.yaml (the repository root).
	ProjectDir string
	// Program returns what a playground stack runs given the stack's config: the shoestring
	// program (which reads that config through the engine); tests pass a small one.
	Program func(cfg map[string]playground.ConfigEntry) pulumi.RunFunc
	// PulumiRoot is a folder whose bin/pulumi is the CLI to drive; "" uses pulumi from PATH.
	PulumiRoot string
	// Env is added to the CLI's environment (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, ...).
	Env map[string]string
	// SecretsProvider for new playground stacks ("" is the passphrase provider; CI passes gcpkms://...).
	SecretsProvider string
	// Progress receives the CLI's progress output; nil discards it.
	Progress io.Writer
}

// Manager runs the playground commands against one project's backend.
type Manager struct {
	opts    Options
	cmd     auto.PulumiCommand
	project workspace.Project
}

// New checks the project folder and finds the CLI.
func New(opts Options) (*Manager, error) {
	if opts.Program == nil {
		return nil, errors.New("lifecycle: no program")
	}
	proj, err := workspace.LoadProject(opts.ProjectDir + "/Pulumi.yaml")
	if err != nil {
		return nil, fmt.Errorf("reading the project: %w (run from the repository root, or pass --project)", err)
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: opts.PulumiRoot, SkipVersionCheck: true})
	if err != nil {
		return nil, fmt.Errorf("finding the Pulumi CLI: %w (install it, or run scripts/tools.sh pulumi)", err)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	return &Manager{opts: opts, cmd: cmd, project: *proj}, nil
}

// notRun is the program of workspaces that only list or destroy (neither runs a program).
func notRun(*pulumi.Context) error {
	return errors.New("lifecycle: this workspace does not run the program")
}

// workspace is an inline-program workspace in a fresh temporary folder.
func (m *Manager) workspace(ctx context.Context, program pulumi.RunFunc) (auto.Workspace, func(), error) {
	dir, err := os.MkdirTemp("", "shoestring-playground-")
	if err != nil {
		return nil, nil, err
	}
	proj := workspace.Project{Name: m.project.Name, Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	opts := []auto.LocalWorkspaceOption{auto.WorkDir(dir), auto.Program(program), auto.Project(proj),
		auto.Pulumi(m.cmd), auto.EnvVars(m.opts.Env)}
	if m.opts.SecretsProvider != "" {
		opts = append(opts, auto.SecretsProvider(m.opts.SecretsProvider))
	}
	ws, err := auto.NewLocalWorkspace(ctx, opts...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return ws, func() { os.RemoveAll(dir) }, nil
}

func (m *Manager) env() []string {
	var env []string
	for k, v := range m.opts.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// BaseConfig reads a base stack's config (secrets decrypted, to be re-encrypted for the
// playground) from its stack file in the project folder.
func (m *Manager) BaseConfig(ctx context.Context, base string) (map[string]playground.ConfigEntry, error) {
	stdout, stderr, _, err := m.cmd.Run(ctx, m.opts.ProjectDir, nil, nil, nil, m.env(),
		"config", "--json", "--show-secrets", "--stack", base, "--non-interactive")
	if err != nil {
		return nil, fmt.Errorf("reading the config of base stack %q: %w: %s", base, err, strings.TrimSpace(stderr))
	}
	var cfg map[string]playground.ConfigEntry
	if err := json.Unmarshal([]byte(stdout), &cfg); err != nil {
		return nil, fmt.Errorf("reading the config of base stack %q: %w", base, err)
	}
	return cfg, nil
}

// UpResult is what `up` made.
type UpResult struct {
	Name     stacks.PlaygroundName
	Services []string
	Outputs  auto.OutputMap
}

// Up creates or updates the playground of spec.Name.Branch from base stack's config. A second
// push to the same branch updates the playground and keeps its creation time.
func (m *Manager) Up(ctx context.Context, base string, spec playground.Spec) (UpResult, error) {
	baseCfg, err := m.BaseConfig(ctx, base)
	if err != nil {
		return UpResult{}, err
	}
	existing, err := m.List(ctx)
	if err != nil {
		return UpResult{}, err
	}
	owners := map[string]string{}
	for _, s := range existing {
		// A stack without a record is one whose first update failed before finishing: retrying
		// the same branch must work, so only recorded branches own a name.
		if s.Branch != "" {
			owners[s.Name] = s.Branch
		}
		if s.Name == spec.Name.Stack && s.Branch == spec.Name.Branch && !s.Created.IsZero() {
			spec.Created = s.Created
		}
	}
	if err := playground.CheckCollision(spec.Name, owners); err != nil {
		return UpResult{}, err
	}
	cfg, deployed, err := playground.StackConfig(baseCfg, spec)
	if err != nil {
		return UpResult{}, err
	}
	// `config set-all --json` mangles secret objects (it encrypts the whole object into one
	// ciphertext that it cannot read back), so their leaves are set one by one as secret paths.
	plain, secretLeaves := splitSecretObjects(cfg)
	cfgJSON, err := json.Marshal(plain)
	if err != nil {
		return UpResult{}, err
	}

	ws, cleanup, err := m.workspace(ctx, m.opts.Program(cfg))
	if err != nil {
		return UpResult{}, err
	}
	defer cleanup()
	stack, err := auto.UpsertStack(ctx, spec.Name.Stack, ws)
	if err != nil {
		return UpResult{}, fmt.Errorf("creating stack %s: %w", spec.Name.Stack, err)
	}
	if err := stack.SetAllConfigJson(ctx, string(cfgJSON), nil); err != nil {
		return UpResult{}, fmt.Errorf("setting the config of %s: %w", spec.Name.Stack, err)
	}
	if len(secretLeaves) > 0 {
		if err := stack.SetAllConfigWithOptions(ctx, secretLeaves, &auto.ConfigOptions{Path: true}); err != nil {
			return UpResult{}, fmt.Errorf("setting the secrets of %s: %w", spec.Name.Stack, err)
		}
	}
	res, err := stack.Up(ctx, optup.ProgressStreams(m.opts.Progress), optup.ErrorProgressStreams(m.opts.Progress))
	if err != nil {
		return UpResult{}, fmt.Errorf("pulumi up of %s: %w", spec.Name.Stack, err)
	}
	return UpResult{Name: spec.Name, Services: deployed, Outputs: res.Outputs}, nil
}

// Down destroys a playground's resources and removes its stack. It refuses names that are not
// playground stacks, so a typo cannot destroy a base stack.
func (m *Manager) Down(ctx context.Context, stackName string) error {
	if !stacks.IsPlaygroundStack(stackName) {
		return fmt.Errorf("%q is not a playground stack (their names start with %q): refusing to destroy it", stackName, stacks.PlaygroundNamePrefix)
	}
	ws, cleanup, err := m.workspace(ctx, notRun)
	if err != nil {
		return err
	}
	defer cleanup()
	stack, err := auto.SelectStack(ctx, stackName, ws)
	if err != nil {
		if auto.IsSelectStack404Error(err) {
			return fmt.Errorf("playground %s does not exist (already removed?): %w", stackName, ErrNoSuchPlayground)
		}
		return err
	}
	if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(m.opts.Progress), optdestroy.ErrorProgressStreams(m.opts.Progress)); err != nil {
		return fmt.Errorf("pulumi destroy of %s: %w", stackName, err)
	}
	if err := ws.RemoveStack(ctx, stackName); err != nil {
		return fmt.Errorf("removing stack %s: %w", stackName, err)
	}
	return nil
}

// List returns the project's playground stacks (never another stack) with their recorded branch
// and creation time, sorted by name.
func (m *Manager) List(ctx context.Context) ([]playground.Stack, error) {
	ws, cleanup, err := m.workspace(ctx, notRun)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	summaries, err := ws.ListStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing stacks: %w", err)
	}
	var out []playground.Stack
	for _, s := range summaries {
		name := stackBaseName(s.Name)
		if !stacks.IsPlaygroundStack(name) {
			continue
		}
		st := playground.Stack{Name: name}
		if s.LastUpdate != "" {
			st.LastUpdate, _ = time.Parse(time.RFC3339, s.LastUpdate)
		}
		outputs, err := ws.StackOutputs(ctx, s.Name)
		if err == nil {
			if o, ok := outputs[stacks.PlaygroundOutputKey]; ok {
				if rec, err := stacks.ParsePlaygroundRecord(o.Value); err == nil {
					st.Branch, st.Created = rec.Branch, rec.Created
				}
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Reap removes the playgrounds playground.Reap chooses (all of them unless dryRun) and returns
// the choice. A failure to remove one is reported after trying the others.
func (m *Manager) Reap(ctx context.Context, branches map[string]bool, maxAge time.Duration, now time.Time, dryRun bool) ([]playground.Removal, []playground.Kept, error) {
	stacks, err := m.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	remove, kept := playground.Reap(stacks, branches, maxAge, now)
	if dryRun {
		return remove, kept, nil
	}
	var errs []error
	for _, r := range remove {
		if err := m.Down(ctx, r.Stack); err != nil {
			errs = append(errs, err)
		}
	}
	return remove, kept, errors.Join(errs...)
}

// splitSecretObjects separates secret structured values from the rest and turns them into one
// secret config path per leaf (key["a"]["b"] = value).
func splitSecretObjects(cfg map[string]playground.ConfigEntry) (map[string]playground.ConfigEntry, auto.ConfigMap) {
	plain := map[string]playground.ConfigEntry{}
	leaves := auto.ConfigMap{}
	for k, e := range cfg {
		if !e.Secret || e.ObjectValue == nil {
			plain[k] = e
			continue
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch t := v.(type) {
			case map[string]any:
				for mk, mv := range t {
					walk(fmt.Sprintf("%s[%q]", path, mk), mv)
				}
			case []any:
				for i, iv := range t {
					walk(fmt.Sprintf("%s[%d]", path, i), iv)
				}
			default:
				leaves[path] = auto.ConfigValue{Value: fmt.Sprint(t), Secret: true}
			}
		}
		walk(k, e.ObjectValue)
	}
	return plain, leaves
}

// stackBaseName drops the organization/project prefix some backends list names with.
func stackBaseName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}
