package stacks

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/shoestring-dev/shoestring/internal/dnssync/grammar"
)

// DNSConfig is the Cloudflare name the DNS-sync controller keeps pointed at the nodes:
// `shoestring:dns` says which records, `shoestring:dnssync` how the controller runs. The API token
// is the secret `shoestring:secrets.dns-sync.CLOUDFLARE_API_TOKEN`.
type DNSConfig struct {
	DNS     DNS     `config:"dns"`
	DNSSync DNSSync `config:"dnssync"`
}

// DNS is the `shoestring:dns` key.
type DNS struct {
	// ZoneID is the Cloudflare zone's id; Zone its name (the records' suffix). Zone is required,
	// ZoneID optional (without it the controller looks the zone up by name, one request at start).
	ZoneID string `json:"zoneId"`
	Zone   string `json:"zone"`
	// Name is the fully qualified name whose A/AAAA records follow the nodes, e.g. k.example.com.
	Name string `json:"name"`
	// Aliases become CNAME records to Name (e.g. www.example.com), made by Pulumi, not the
	// controller; a relative alias ("www") is completed with Zone.
	Aliases []string `json:"aliases"`
	// TTL of the node records and aliases in seconds, 60-86400, or 1 for automatic.
	TTL int `json:"ttl"`
	// Proxied sends the records' traffic through Cloudflare's proxy (orange cloud).
	Proxied bool `json:"proxied"`
	// AdvancedCertificate says the zone has a Cloudflare certificate (Advanced Certificate Manager
	// or Total TLS) for proxied names more than one label below the zone. Without it (the free
	// plan's Universal SSL covers only the zone and *.zone), such proxied names are refused.
	AdvancedCertificate bool `json:"advancedCertificate"`
	// OwnerID marks the controller's records (in their comment); two clusters sharing a zone need
	// two owner ids. Default: the cluster name.
	OwnerID string `json:"ownerId"`
}

// DNSSync is the `shoestring:dnssync` key: the controller's Deployment.
type DNSSync struct {
	// Enabled deploys the DNS-sync controller.
	Enabled bool `json:"enabled"`
	// Image of the controller (built from cmd/dnssync/Dockerfile).
	Image string `json:"image"`
	// Namespace is the controller's own namespace.
	Namespace string `json:"namespace"`
	// Replicas above 1 turn on leader election (a Lease), so only one writes.
	Replicas int `json:"replicas"`
	// NodeSelector is a label selector of the nodes to publish (empty: all).
	NodeSelector string `json:"nodeSelector"`
	// InternalIPFallback publishes a node's InternalIP when it has no ExternalIP.
	InternalIPFallback bool `json:"internalIpFallback"`
	// Resync is how often the records are listed again to repair drift (Go duration, >= 1m).
	Resync string `json:"resync"`
	// DryRun logs the changes the controller would make and makes none.
	DryRun bool `json:"dryRun"`
	// APIBaseURL overrides Cloudflare's API address (a test double); empty: the real API.
	APIBaseURL string `json:"apiBaseUrl"`
	// GoMemLimit is the Go runtime's soft memory limit (GOMEMLIMIT); keep it under
	// resources.memoryLimit.
	GoMemLimit string `json:"goMemLimit"`
	// Resources are the controller container's requests and memory limit.
	Resources DNSSyncLimits `json:"resources"`
}

// DNSSyncLimits are the controller container's requests and memory limit.
type DNSSyncLimits struct {
	// CPU request (a Kubernetes quantity, e.g. "10m").
	CPU string `json:"cpu"`
	// Memory request (e.g. "16Mi").
	Memory string `json:"memory"`
	// MemoryLimit is the container's memory limit.
	MemoryLimit string `json:"memoryLimit"`
}

// DNSSyncSecretGroup and DNSSyncTokenName locate the Cloudflare API token under shoestring:secrets.
const (
	DNSSyncSecretGroup = "dns-sync"
	DNSSyncTokenName   = "CLOUDFLARE_API_TOKEN"
)

func (c *DNSConfig) defaults() {
	c.DNS = DNS{TTL: 120}
	c.DNSSync = DNSSync{
		Image:      "ghcr.io/shoestring-dev/dnssync:1.0.0",
		Namespace:  "dns-sync",
		Replicas:   1,
		Resync:     "10m",
		GoMemLimit: "20MiB",
		Resources:  DNSSyncLimits{CPU: "5m", Memory: "24Mi", MemoryLimit: "48Mi"},
	}
}

