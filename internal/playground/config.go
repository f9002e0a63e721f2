package playground

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shoestring-dev/shoestring/stacks"
)

// ConfigEntry is one key of `pulumi config --json` (the format `pulumi config set-all --json`
// reads back): the value as a string, the parsed object for structured values, and whether it is
// a secret.
type ConfigEntry struct {
	Value       *string `json:"value"`
	ObjectValue any     `json:"objectValue,omitempty"`
	Secret      bool    `json:"secret"`
}

// Spec is what `shoestring playground up` was asked for.
type Spec struct {
	Name       stacks.PlaygroundName
	Changed    []string          // services the branch changes
	Images     map[string]string // service -> image built from the branch (others keep the base's)
	Kubeconfig string            // kubeconfig of the base stack's cluster
	Created    time.Time
	// DevMode lists services to run in dev mode, as "name" or "name:/code/path" (they must be
	// deployed, and the base stack must allow dev mode).
	DevMode []string
}

// Config keys the playground stack's config is built around (see stacks/).
const (
	keyServices   = "shoestring:services"
	keyNamespace  = "shoestring:namespace"
	keyPlayground = "shoestring:playground"
	keyCluster    = "shoestring:cluster"
	keyBacking    = "shoestring:backing"
	keyDevMode    = "shoestring:devMode"
	keySecrets    = "shoestring:secrets"
)

// StackConfig derives a playground stack's config from its base stack's (both in the
// `pulumi config --json` format): the same values (secrets stay secrets), except that it deploys
// only the changed services and the gateway, into its own namespace, on the base stack's cluster
// reached through a kubeconfig, with the playground's branch, base namespace and creation time
// recorded. It returns the deployed services too.
//
// Every decision reads the base through stacks.Parse, so defaults (the gateway service, the
// namespace, the cluster domain, a backing service's mode) are the schema's; the output edits the
// base's own entries, so the playground's file says only what the base said plus what differs.
func StackConfig(base map[string]ConfigEntry, spec Spec) (map[string]ConfigEntry, []string, error) {
	if b := recordedBranch(base); b != "" {
		return nil, nil, fmt.Errorf("the base stack is itself a playground (of branch %s): make playgrounds from sandbox-like stacks", b)
	}
	base, err := resolveOverrides(base)
	if err != nil {
		return nil, nil, fmt.Errorf("the base stack's config: %w", err)
	}
	cfg, _, err := stacks.ParseWithPlaceholders(parseable(base))
	if err != nil {
		return nil, nil, fmt.Errorf("the base stack's config: %w", err)
	}
	out := make(map[string]ConfigEntry, len(base))
	for k, v := range base {
		out[k] = v
	}
	var all []string
	for _, s := range cfg.Services {
		all = append(all, s.Name)
	}
	gateways := cfg.Edge.Playgrounds.GatewayServices
	if len(gateways) == 0 {
		gateways = []string{cfg.Edge.Playgrounds.GatewayService}
	}
	keep, err := Services(all, spec.Changed, gateways...)
	if err != nil {
		return nil, nil, err
	}
	for svc := range spec.Images {
		if !slices.Contains(keep, svc) {
			return nil, nil, fmt.Errorf("--image for %q: the playground does not deploy it (deployed: %v); list it as changed", svc, keep)
		}
	}
	rawServices, err := objectList(base, keyServices)
	if err != nil {
		return nil, nil, err
	}
	var kept []any
	for i, s := range rawServices {
		name := cfg.Services[i].Name
		if !slices.Contains(keep, name) {
			continue
		}
		if img, ok := spec.Images[name]; ok {
			c := maps.Clone(s)
			c["image"] = img
			s = c
		}
		kept = append(kept, s)
	}

	pg, err := object(base, keyPlayground)
	if err != nil {
		return nil, nil, err
	}
	pg["branch"] = spec.Name.Branch
	pg["baseNamespace"] = cfg.Namespace
	pg["created"] = spec.Created.UTC().Format(time.RFC3339)
	if err := setObject(out, keyPlayground, pg); err != nil {
		return nil, nil, err
	}
	if err := setObject(out, keyServices, kept); err != nil {
		return nil, nil, err
	}
	if err := shareBacking(out, base, cfg); err != nil {
		return nil, nil, err
	}
	if err := devMode(out, base, cfg, spec.DevMode, keep); err != nil {
		return nil, nil, err
	}
	ns := spec.Name.Namespace
	out[keyNamespace] = ConfigEntry{Value: &ns}
	cluster := map[string]any{"mode": stacks.ClusterModeExisting, "existing": map[string]any{"kubeconfig": spec.Kubeconfig}}
	if err := setObject(out, keyCluster, cluster); err != nil {
		return nil, nil, err
	}
	if err := keepUsedSecrets(out, cfg, keep); err != nil {
		return nil, nil, err
	}
	return out, keep, nil
}

