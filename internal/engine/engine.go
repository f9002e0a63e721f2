// Package engine runs the shoestring program under the real Pulumi engine, through the Automation
// API with an inline program: the program runs in this process, the Pulumi CLI's engine and the
// real providers do the rest (diff, ordering, awaiting readiness, replacing, deleting, state).
//
// A stack run this way keeps its state on this machine: a file backend and a passphrase under the
// state folder (by default <project>/.state/pulumi). The user's Pulumi.<stack>.yaml is never written
// to: the engine works on a copy in a work folder, where secrets the stack needs but the file does
// not set are generated once and kept encrypted, so a local stack comes up without anyone typing
// a password and no secret value reaches the repository.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/stacks"
)

// Plugin is a resource plugin a stack needs, at the version the program's SDK asks for.
type Plugin struct {
	Name    string
	Version string
}

// Options configure a run.
type Options struct {
	// ProjectDir holds Pulumi.yaml and Pulumi.<Stack>.yaml.
	ProjectDir string
	// Stack is the stack's name; its file is Pulumi.<Stack>.yaml in ProjectDir.
	Stack string
	// StateDir holds the backend, the passphrase and the work folders; "" is <ProjectDir>/.state/pulumi.
	StateDir string
	// ExistingCluster, when set, retargets the stack's Kubernetes side at this kubeconfig: the
	// cluster becomes `existing` (no GKE resource) and nothing talks to Cloudflare (no DNS-sync
	// controller unless CloudflareAPI names a double, no alias records, no Origin CA certificate:
	// the edge serves HTTP only), since a copy on another cluster must never rewrite the stack's
	// real DNS name. The stack file is not edited.
	ExistingCluster string
	// CloudflareAPI, with ExistingCluster, keeps a stack's DNS sync on in the retargeted copy,
	// writing to this Cloudflare API base URL instead of Cloudflare's, e.g. the repository's
	// double (internal/testing/cloudflarefake) on the local cluster's host bridge, where the real
	// node's pods reach it. The controller runs from the stack's own settings (names, TTL, proxy,
	// owner, node selection, resources, the token Secret and its mount) with DNSSyncImage; the
	// zone is looked up by name (dns.zoneId is left out, the double makes its own ids); aliases
	// and the playgrounds' wildcard record (made by Pulumi's Cloudflare provider, which only a
	// real account could take) are left out, and with the wildcard the edge's playground
	// routing. The token is generated like every missing secret: Stack.Secret reads it, for the
	// double to accept. The address must be one of this machine's, so a copy never writes to a
	// real Cloudflare account.
	CloudflareAPI string
	// DNSSyncImage is the controller's image with CloudflareAPI; "" is LocalDNSSyncImage.
	DNSSyncImage string
	// LocalEdgeCertificate, with ExistingCluster, keeps the HTTPS of a stack whose edge has a
	// certificateSecret, with a certificate made here instead of the stack's (an Origin CA one
	// only Cloudflare could issue): the copy's certificate source becomes "stack", and a
	// self-signed certificate for every host the edge routes (and *.<playground domain>) and its
	// key are generated once into the work copy's secrets edge.TLS_CRT and edge.TLS_KEY, like
	// every missing secret (Stack.Secret reads the certificate, for a client to trust).
	// Without it the copy serves HTTP only.
	LocalEdgeCertificate bool
	// RenderTo, when set, retargets the stack's Kubernetes side like ExistingCluster, but at the
	// Kubernetes provider's render mode: an up writes every object as YAML into this folder and
	// contacts no cluster. Use a throwaway StateDir: the state then records objects that exist
	// nowhere.
	RenderTo string
	// Program is the inline program (the shoestring program: it reads its config with stacks.Load).
	Program pulumi.RunFunc
	// Plugins lists the resource plugins a configuration needs (the program knows what it creates).
	Plugins func(*stacks.Config) []Plugin
	// PulumiRoot is a folder whose bin/pulumi is the CLI; "" uses pulumi from PATH.
	PulumiRoot string
	// Progress receives the engine's progress as it goes; nil discards it.
	Progress io.Writer
}

// Stack is a prepared stack: config checked, plugins present, workspace ready.
type Stack struct {
	opts     Options
	stack    auto.Stack
	config   *stacks.Config
	workDir  string
	generate []string // secrets generated for this run's stack (config paths), reported once
}