// ExampleZoneID is the zone id of Cloudflare's API documentation examples, which the committed
// stack files carry until a team sets its own: a deploy with it would fail at Cloudflare, so it
// is refused where the id is used (LoadStackFileWithPlaceholders only warns, for renders).
const ExampleZoneID = "023e105f4ecef8ad9ca31a8372d0c353"

const exampleZoneIDProblem = "is the example zone id of Cloudflare's documentation, not your zone's"

// goMemLimitRe: the Go runtime's GOMEMLIMIT syntax (its parser is not exported). The zone id,
// owner id and names are the controller's flags, checked with the grammar the controller parses
// them with (internal/dnssync/grammar), so the program never deploys values the controller refuses.
var goMemLimitRe = regexp.MustCompile(`^[0-9]+(B|KiB|MiB|GiB)?$`)

// DNSOwnerID is the owner id in effect: the configured one or the cluster's name.
func (c *Config) DNSOwnerID() string {
	if c.DNS.OwnerID != "" {
		return c.DNS.OwnerID
	}
	if c.Cluster.Mode == ClusterModeGKE {
		return c.Cluster.GKE.Name
	}
	return "shoestring"
}

// FullAliases are the aliases as fully qualified names.
func (d *DNS) FullAliases() []string {
	out := make([]string, len(d.Aliases))
	for i, a := range d.Aliases {
		a = strings.ToLower(strings.TrimSuffix(a, "."))
		if a != d.Zone && !strings.HasSuffix(a, "."+d.Zone) {
			a += "." + d.Zone
		}
		out[i] = a
	}
	return out
}

