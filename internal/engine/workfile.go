package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"

	"github.com/shoestring-dev/shoestring/stacks"
)

// retarget is where a run sends the stack's Kubernetes side instead of its own cluster: a
// kubeconfig (Options.ExistingCluster) or the provider's render mode (Options.RenderTo).
type retarget struct {
	kubeconfig, renderTo string
	// cloudflare, when set, keeps DNS sync on in the copy against this Cloudflare API (a
	// double), running dnssyncImage (see Options.CloudflareAPI).
	cloudflare, dnssyncImage string
	// localCertificate keeps the edge's HTTPS with a certificate made here (see
	// Options.LocalEdgeCertificate).
	localCertificate bool
	// networkPolicy is the stack's own, defaults resolved for its cluster: a render keeps it,
	// so the rendered policies are the ones the stack deploys (an existing cluster's defaults
	// are the local cluster's node ranges).
	networkPolicy stacks.NetworkPolicy
}

// existing is the cluster.existing value of the retargeted copy; nil when not retargeted.
func (r retarget) existing() (map[string]any, error) {
	key, path := "kubeconfig", r.kubeconfig
	if r.renderTo != "" {
		key, path = "renderTo", r.renderTo
	}
	if path == "" {
		return nil, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return map[string]any{key: abs}, nil
}

// stackFile is the part of a Pulumi.<stack>.yaml the work copy carries.
type stackFile struct {
	EncryptionSalt string         `json:"encryptionsalt,omitempty" yaml:"encryptionsalt"`
	Config         map[string]any `json:"config,omitempty" yaml:"config"`
}

// writeWorkFile writes the engine's copy of a stack file: the user's config as it is now (so an
// edit or a removed key takes effect), with
//   - the local passphrase's salt and the secrets generated earlier, from the previous copy (of
//     the secret groups the configuration still has: a removed service's are left behind);
//   - values encrypted for another secrets provider (a team's KMS key) left out, since this
//     passphrase cannot read them: they become missing secrets, generated locally;
//   - a relative cluster.existing.kubeconfig made absolute against the project folder, where the
//     user wrote it relative to (the engine and its providers run in the work folder);
//   - when retargeted, the cluster and Cloudflare keys replaced, and the edge's certificate left
//     out (see Options.ExistingCluster), or DNS sync pointed at a Cloudflare double
//     (Options.CloudflareAPI).
func writeWorkFile(userPath, workPath, projectDir string, to retarget, secretGroups []string) error {
	user, err := readStackFile(userPath)
	if err != nil {
		return err
	}
	prev, err := readStackFile(workPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out := stackFile{EncryptionSalt: prev.EncryptionSalt, Config: map[string]any{}}
	for k, v := range user.Config {
		if v, keep := withoutSecure(v); keep {
			out.Config[k] = v
		}
	}
	secretsKey := stacks.Namespace + ":secrets"
	if old, ok := prev.Config[secretsKey].(map[string]any); ok {
		merged, _ := out.Config[secretsKey].(map[string]any)
		if merged == nil {
			merged = map[string]any{}
		}
		for group, names := range old {
			names, ok := names.(map[string]any)
			if !ok || (secretGroups != nil && !slices.Contains(secretGroups, group)) {
				continue
			}
			m, _ := merged[group].(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			for name, v := range names {
				if _, set := m[name]; !set && isSecure(v) {
					m[name] = v
				}
			}
			if len(m) > 0 {
				merged[group] = m
			}
		}
		if len(merged) > 0 {
			out.Config[secretsKey] = merged
		}
	}

	clusterKey := stacks.Namespace + ":cluster"
	if existing, err := to.existing(); err != nil {
		return err
	} else if existing != nil {
		out.Config[clusterKey] = map[string]any{"mode": "existing", "existing": existing}
		dnssync, _ := out.Config[stacks.Namespace+":dnssync"].(map[string]any)
		if dnssync == nil {
			dnssync = map[string]any{}
		}
		dns, _ := out.Config[stacks.Namespace+":dns"].(map[string]any)
		if to.cloudflare != "" && dnssync["enabled"] == true {
			// The stack's own controller, from the stack's own settings, but writing to the
			// double: the zone is looked up by its name there (the double makes its own ids).
			dnssync["apiBaseUrl"] = to.cloudflare
			dnssync["image"] = to.dnssyncImage
			delete(dns, "zoneId")
			// The playgrounds' wildcard record is made by Pulumi's Cloudflare provider, like the
			// aliases, and only a real Cloudflare account could take it: the copy routes no
			// playgrounds rather than write it.
			if edge, ok := out.Config[stacks.Namespace+":edge"].(map[string]any); ok && inZone(edge, dns) {
				delete(edge, "playgrounds")
			}
		} else {
			dnssync["enabled"] = false
		}
		out.Config[stacks.Namespace+":dnssync"] = dnssync
		// Aliases are CNAMEs Pulumi makes through Cloudflare's provider, never the controller.
		delete(dns, "aliases")
		// The edge's certificate may come from Cloudflare's Origin CA: the copy serves HTTP only,
		// or HTTPS with a certificate made here (generated with the missing secrets).
		if edge, ok := out.Config[stacks.Namespace+":edge"].(map[string]any); ok {
			if secret, _ := edge["certificateSecret"].(string); secret != "" && to.localCertificate {
				edge["certificate"] = map[string]any{"source": stacks.CertificateStack}
			} else {
				delete(edge, "certificateSecret")
				delete(edge, "certificate")
			}
		}
		if to.renderTo != "" {
			np, _ := out.Config[stacks.Namespace+":networkPolicy"].(map[string]any)
			if np == nil {
				np = map[string]any{}
			}
			np["nodeCIDRs"] = to.networkPolicy.NodeCIDRs
			np["apiServer"] = map[string]any{"cidrs": to.networkPolicy.APIServer.CIDRs, "port": to.networkPolicy.APIServer.Port}
			out.Config[stacks.Namespace+":networkPolicy"] = np
		}
	}
	if cl, ok := out.Config[clusterKey].(map[string]any); ok {
		if ex, ok := cl["existing"].(map[string]any); ok {
			if p, ok := ex["kubeconfig"].(string); ok && p != "" && !filepath.IsAbs(p) && p[0] != '~' {
				ex["kubeconfig"] = filepath.Join(projectDir, p)
			}
		}
	}

	b, err := yaml.Marshal(out)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# Written by shoestring from %s for the local engine: edit that file, not this one.\n", userPath)
	return os.WriteFile(workPath, append([]byte(header), b...), 0o600)
}

// inZone reports whether the edge's playground domain is in the DNS zone (the program then makes
// the playgrounds' wildcard record, stacks.Config.PlaygroundWildcard).
func inZone(edge, dns map[string]any) bool {
	pg, _ := edge["playgrounds"].(map[string]any)
	domain, _ := pg["domain"].(string)
	zone, _ := dns["zone"].(string)
	domain, zone = strings.ToLower(strings.TrimSuffix(domain, ".")), strings.ToLower(strings.TrimSuffix(zone, "."))
	return domain != "" && zone != "" && (domain == zone || strings.HasSuffix(domain, "."+zone))
}

func readStackFile(path string) (stackFile, error) {
	var f stackFile
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	// Read as the engine reads it (yaml.v3, YAML 1.2): a YAML 1.1 reader would turn an unquoted NO
	// or on into a boolean in the copy the engine runs with.
	if err := yamlv3.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func isSecure(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	_, ok = m["secure"]
	return ok
}

// withoutSecure drops every {secure: ...} value (reporting false when nothing is left).
func withoutSecure(v any) (any, bool) {
	if isSecure(v) {
		return nil, false
	}
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, item := range t {
			if item, keep := withoutSecure(item); keep {
				out[k] = item
			}
		}
		if len(out) == 0 && len(t) > 0 {
			return nil, false
		}
		return out, true
	case []any:
		out := make([]any, 0, len(t))
		for _, item := range t {
			if item, keep := withoutSecure(item); keep {
				out = append(out, item)
			}
		}
		return out, true
	}
	return v, true
}