// Open checks the stack's configuration (the same messages as preview, before anything is
// touched) and the plugins it needs, then prepares its local workspace and state.
func Open(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Program == nil {
		return nil, errors.New("engine: no program")
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	projectDir, err := filepath.Abs(opts.ProjectDir)
	if err != nil {
		return nil, err
	}
	opts.ProjectDir = projectDir
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(projectDir, ".state", "pulumi")
	}
	if opts.StateDir, err = filepath.Abs(opts.StateDir); err != nil {
		return nil, err
	}
	projectFile := filepath.Join(projectDir, stacks.ProjectFile)
	if _, err := os.Stat(projectFile); err != nil {
		return nil, fmt.Errorf("%s: not found in %s: run from the folder with %s, or pass --project", stacks.ProjectFile, projectDir, stacks.ProjectFile)
	}
	userFile := filepath.Join(projectDir, "Pulumi."+opts.Stack+".yaml")
	if _, err := os.Stat(userFile); err != nil {
		return nil, fmt.Errorf("Pulumi.%s.yaml: not found in %s: stack %q has no stack file; create it, or pick one of the project's stacks", opts.Stack, projectDir, opts.Stack)
	}

	if err := checkCloudflareAPI(&opts); err != nil {
		return nil, err
	}

	workDir := WorkDir(opts.StateDir, opts.Stack)
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, err
	}
	// The user's file as written, first: what only the file shows (a key given twice, the text of
	// a value YAML reads as a number, plain text next to encrypted secrets) is lost in the work
	// copy, and every problem of the file is reported in one run.
	// The same check as every command's: a stack on a GKE cluster must set every secret it refers
	// to. A copy retargeted at another cluster (ExistingCluster) is a local stack, whose missing
	// secrets are generated below.
	check := stacks.CheckStackFile
	if opts.ExistingCluster != "" {
		check = stacks.LoadStackFileWithPlaceholders
	}
	userCfg, _, err := check(userFile)
	if err != nil {
		var invalid stacks.Errors
		if opts.ExistingCluster != "" && errors.As(err, &invalid) {
			err = fmt.Errorf("%s: %w", filepath.Base(userFile), err)
		}
		return nil, err // the same message as every command's: it names the file
	}
	proj, err := workspace.LoadProject(projectFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", stacks.ProjectFile, err)
	}
	workFile := filepath.Join(workDir, "Pulumi."+opts.Stack+".yaml")
	if err := writeWorkFile(userFile, workFile, projectDir, retarget{kubeconfig: opts.ExistingCluster, renderTo: opts.RenderTo,
		cloudflare: opts.CloudflareAPI, dnssyncImage: opts.DNSSyncImage, localCertificate: opts.LocalEdgeCertificate,
		networkPolicy: userCfg.NetworkPolicy}, userCfg.SecretGroups()); err != nil {
		return nil, err
	}
	// The project file's shared configuration is part of the stack's: the check below reads it
	// beside the work copy, as the engine does (the workspace rewrites the file with the same
	// config when it is created).
	if err := copyFile(filepath.Join(projectDir, stacks.ProjectFile), filepath.Join(workDir, stacks.ProjectFile)); err != nil {
		return nil, err
	}
	// The configuration as the program will see it: invalid input stops here, before the engine
	// starts, with the messages preview gives. Missing secrets are the ones generated below.
	cfg, missing, err := stacks.LoadStackFileWithPlaceholders(workFile)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", opts.Stack, err)
	}
	if len(missing) > 0 && !cfg.GeneratesSecrets() && opts.RenderTo == "" {
		// Set in the user's file, but encrypted for a secrets provider this machine cannot read:
		// a value generated here would replace the real one on the real cluster.
		return nil, fmt.Errorf("stack %s: %s: set in %s but encrypted for a secrets provider this machine cannot read; run with that provider (PULUMI_CONFIG_PASSPHRASE, or the stack's secretsprovider), or retarget with --existing-cluster for a local copy",
			opts.Stack, strings.Join(missing, ", "), filepath.Base(userFile))
	}

	if err := clusterReachable(cfg); err != nil {
		return nil, err
	}

	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: opts.PulumiRoot, SkipVersionCheck: true})
	if err != nil {
		return nil, fmt.Errorf("finding the Pulumi CLI: %w (install it, or run scripts/tools.sh pulumi)", err)
	}
	env, err := LocalEnv(opts.StateDir)
	if err != nil {
		return nil, err
	}
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(workDir), auto.Program(opts.Program),
		auto.Project(workspace.Project{Name: proj.Name, Runtime: workspace.NewProjectRuntimeInfo("go", nil),
			Description: proj.Description, Config: proj.Config}),
		auto.Pulumi(cmd), auto.EnvVars(env))
	if err != nil {
		return nil, err
	}
	if opts.Plugins != nil {
		if err := checkPlugins(ctx, ws, opts.Stack, opts.Plugins(cfg)); err != nil {
			return nil, err
		}
	}
	if err := recoverLocks(opts.StateDir, proj.Name.String(), opts.Stack, opts.Progress); err != nil {
		return nil, err
	}
	st, err := auto.UpsertStack(ctx, opts.Stack, ws)
	if err != nil {
		return nil, fmt.Errorf("creating stack %s in %s: %w", opts.Stack, env["PULUMI_BACKEND_URL"], err)
	}
	s := &Stack{opts: opts, stack: st, config: cfg, workDir: workDir}
	if err := s.generateSecrets(ctx, missing); err != nil {
		return nil, err
	}
	return s, nil
}

