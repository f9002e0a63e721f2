package playground

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
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
	Name       Name
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
	keyEdge       = "shoestring:edge"
	keyBacking    = "shoestring:backing"
	keyDevMode    = "shoestring:devMode"
	keyPodSec     = "shoestring:podSecurity"
)

// StackConfig derives a playground stack's config from its base stack's (both in the
// `pulumi config --json` format): the same values (secrets stay secrets), except that it deploys
// only the changed services and the gateway, into its own namespace, on the base stack's cluster
// reached through a kubeconfig, with the playground's branch, base namespace and creation time
// recorded. It returns the deployed services too.
func StackConfig(base map[string]ConfigEntry, spec Spec) (map[string]ConfigEntry, []string, error) {
	out := make(map[string]ConfigEntry, len(base))
	for k, v := range base {
		out[k] = v
	}
	baseNS := "default"
	if e, ok := base[keyNamespace]; ok && e.Value != nil {
		baseNS = *e.Value
	}
	pg := map[string]any{}
	if e, ok := base[keyPlayground]; ok {
		m, ok := e.ObjectValue.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("%s of the base stack is not a mapping", keyPlayground)
		}
		for k, v := range m {
			pg[k] = v
		}
	}
	if b, ok := pg["branch"].(string); ok && b != "" {
		return nil, nil, fmt.Errorf("the base stack is itself a playground (of branch %s): make playgrounds from sandbox-like stacks", b)
	}
	// The gateway is the edge's (shoestring:edge.playgrounds.gatewayService): what it routes
	// <feature>.<domain> to.
	gateway := "gateway"
	if e, ok := base[keyEdge]; ok {
		if edge, ok := e.ObjectValue.(map[string]any); ok {
			if pgs, ok := edge["playgrounds"].(map[string]any); ok {
				if g, ok := pgs["gatewayService"].(string); ok && g != "" {
					gateway = g
				}
			}
		}
	}

	var services []map[string]any
	if e, ok := base[keyServices]; ok {
		list, ok := e.ObjectValue.([]any)
		if !ok {
			return nil, nil, fmt.Errorf("%s of the base stack is not a list", keyServices)
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("%s[%d] of the base stack is not a mapping", keyServices, i)
			}
			services = append(services, m)
		}
	}
	var all []string
	for _, s := range services {
		name, _ := s["name"].(string)
		all = append(all, name)
	}
	keep, err := Services(all, spec.Changed, gateway)
	if err != nil {
		return nil, nil, err
	}
	for svc := range spec.Images {
		if !slices.Contains(keep, svc) {
			return nil, nil, fmt.Errorf("--image for %q: the playground does not deploy it (deployed: %v); list it as changed", svc, keep)
		}
	}
	var kept []any
	for _, s := range services {
		name, _ := s["name"].(string)
		if !slices.Contains(keep, name) {
			continue
		}
		if img, ok := spec.Images[name]; ok {
			c := map[string]any{}
			for k, v := range s {
				c[k] = v
			}
			c["image"] = img
			s = c
		}
		kept = append(kept, s)
	}

	pg["branch"] = spec.Name.Branch
	pg["baseNamespace"] = baseNS
	pg["created"] = spec.Created.UTC().Format(time.RFC3339)
	if err := setObject(out, keyPlayground, pg); err != nil {
		return nil, nil, err
	}
	if err := setObject(out, keyServices, kept); err != nil {
		return nil, nil, err
	}
	if err := shareBacking(out, base, baseNS); err != nil {
		return nil, nil, err
	}
	if err := devMode(out, base, spec.DevMode, keep); err != nil {
		return nil, nil, err
	}
	ns := spec.Name.Namespace
	out[keyNamespace] = ConfigEntry{Value: &ns}
	cluster := map[string]any{"mode": "existing", "existing": map[string]any{"kubeconfig": spec.Kubeconfig}}
	if err := setObject(out, keyCluster, cluster); err != nil {
		return nil, nil, err
	}
	return out, keep, nil
}

// devMode turns dev mode on for the given services of a playground. The base stack decides whether
// dev mode is allowed at all (devMode.allowed), and its developers' keys apply. The SSH sidecar runs
// as root, so a playground with dev mode enforces the "baseline" Pod Security level where its base
// enforces "restricted" (warn and audit stay as they are).
func devMode(out, base map[string]ConfigEntry, services, deployed []string) error {
	if len(services) == 0 {
		return nil
	}
	dm := map[string]any{}
	if e, ok := base[keyDevMode]; ok {
		if m, ok := e.ObjectValue.(map[string]any); ok {
			for k, v := range m {
				dm[k] = v
			}
		}
	}
	if allowed, _ := dm["allowed"].(bool); !allowed {
		return fmt.Errorf("--dev-mode: the base stack does not allow dev mode (shoestring:devMode.allowed is not true in it)")
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
	if err := setObject(out, keyDevMode, dm); err != nil {
		return err
	}
	ps := map[string]any{}
	if e, ok := base[keyPodSec]; ok {
		if m, ok := e.ObjectValue.(map[string]any); ok {
			for k, v := range m {
				ps[k] = v
			}
		}
	}
	if enforce, _ := ps["enforce"].(string); enforce == "" || enforce == "restricted" {
		ps["enforce"] = "baseline"
		return setObject(out, keyPodSec, ps)
	}
	return nil
}

// shareBacking makes a playground use its base's databases and caches instead of deploying its own:
// each in-cluster backing service becomes an external one whose host is the base namespace's Service, so the playground's pods, their
// wait-for containers and their configuration reach it under the same short name.
func shareBacking(out, base map[string]ConfigEntry, baseNS string) error {
	e, ok := base[keyBacking]
	if !ok {
		return nil
	}
	list, ok := e.ObjectValue.([]any)
	if !ok {
		return fmt.Errorf("%s of the base stack is not a list", keyBacking)
	}
	domain := "cluster.local"
	if edge, ok := base[keyEdge]; ok {
		if m, ok := edge.ObjectValue.(map[string]any); ok {
			if d, ok := m["clusterDomain"].(string); ok && d != "" {
				domain = d
			}
		}
	}
	var shared []any
	for i, item := range list {
		b, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("%s[%d] of the base stack is not a mapping", keyBacking, i)
		}
		if mode, _ := b["mode"].(string); mode == "external" {
			shared = append(shared, b)
			continue
		}
		name, _ := b["name"].(string)
		ext := map[string]any{"name": name, "engine": b["engine"], "mode": "external", "host": name + "." + baseNS + ".svc." + domain}
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
