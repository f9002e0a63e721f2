// Package stacks is the typed configuration of a shoestring stack: its schema, defaults and
// validation. It is the only package that reads Pulumi config; everything else receives a *Config.
// Environments (dev, sandbox, prod, playgrounds) differ only in the values loaded here.
package stacks

//go:generate go run ../internal/configdoc -root ..

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Namespace is the Pulumi config namespace of every key the program reads ("shoestring:cluster").
const Namespace = "shoestring"

// Config is everything a stack may say. Each section is an embedded struct declared in its own file,
// whose fields carry `config:"key"` tags naming top-level keys under Namespace.
type Config struct {
	ClusterConfig
	WorkloadsConfig
	EdgeConfig
	DNSConfig
	DevConfig
	BillingConfig
	NetworkPolicyConfig

	// Warnings are what Parse found worth a word but not wrong (a secret-looking name under plain
	// env): Load logs them with ctx.Log.Warn, tools print them. Empty when Parse failed.
	Warnings []FieldError `config:"-"`
}

// section is implemented by each embedded part of Config.
type section interface {
	// defaults sets the values used where the stack says nothing.
	defaults()
	// checkAndFillDefaults validates the section once all of Config is decoded (it may look at
	// other sections) and fills the defaults that depend on other values, such as those of list
	// items (a service's replicas, a backing service's port from its engine).
	checkAndFillDefaults(c *Config) []FieldError
}

func (c *Config) sections() []section {
	return []section{&c.ClusterConfig, &c.WorkloadsConfig, &c.EdgeConfig, &c.DNSConfig, &c.DevConfig, &c.BillingConfig, &c.NetworkPolicyConfig}
}

// Default returns the configuration of a stack whose config file is empty.
func Default() *Config {
	c := &Config{}
	for _, s := range c.sections() {
		s.defaults()
	}
	return c
}