// Config is the stack's checked configuration.
func (s *Stack) Config() *stacks.Config { return s.config }

// GeneratedSecrets are the secrets this Open generated (config paths such as
// shoestring:secrets.api.DB_PASSWORD); later runs reuse them.
func (s *Stack) GeneratedSecrets() []string { return s.generate }

// Name is the stack's name.
func (s *Stack) Name() string { return s.opts.Stack }

// WorkDir is the work folder of a local stack: Pulumi.yaml and the engine's copy of its stack file
// (what `pulumi config --stack S` run there reads, e.g. for a playground made from a local base).
func WorkDir(stateDir, stack string) string { return filepath.Join(stateDir, "work", stack) }

// LocalEnv is the CLI's environment for a local stack: the file backend and passphrase under
// stateDir, no update check, and no plugin download (a missing plugin is reported by Open instead
// of five failing download attempts). A passphrase the user set is kept.
func LocalEnv(stateDir string) (map[string]string, error) {
	backend := filepath.Join(stateDir, "backend")
	if err := os.MkdirAll(backend, 0o700); err != nil {
		return nil, err
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":                          "file://" + backend,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING":        "true",
	}
	if p, ok := os.LookupEnv("PULUMI_CONFIG_PASSPHRASE"); ok {
		env["PULUMI_CONFIG_PASSPHRASE"] = p
		return env, nil
	}
	if p := os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE"); p != "" {
		env["PULUMI_CONFIG_PASSPHRASE_FILE"] = p
		return env, nil
	}
	file, err := PassphraseFile(stateDir)
	if err != nil {
		return nil, err
	}
	env["PULUMI_CONFIG_PASSPHRASE_FILE"] = file
	return env, nil
}