// keepUsedSecrets drops the base's secret groups the playground does not read: those of services
// it does not deploy, of the backing services it shares with the base (the base runs them), and the
// edge's and the DNS-sync controller's (a playground deploys neither), so that the Cloudflare
// tokens and the edge's key stay in the base stack alone. base is the base's parsed config.
func keepUsedSecrets(cfg map[string]ConfigEntry, base *stacks.Config, deployed []string) error {
	e, ok := cfg[keySecrets]
	if !ok {
		return nil
	}
	groups, _ := e.ObjectValue.(map[string]any)
	if groups == nil && e.Value != nil {
		if err := json.Unmarshal([]byte(*e.Value), &groups); err != nil {
			return fmt.Errorf("%s of the base stack is not a mapping: %w", keySecrets, err)
		}
	}
	used := slices.Clone(deployed)
	readsSecrets := len(base.CommonSecretEnv) > 0
	for _, s := range base.Services {
		if slices.Contains(deployed, s.Name) && len(s.SecretEnv) > 0 {
			readsSecrets = true
		}
	}
	if len(base.CommonSecretEnv) > 0 {
		used = append(used, stacks.CommonSecretGroup)
	}
	if base.Registry.IsSet() {
		used = append(used, stacks.RegistrySecretGroup)
	}
	if readsSecrets {
		used = append(used, stacks.ChecksumSecretGroup)
	}
	kept := map[string]any{}
	for g, v := range groups {
		if slices.Contains(used, g) {
			kept[g] = v
		}
	}
	if len(kept) == 0 {
		delete(cfg, keySecrets)
		return nil
	}
	return setObject(cfg, keySecrets, kept)
}

// recordedBranch is the playground branch a stack's config records ("" in a base stack). It is
// looked at before parsing: a playground's config is valid only in its own namespace, and "this is
// a playground" is the clearer message.
func recordedBranch(cfg map[string]ConfigEntry) string {
	m, _ := cfg[keyPlayground].ObjectValue.(map[string]any)
	b, _ := m["branch"].(string)
	return b
}

// parseable is a `pulumi config --json` config in the form stacks.Parse reads: structured values
// as the JSON of their parsed object, and the keys that hold secrets.
func parseable(cfg map[string]ConfigEntry) (raw map[string]string, secretKeys []string) {
	raw = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		e := cfg[k]
		if e.ObjectValue != nil || e.Value != nil {
			raw[k] = parseableValue(e)
		}
		if e.Secret {
			secretKeys = append(secretKeys, k)
		}
	}
	return raw, secretKeys
}

// parseableValue is an entry's value as the engine passes it: JSON for structured values.
func parseableValue(e ConfigEntry) string {
	switch {
	case e.ObjectValue != nil:
		b, _ := json.Marshal(e.ObjectValue) // decoded from JSON, so it encodes
		return string(b)
	case e.Value != nil:
		return *e.Value
	}
	return ""
}

// object is a copy of the base's mapping under key (empty when the base does not set it).
func object(base map[string]ConfigEntry, key string) (map[string]any, error) {
	e, ok := base[key]
	if !ok || e.ObjectValue == nil {
		return map[string]any{}, nil
	}
	m, ok := e.ObjectValue.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s of the base stack is not a mapping", key)
	}
	return maps.Clone(m), nil
}

// objectList is the base's list of mappings under key, in order (stacks.Parse accepted it, so
// the items line up with the typed list).
func objectList(base map[string]ConfigEntry, key string) ([]map[string]any, error) {
	e, ok := base[key]
	if !ok || e.ObjectValue == nil {
		return nil, nil
	}
	list, ok := e.ObjectValue.([]any)
	if !ok {
		return nil, fmt.Errorf("%s of the base stack is not a list", key)
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s[%d] of the base stack is not a mapping", key, i)
		}
		out[i] = m
	}
	return out, nil
}