func (c *DNSConfig) checkAndFillDefaults(all *Config) []FieldError {
	var errs []FieldError
	const dk, sk = Namespace + ":dns", Namespace + ":dnssync"
	d, s := &c.DNS, &c.DNSSync
	used := s.Enabled || len(d.Aliases) > 0
	d.Zone = strings.ToLower(strings.TrimSuffix(d.Zone, "."))
	d.Name = strings.ToLower(strings.TrimSuffix(d.Name, "."))
	if used {
		if d.Zone == "" {
			errs = append(errs, fieldErr(dk+".zone", nil, "is required when dnssync is enabled or aliases are set",
				"name the Cloudflare zone, e.g. \"example.com\""))
		} else if !grammar.IsDomainName(d.Zone) {
			errs = append(errs, fieldErr(dk+".zone", d.Zone, "is not a domain name", "write the zone's name, e.g. \"example.com\""))
		}
		if d.Name == "" {
			errs = append(errs, fieldErr(dk+".name", nil, "is required when dnssync is enabled or aliases are set",
				"name the record that points at the nodes, e.g. \"k.example.com\""))
		}
	}
	if d.Name != "" {
		if !grammar.IsDomainName(d.Name) {
			errs = append(errs, fieldErr(dk+".name", d.Name, "is not a fully qualified DNS name", "write e.g. \"k.example.com\""))
		} else if d.Zone != "" && d.Name != d.Zone && !strings.HasSuffix(d.Name, "."+d.Zone) {
			errs = append(errs, fieldErr(dk+".name", d.Name, "is not in the zone "+d.Zone, "use a name ending in ."+d.Zone))
		}
	}
	if wildcard := all.PlaygroundWildcard(); wildcard != "" && d.ZoneID == "" {
		errs = append(errs, fieldErr(dk+".zoneId", nil, "is required for the playgrounds' record "+wildcard+" (Pulumi's records need the zone id)",
			"copy the 32 hex digits from the zone's overview page in the Cloudflare dashboard"))
	} else if len(d.Aliases) > 0 && d.ZoneID == "" {
		errs = append(errs, fieldErr(dk+".zoneId", nil, "is required for aliases (Pulumi's CNAME records need the zone id)",
			"copy the 32 hex digits from the zone's overview page in the Cloudflare dashboard"))
	} else if d.ZoneID != "" && !grammar.IsZoneID(d.ZoneID) {
		errs = append(errs, fieldErr(dk+".zoneId", d.ZoneID, "is not a Cloudflare zone id",
			"copy the 32 hex digits from the zone's overview page, or leave it out to look the zone up by name"))
	} else if d.ZoneID == ExampleZoneID && (used || all.PlaygroundWildcard() != "") {
		errs = append(errs, fieldErr(dk+".zoneId", d.ZoneID, exampleZoneIDProblem,
			fmt.Sprintf("set your zone's id (the 32 hex digits on the zone's overview page in the Cloudflare dashboard, or the bootstrap stack's initStacks output) with `pulumi config set --path '%s.zoneId' <id>`", dk)))
	}
	for i, a := range d.Aliases {
		key := fmt.Sprintf("%s.aliases[%d]", dk, i)
		la := strings.ToLower(strings.TrimSuffix(a, "."))
		if !isDNSLabel(la) && !grammar.IsDomainName(la) {
			errs = append(errs, fieldErr(key, a, "is not a DNS name", "write a label such as \"www\" or a full name in the zone"))
		} else if strings.Contains(la, ".") && d.Zone != "" && la != d.Zone && !strings.HasSuffix(la, "."+d.Zone) {
			errs = append(errs, fieldErr(key, a, "is not in the zone "+d.Zone, "use a name ending in ."+d.Zone+" or a single label"))
		} else if full := d.FullAliases()[i]; full == d.Name {
			errs = append(errs, fieldErr(key, a, "is the synced name itself: a CNAME cannot share a name with A records", "remove it"))
		}
	}
	if d.TTL != 1 && (d.TTL < 60 || d.TTL > 86400) {
		errs = append(errs, fieldErr(dk+".ttl", d.TTL, "is out of range", "use 60 to 86400 seconds, or 1 for automatic (default 120)"))
	} else if d.Proxied && d.TTL != 1 {
		errs = append(errs, fieldErr(dk+".ttl", d.TTL, "is ignored by Cloudflare for proxied records", "set ttl: 1 together with proxied: true"))
	}
	if d.Proxied && !d.AdvancedCertificate && d.Zone != "" {
		errs = append(errs, all.checkUniversalSSLCovers()...)
	}
	if d.OwnerID != "" && !grammar.IsOwnerID(d.OwnerID) {
		errs = append(errs, fieldErr(dk+".ownerId", d.OwnerID, "is not a valid owner id",
			"use 1-63 letters, digits, '-', '_' or '.', different for each cluster sharing the zone"))
	}

	// Pinned like every image: a moving tag would let environments run different controllers.
	errs = append(errs, checkImage(sk+".image", s.Image)...)
	if !isDNSLabel(s.Namespace) {
		errs = append(errs, fieldErr(sk+".namespace", s.Namespace, "is not a namespace name", "use lowercase letters, digits and '-' (default \"dns-sync\")"))
	}
	if s.Replicas < 1 || s.Replicas > MaxDNSSyncReplicas {
		errs = append(errs, fieldErr(sk+".replicas", s.Replicas, "is out of range", fmt.Sprintf("use 1 to %d (above 1 the replicas elect a leader)", MaxDNSSyncReplicas)))
	}
	if _, err := labels.Parse(s.NodeSelector); err != nil {
		errs = append(errs, fieldErr(sk+".nodeSelector", s.NodeSelector, "is not a label selector", "write e.g. \"role=edge\""))
	}
	if problem := resyncProblem(s.Resync); problem != "" {
		errs = append(errs, fieldErr(sk+".resync", s.Resync, problem, "write a Go duration of 1m or more, e.g. \"10m\" (\"0\" disables it)"))
	}
	if s.GoMemLimit != "" && !goMemLimitRe.MatchString(s.GoMemLimit) {
		errs = append(errs, fieldErr(sk+".goMemLimit", s.GoMemLimit, "is not a GOMEMLIMIT value", "write a byte count with a unit, e.g. \"20MiB\""))
	}
	if s.APIBaseURL != "" && !isHTTPURL(s.APIBaseURL) {
		errs = append(errs, fieldErr(sk+".apiBaseUrl", s.APIBaseURL, "is not an http(s) URL", "leave it empty for the real API"))
	}
	for _, q := range []struct{ key, v string }{{"cpu", s.Resources.CPU}, {"memory", s.Resources.Memory}, {"memoryLimit", s.Resources.MemoryLimit}} {
		if _, err := resource.ParseQuantity(q.v); err != nil {
			errs = append(errs, fieldErr(sk+".resources."+q.key, q.v, "is not a Kubernetes quantity", "write e.g. \"5m\" for CPU or \"24Mi\" for memory"))
		}
	}
	if s.Enabled {
		if _, ok := all.Secrets[DNSSyncSecretGroup][DNSSyncTokenName]; !ok {
			errs = append(errs, MissingSecret(DNSSyncSecretGroup, DNSSyncTokenName))
		}
	}
	return errs
}

// resyncProblem accepts "0" or a Go duration of at least a minute.
func resyncProblem(s string) string {
	if s == "0" {
		return ""
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return "is not a duration"
	}
	if d < time.Minute {
		return "is shorter than 1m: each resync costs one Cloudflare request per name"
	}
	return ""
}