// PassphraseFile is the local stacks' secrets passphrase (<stateDir>/passphrase), made on first
// use from 32 random bytes and readable by its owner only. Losing it loses the local stacks'
// secrets, nothing else: `make down` and a new `make up` start over.
func PassphraseFile(stateDir string) (string, error) {
	file := filepath.Join(stateDir, "passphrase")
	if _, err := os.Stat(file); err == nil {
		return file, nil
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if err := os.WriteFile(file, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return "", err
	}
	return file, nil
}

// checkPlugins fails at once, naming each missing plugin and what to do, instead of letting the
// engine fail on the first resource (or try to download).
func checkPlugins(ctx context.Context, ws auto.Workspace, stack string, need []Plugin) error {
	if len(need) == 0 {
		return nil
	}
	have, err := ws.ListPlugins(ctx)
	if err != nil {
		return fmt.Errorf("listing the installed Pulumi plugins: %w", err)
	}
	installed := map[string]bool{}
	for _, p := range have {
		if p.Kind == "resource" && p.Version != nil {
			installed[p.Name+"@"+p.Version.String()] = true
			installed[p.Name+"@"] = true
		}
	}
	var missing []string
	for _, p := range need {
		// An empty version (a binary without module information) accepts any installed one.
		if !installed[p.Name+"@"+p.Version] {
			missing = append(missing, strings.TrimSuffix(fmt.Sprintf("%s v%s", p.Name, p.Version), " v"))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &MissingPluginsError{Stack: stack, Missing: missing}
}

// MissingPluginsError names the resource plugins a stack needs that are not installed.
type MissingPluginsError struct {
	Stack   string
	Missing []string
}

func (e *MissingPluginsError) Error() string {
	var fixes []string
	for _, m := range e.Missing {
		name, version, _ := strings.Cut(m, " ")
		fixes = append(fixes, fmt.Sprintf("`pulumi plugin install resource %s %s`", name, version))
	}
	msg := fmt.Sprintf("stack %s needs the resource plugin(s) %s, which are not installed: install them with %s",
		e.Stack, strings.Join(e.Missing, ", "), strings.Join(fixes, " and "))
	if mentions(e.Missing, "kubernetes") {
		msg += "; the kubernetes plugin is built here by `scripts/tools.sh kubernetes-provider`"
	}
	if mentions(e.Missing, "gcp") || mentions(e.Missing, "cloudflare") {
		msg += "; where they cannot be downloaded, deploy the stack's Kubernetes side on an existing cluster with --existing-cluster KUBECONFIG"
	}
	return msg
}

func mentions(list []string, name string) bool {
	for _, m := range list {
		if strings.HasPrefix(m, name+" ") {
			return true
		}
	}
	return false
}

// secretPath turns shoestring:secrets.<group>.<NAME> into a config path whose parts may hold any
// character (groups such as dns-sync have dashes).
func secretPath(key string) string {
	rest := strings.TrimPrefix(key, stacks.Namespace+":secrets.")
	group, name, _ := strings.Cut(rest, ".")
	return fmt.Sprintf("%s:secrets[%q][%q]", stacks.Namespace, group, name)
}

// generateSecrets sets each missing secret to a random value, encrypted in the work folder's stack
// file (never the user's), so later runs keep it; a render, whose state is thrown away, sets
// SecretPlaceholder instead, so that two renders of the same files are the same bytes.
func (s *Stack) generateSecrets(ctx context.Context, missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	// Secrets of one sameSecrets set share the value generated for the first of them.
	setOf := map[string]int{}
	for i, set := range s.config.LocalDev.SameSecrets {
		for _, ref := range set {
			setOf[stacks.Namespace+":secrets."+ref] = i
		}
	}
	shared := map[int]string{}
	values := auto.ConfigMap{}
	crtKey := stacks.Namespace + ":secrets." + stacks.EdgeSecretGroup + "." + stacks.EdgeTLSCertificateName
	keyKey := stacks.Namespace + ":secrets." + stacks.EdgeSecretGroup + "." + stacks.EdgeTLSKeyName
	if s.opts.LocalEdgeCertificate && (slices.Contains(missing, crtKey) || slices.Contains(missing, keyKey)) {
		// A pair: one without the other matches nothing, so both are made again.
		crt, key, err := selfSignedCertificate(s.config.OriginCAHostnames())
		if err != nil {
			return fmt.Errorf("making the edge's local certificate for %s: %w", s.opts.Stack, err)
		}
		values[secretPath(crtKey)] = auto.ConfigValue{Value: crt, Secret: true}
		values[secretPath(keyKey)] = auto.ConfigValue{Value: key, Secret: true}
		missing = slices.DeleteFunc(slices.Clone(missing), func(k string) bool { return k == crtKey || k == keyKey })
		missing = append(missing, crtKey, keyKey)
		sort.Strings(missing)
	}
	for _, key := range missing {
		if _, set := values[secretPath(key)]; set {
			continue
		}
		value := stacks.SecretPlaceholder // a render deploys nothing: the same files on every run
		if s.opts.RenderTo == "" {
			b := make([]byte, 18)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			value = hex.EncodeToString(b)
		}
		if i, ok := setOf[key]; ok {
			if v, seen := shared[i]; seen {
				value = v
			}
			shared[i] = value
		}
		values[secretPath(key)] = auto.ConfigValue{Value: value, Secret: true}
	}
	if err := s.stack.SetAllConfigWithOptions(ctx, values, &auto.ConfigOptions{Path: true}); err != nil {
		return fmt.Errorf("setting generated secrets of %s: %w", s.opts.Stack, err)
	}
	s.generate = missing
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}