// devMode turns dev mode on for the given services of a playground. The base stack decides whether
// dev mode is allowed at all (devMode.allowed), and its developers' keys apply. The SSH sidecar runs
// as the developer's uid with no capabilities, so the base's Pod Security level stays as it is.
func devMode(out, base map[string]ConfigEntry, cfg *stacks.Config, services, deployed []string) error {
	if len(services) == 0 {
		return nil
	}
	if !cfg.DevMode.Allowed {
		return fmt.Errorf("--dev-mode: the base stack does not allow dev mode (shoestring:devMode.allowed is not true in it)")
	}
	dm, err := object(base, keyDevMode)
	if err != nil {
		return err
	}
	var list []any
	for _, item := range services {
		s, codePath, _ := strings.Cut(item, ":") // service or service:/code/path
		if !slices.Contains(deployed, s) {
			return fmt.Errorf("--dev-mode %s: the playground does not deploy it (deployed: %v)", s, deployed)
		}
		entry := map[string]any{"name": s}
		if codePath != "" {
			entry["codePath"] = codePath
		}
		list = append(list, entry)
	}
	dm["services"] = list
	return setObject(out, keyDevMode, dm)
}

// shareBacking makes a playground use its base's databases and caches instead of deploying its own:
// each in-cluster backing service becomes an external one whose host is the base namespace's
// Service, so the playground's pods, their wait-for containers and their configuration reach it
// under the same short name.
func shareBacking(out, base map[string]ConfigEntry, cfg *stacks.Config) error {
	list, err := objectList(base, keyBacking)
	if err != nil || list == nil {
		return err
	}
	var shared []any
	for i, b := range list {
		typed := cfg.Backing[i]
		if typed.Mode == stacks.BackingExternal {
			shared = append(shared, b)
			continue
		}
		ext := map[string]any{"name": typed.Name, "engine": b["engine"], "mode": stacks.BackingExternal,
			"host": typed.Name + "." + cfg.Namespace + ".svc." + cfg.Edge.ClusterDomain}
		if port, ok := b["port"]; ok {
			ext["port"] = port
		}
		shared = append(shared, ext)
	}
	return setObject(out, keyBacking, shared)
}

func setObject(cfg map[string]ConfigEntry, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	// Round-trip so ObjectValue holds plain JSON types, as `pulumi config --json` would.
	var obj any
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	s := string(b)
	cfg[key] = ConfigEntry{Value: &s, ObjectValue: obj, Secret: cfg[key].Secret}
	return nil
}

// RawConfig is a config in the form stacks.Parse reads: each key's value (structured values as
// JSON) and the keys that hold secrets.
func RawConfig(cfg map[string]ConfigEntry) (raw map[string]string, secretKeys []string) {
	raw = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		if v := cfg[k].Value; v != nil {
			raw[k] = *v
		}
		if cfg[k].Secret {
			secretKeys = append(secretKeys, k)
		}
	}
	return raw, secretKeys
}

// resolveOverrides merges the base stack's shoestring:overrides into the values they change, so the
// playground is derived from what the base deploys (a playground's own service list would otherwise
// meet overrides naming services it leaves out).
func resolveOverrides(base map[string]ConfigEntry) (map[string]ConfigEntry, error) {
	if _, ok := base[stacks.Namespace+":"+stacks.OverridesKey]; !ok {
		return base, nil
	}
	resolved, err := stacks.ResolveOverrides(parseable(base))
	if err != nil {
		return nil, err
	}
	out := make(map[string]ConfigEntry, len(resolved))
	for k, v := range resolved {
		e := base[k]
		if v != parseableValue(e) {
			e = ConfigEntry{Value: &v, Secret: e.Secret}
			var object any
			if json.Unmarshal([]byte(v), &object) == nil {
				switch object.(type) {
				case map[string]any, []any:
					e.ObjectValue = object // as `pulumi config --json` gives structured values
				}
			}
		}
		out[k] = e
	}
	return out, nil
}