// Parse builds a Config from raw Pulumi config (full keys such as "shoestring:cluster" mapped to their
// values; structured values as JSON, the way the engine passes them) and the list of keys that are
// secret. Keys of other namespaces (gcp:, kubernetes:, ...) belong to providers and are ignored,
// unless their namespace looks like a typo of shoestring. Every problem is reported, not only the
// first: the value checks run on whatever decoded, so a mistyped key hides nothing. What deserves
// a word but is not wrong is in the Config's Warnings.
func Parse(raw map[string]string, secretKeys []string) (*Config, error) {
	c, errs := parse(raw, secretKeys, nil)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// schemaKeys are the top-level keys the schema defines under Namespace ("cluster", "services"...),
// sorted; shoestring:overrides, which is merged before decoding, is not one of them.
func schemaKeys() []string {
	return slices.Sorted(maps.Keys(fieldsByKey(reflect.TypeOf(Config{}))))
}

// parse is Parse with what a stack file shows besides the values: the text of scalars YAML does
// not read as text, and the problems only the file has (f may be nil). The Config is returned
// even with errors, for callers that need what did decode.
func parse(raw map[string]string, secretKeys []string, f *stackFile) (*Config, Errors) {
	c := Default()
	fields := fieldsByKey(reflect.TypeOf(*c))
	root := reflect.ValueOf(c).Elem()
	d := decoder{}
	var errs Errors
	if f != nil {
		d.written = f.written
		errs = append(errs, f.problems...)
	}
	var accepted []string
	for _, k := range append(schemaKeys(), OverridesKey, ReplaceKey) {
		accepted = append(accepted, Namespace+":"+k)
	}
	slices.Sort(accepted)
	replace, replaceErrs := replaceList(raw)
	errs = append(errs, replaceErrs...)
	raw, merged := applyOverrides(raw, secretKeys, replace)
	errs = append(errs, merged.errs...)
	if f != nil {
		errs = append(errs, checkReplaced(f.own, f.shared, replace, merged.whole)...)
		d.written = movedPaths(f.written, merged.moved)
		f.shiftedLists = merged.shifted
	}
	raw = maps.Clone(raw)
	delete(raw, Namespace+":"+ReplaceKey)
	for _, full := range slices.Sorted(maps.Keys(raw)) {
		ns, key, ok := strings.Cut(full, ":")
		if !ok || ns != Namespace {
			if ok && looksLikeNamespace(ns) {
				errs = append(errs, namespaceTypo(full, key, accepted))
			}
			continue
		}
		idx, known := fields[key]
		if !known {
			errs = append(errs, unknownKey(full, full, accepted))
			continue
		}
		dst := root.FieldByIndex(idx)
		if containsSecret(dst.Type()) && f != nil && f.own[full] == nil && f.shared[full] != nil {
			continue // Pulumi.yaml's: refused there (perStackKeysShared), not to be moved to a stack file
		}
		if containsSecret(dst.Type()) && !slices.Contains(secretKeys, full) {
			errs = append(errs, FieldError{Key: full, Problem: "holds secrets but is stored in plain text",
				Fix: fmt.Sprintf("remove it from the stack file and set each value with `pulumi config set --secret --path '%s.<name>' <value>`", key)})
			continue
		}
		var src any = raw[full]
		if k := dst.Kind(); k == reflect.Struct || k == reflect.Map || k == reflect.Slice {
			if err := json.Unmarshal([]byte(raw[full]), &src); err != nil {
				errs = append(errs, FieldError{Key: full, Value: raw[full], Problem: "is not a structured value",
					Fix: "write it as a YAML mapping or list in the stack file"})
				continue
			}
		}
		errs = append(errs, d.decode(full, src, dst)...)
	}
	// The value checks run on what decoded; a check of a value that did not decode (or of
	// anything inside it) would only repeat its problem, so it is left out.
	failed := slices.Clone(errs)
	for _, s := range c.sections() {
		for _, e := range s.checkAndFillDefaults(c) {
			if !under(e.Key, failed) {
				errs = append(errs, e)
			}
		}
	}
	for _, e := range c.checkAcrossSections(raw) {
		if !under(e.Key, failed) {
			errs = append(errs, e)
		}
	}
	// Warnings also come with a config that has errors, for a caller that turns some of them
	// into warnings (parseAllowingExamples).
	c.Warnings = append(c.secretLookingEnv(), c.networkPolicyWarnings()...)
	if f != nil {
		c.Warnings = f.locate(c.Warnings, merged.moved)
		errs = f.locate(errs, merged.moved)
	}
	if len(errs) > 0 {
		return c, errs.sorted()
	}
	return c, nil
}

// under says whether key is one of the failed keys or inside one.
func under(key string, failed Errors) bool {
	for _, f := range failed {
		if key == f.Key || strings.HasPrefix(key, f.Key+".") || strings.HasPrefix(key, f.Key+"[") {
			return true
		}
	}
	return false
}

// Load reads the current stack's configuration from the engine, the same way under every launcher
// (the Go language host, an Automation API inline program, mocks): every key the schema defines is
// read through ctx, which holds the config the engine sent with the run. The engine has no call that
// lists the keys a stack sets, so keys the schema does not know (typos) are found in the list the
// language host also passes in PULUMI_CONFIG when there is one; launchers without it (the inline
// programs of internal/engine) check the stack file with LoadStackFile before the engine runs.
//
// What only the file shows (a key given twice, the text of a value YAML reads as a number, plain
// text next to encrypted values under shoestring:secrets) is lost in what the engine sends, so
// under the bare language host (`pulumi preview`) those checks are not made: a number where text
// belongs is still refused, by its value; `shoestring` commands and tools check the file itself.
func Load(ctx *pulumi.Context) (*Config, error) {
	keys := map[string]bool{}
	for _, name := range append(schemaKeys(), OverridesKey, ReplaceKey) {
		keys[Namespace+":"+name] = true
	}
	if env := os.Getenv("PULUMI_CONFIG"); env != "" {
		var all map[string]string
		if err := json.Unmarshal([]byte(env), &all); err != nil {
			return nil, fmt.Errorf("reading PULUMI_CONFIG: %w", err)
		}
		for k := range all {
			keys[k] = true
		}
	}
	raw := map[string]string{}
	var secret []string
	for k := range keys {
		v, ok := ctx.GetConfig(k)
		if !ok {
			continue
		}
		raw[k] = v
		if ctx.IsConfigSecret(k) {
			secret = append(secret, k)
		}
	}
	cfg, err := Parse(raw, secret)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		_ = ctx.Log.Warn("stack configuration: "+w.Error(), nil)
	}
	return cfg, nil
}

// Secret is a config value that must stay a Pulumi secret. It prints as [secret], so it cannot leak
// through logs or error messages, and reaches resources only through Output, which marks it secret.
type Secret struct{ value string }

// NewSecret wraps a value, for tests and for tools that read secrets from elsewhere.
func NewSecret(v string) Secret { return Secret{value: v} }

func (s *Secret) UnmarshalText(b []byte) error { s.value = string(b); return nil }

func (s Secret) String() string { return "[secret]" }

// Output is the value as a Pulumi secret.
func (s Secret) Output() pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(s.value)).(pulumi.StringOutput)
}

// Reveal returns the plain value; only code that must hash or compare a secret calls it.
func (s Secret) Reveal() string { return s.value }

var secretType = reflect.TypeOf(Secret{})

func containsSecret(t reflect.Type) bool {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type) bool
	walk = func(t reflect.Type) bool {
		if t == secretType {
			return true
		}
		if seen[t] {
			return false
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			return walk(t.Elem())
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				if walk(t.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	return walk(t)
}
