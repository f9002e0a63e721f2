package program

import (
	"runtime/debug"
	"strings"

	"github.com/shoestring-dev/shoestring/stacks"
)

// Plugin is a resource plugin the program needs for a configuration: the engine loads the plugin
// whose version is the version of the provider's SDK module this program is built with.
type Plugin struct {
	Name    string
	Version string // without "v", as `pulumi plugin ls` shows it
}

var sdkModules = map[string]string{
	"kubernetes": "github.com/pulumi/pulumi-kubernetes/sdk/v4",
	"gcp":        "github.com/pulumi/pulumi-gcp/sdk/v7",
	"cloudflare": "github.com/pulumi/pulumi-cloudflare/sdk/v5",
}

// Plugins lists what Deploy will register for cfg: the Kubernetes provider always, GCP for a GKE
// cluster, Cloudflare for the DNS-sync alias records (the playgrounds' wildcard among them, as
// DNSSyncArgs makes them) and the edge's Origin CA certificate.
func Plugins(cfg *stacks.Config) []Plugin {
	names := []string{"kubernetes"}
	if cfg.Cluster.Mode == stacks.ClusterModeGKE {
		names = append(names, "gcp")
	}
	aliases := cfg.DNSSync.Enabled && (len(cfg.DNS.FullAliases()) > 0 || cfg.PlaygroundWildcard() != "")
	originCA := cfg.Edge.CertificateSecret != "" && cfg.Edge.Certificate.Source == stacks.CertificateOriginCA
	if (aliases || originCA) && !cfg.Playground.IsPlayground() {
		names = append(names, "cloudflare")
	}
	out := make([]Plugin, 0, len(names))
	for _, n := range names {
		out = append(out, Plugin{Name: n, Version: sdkVersion(sdkModules[n])})
	}
	return out
}

// sdkVersion is the version of a module linked into this binary ("" if it is not).
func sdkVersion(module string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == module {
			if d.Replace != nil {
				d = d.Replace
			}
			return strings.TrimPrefix(d.Version, "v")
		}
	}
	return ""
}
