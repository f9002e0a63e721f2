package stacks

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// ClusterConfig says where workloads run: a low-cost zonal GKE cluster made by this program, or an
// existing cluster reached through a kubeconfig (the dev stack's local cluster).
type ClusterConfig struct {
	Cluster Cluster `config:"cluster"`
}

// Cluster modes.
const (
	ClusterModeGKE      = "gke"
	ClusterModeExisting = "existing"
)

// Node provisioning models. Spot is the successor of preemptible: the same price model without the
// 24-hour limit.
const (
	ProvisioningPreemptible = "preemptible"
	ProvisioningSpot        = "spot"
	ProvisioningStandard    = "standard"
)

// Cluster is the `shoestring:cluster` key: which cluster the stack deploys to.
type Cluster struct {
	// Mode is "gke" (this program creates a zonal GKE cluster, see GKE) or "existing" (a cluster
	// reached through Existing's kubeconfig; no GCP resource).
	Mode string `json:"mode"`
	// GKE is the cluster this program creates in "gke" mode.
	GKE GKECluster `json:"gke"`
	// Existing is the cluster the stack deploys to in "existing" mode.
	Existing ExistingCluster `json:"existing"`
}

// GKECluster is the cheapest cluster that works: zonal, one small node pool, no paid extras.
type GKECluster struct {
	// Name of the cluster (an RFC 1035 label of at most 40 characters); it also prefixes the firewall
	// rule.
	Name    string `json:"name"`
	Project string `json:"project"` // empty: the gcp provider's project (gcp:project)
	// Zone is one zone, e.g. "us-central1-a" (required in gke mode); a region is refused, since a
	// regional cluster's fee is not covered by the free tier.
	Zone string `json:"zone"`
	// Network is the VPC network of the nodes (and of the firewall rule).
	Network string `json:"network"`
	// Subnetwork is the subnet of Network in the zone's region the nodes get their addresses
	// from; empty: GKE's choice, which works in an auto-mode network such as "default" (a
	// custom-mode network needs it).
	Subnetwork string `json:"subnetwork"`

	// NodeCount is the number of nodes of the only node pool (1 to MaxNodeCount, 10).
	NodeCount int `json:"nodeCount"`
	// MachineType of the nodes. "f1-micro" is refused at preview (GKE rejects it for node pools);
	// "e2-micro" is the cheapest type GKE accepts.
	MachineType string `json:"machineType"`
	// Provisioning is "preemptible", "spot" (its successor: the same price, no 24-hour limit) or
	// "standard".
	Provisioning string `json:"provisioning"`
	// DiskSizeGB is the boot disk of each node in GB (at least 10).
	DiskSizeGB int `json:"diskSizeGb"`
	// DiskType of the boot disks: "pd-standard", "pd-balanced" or "pd-ssd".
	DiskType string `json:"diskType"`
	// NodeTag is the network tag the firewall rule targets.
	NodeTag string `json:"nodeTag"`
	// OAuthScopes of the nodes (full URLs); the minimum lets them pull images.
	OAuthScopes []string `json:"oauthScopes"`

	// ReleaseChannel is "RAPID", "REGULAR", "STABLE" or "UNSPECIFIED".
	ReleaseChannel string `json:"releaseChannel"`
	// DeletionProtection blocks `pulumi destroy` of the cluster while true.
	DeletionProtection bool `json:"deletionProtection"`

	// FirewallSourceRanges may reach tcp 80 and 443 on the nodes (nginx on the host network).
	// Default: Cloudflare's published IPv4 ranges (stacks/data/cloudflare-ips-v4.txt) when DNS sync
	// publishes proxied names, else ["0.0.0.0/0"].
	FirewallSourceRanges []string `json:"firewallSourceRanges"`

	// DataplaneV2 creates the cluster with GKE Dataplane V2 (datapathProvider ADVANCED_DATAPATH),
	// the data plane that enforces NetworkPolicies (shoestring:networkPolicy). GKE cannot switch
	// an existing cluster: changing it replaces the cluster. Default false.
	DataplaneV2 bool `json:"dataplaneV2"`
}

// ExistingCluster is a cluster this program does not create.
type ExistingCluster struct {
	// Kubeconfig is the path of the kubeconfig (required in existing mode; "~/" is expanded, a
	// relative path is relative to the project folder).
	Kubeconfig string `json:"kubeconfig"`
	// Context is the kubeconfig context to use; empty: its current context.
	Context string `json:"context"`
	// RenderTo, when set, puts the Kubernetes provider in render mode: it writes every object as
	// YAML into this folder instead of applying it, and contacts no cluster (no kubeconfig needed;
	// secret values are written in plain text). `shoestring render` sets it on a throwaway copy of
	// a stack.
	RenderTo string `json:"renderTo"`
}

// RejectedMachineTypes are machine types GKE refuses for node pools, with GKE's reason. Failing at
// preview saves the minutes GCP takes to refuse them.
var RejectedMachineTypes = map[string]string{
	"f1-micro": "GKE rejects it for node pools: not supported due to insufficient memory",
}

// CheapestAcceptedMachineType is the smallest machine type GKE accepts for a node pool. It leaves
// about 100 MB for workloads after GKE's system pods; DefaultMachineType is the practical minimum.
const (
	CheapestAcceptedMachineType = "e2-micro"
	DefaultMachineType          = "e2-small"
)

func (c *ClusterConfig) defaults() {
	c.Cluster = Cluster{
		Mode: ClusterModeGKE,
		GKE: GKECluster{
			Name:               "shoestring",
			Network:            "default",
			NodeCount:          3,
			MachineType:        DefaultMachineType,
			Provisioning:       ProvisioningPreemptible,
			DiskSizeGB:         10,
			DiskType:           "pd-standard",
			NodeTag:            "shoestring-node",
			OAuthScopes:        []string{"https://www.googleapis.com/auth/devstorage.read_only"},
			ReleaseChannel:     "REGULAR",
			DeletionProtection: true,
			// FirewallSourceRanges: set in checkAndFillDefaults, from the DNS settings.
		},
	}
}

// Zone, region and machine type names are GCP's naming conventions, which no Go library
// defines (the API only answers whether one exists, which needs credentials): these shapes catch
// typos and a region given as a zone at preview.
var (
	machineTypeRe = regexp.MustCompile(`^[a-z][a-z0-9]*-[a-z0-9-]+$`)
	releaseChans  = []string{"RAPID", "REGULAR", "STABLE", "UNSPECIFIED"}
	diskTypes     = []string{"pd-standard", "pd-balanced", "pd-ssd"}
)

// GKE limits cluster names to 40 characters; network tags may have 63 (both RFC 1035 labels).
const (
	maxGKEClusterName = 40
	maxNetworkTag     = 63
)

func (c *ClusterConfig) checkAndFillDefaults(all *Config) []FieldError {
	const k = Namespace + ":cluster"
	cl := &c.Cluster
	var errs []FieldError
	switch cl.Mode {
	case ClusterModeGKE:
		if cl.GKE.FirewallSourceRanges == nil {
			cl.GKE.FirewallSourceRanges = all.defaultFirewallSourceRanges()
		}
		errs = append(errs, cl.GKE.check(k+".gke")...)
	case ClusterModeExisting:
		if cl.Existing.Kubeconfig == "" && cl.Existing.RenderTo == "" {
			errs = append(errs, fieldErr(k+".existing.kubeconfig", nil, "is required when mode is \"existing\"",
				"give the path of the kubeconfig file, e.g. ~/.kube/config"))
		}
	default:
		errs = append(errs, fieldErr(k+".mode", cl.Mode, "is not a cluster mode", oneOf(ClusterModeGKE, ClusterModeExisting)))
	}
	return errs
}

func (g *GKECluster) check(k string) []FieldError {
	var errs []FieldError
	if !isGCEName(g.Name, maxGKEClusterName) {
		errs = append(errs, fieldErr(k+".name", g.Name, "is not a valid GKE cluster name",
			"use 1-40 lowercase letters, digits and hyphens, starting with a letter"))
	}
	switch {
	case g.Zone == "":
		errs = append(errs, fieldErr(k+".zone", nil, "is required", "name a zone such as \"us-central1-a\""))
	case IsGCPRegion(g.Zone):
		errs = append(errs, fieldErr(k+".zone", g.Zone, "is a region: a regional cluster's management fee is not covered by the free tier",
			fmt.Sprintf("name one zone of it, such as %q", g.Zone+"-a")))
	case !IsGCPZone(g.Zone):
		errs = append(errs, fieldErr(k+".zone", g.Zone, "is not a GCP zone", "name a zone such as \"us-central1-a\""))
	}
	if g.NodeCount < 1 || g.NodeCount > MaxNodeCount {
		errs = append(errs, fieldErr(k+".nodeCount", g.NodeCount, "is out of range", fmt.Sprintf("use 1 to %d nodes (3 is the default; more is not the cheap cluster this program makes)", MaxNodeCount)))
	}
	if reason, rejected := RejectedMachineTypes[g.MachineType]; rejected {
		errs = append(errs, fieldErr(k+".machineType", g.MachineType, reason,
			fmt.Sprintf("use %q, the cheapest type GKE accepts, or %q (the default)", CheapestAcceptedMachineType, DefaultMachineType)))
	} else if !machineTypeRe.MatchString(g.MachineType) {
		errs = append(errs, fieldErr(k+".machineType", g.MachineType, "is not a machine type name", "use a name such as \"e2-small\""))
	}
	switch g.Provisioning {
	case ProvisioningPreemptible, ProvisioningSpot, ProvisioningStandard:
	default:
		errs = append(errs, fieldErr(k+".provisioning", g.Provisioning, "is not a provisioning model",
			oneOf(ProvisioningPreemptible, ProvisioningSpot, ProvisioningStandard)))
	}
	if g.DiskSizeGB < 10 || g.DiskSizeGB > 65536 {
		errs = append(errs, fieldErr(k+".diskSizeGb", g.DiskSizeGB, "is out of range", "GKE needs at least 10 GB (the default)"))
	}
	if !slices.Contains(diskTypes, g.DiskType) {
		errs = append(errs, fieldErr(k+".diskType", g.DiskType, "is not a node disk type", oneOf(diskTypes...)))
	}
	if !isGCEName(g.NodeTag, maxNetworkTag) {
		errs = append(errs, fieldErr(k+".nodeTag", g.NodeTag, "is not a valid network tag",
			"use lowercase letters, digits and hyphens, starting with a letter"))
	}
	if g.Network == "" {
		errs = append(errs, fieldErr(k+".network", nil, "is required", "name a VPC network (\"default\" is the default)"))
	}
	if g.Subnetwork != "" && !isGCEName(g.Subnetwork, maxNetworkTag) {
		errs = append(errs, fieldErr(k+".subnetwork", g.Subnetwork, "is not a subnetwork name",
			"name the subnet of the network in the cluster's region (lowercase letters, digits and hyphens, starting with a letter), or leave it empty"))
	}
	for i, s := range g.OAuthScopes {
		if !strings.HasPrefix(s, "https://www.googleapis.com/auth/") {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.oauthScopes[%d]", k, i), s, "is not an OAuth scope URL",
				"write the full URL, e.g. \"https://www.googleapis.com/auth/devstorage.read_only\""))
		}
	}
	if !slices.Contains(releaseChans, g.ReleaseChannel) {
		errs = append(errs, fieldErr(k+".releaseChannel", g.ReleaseChannel, "is not a release channel", oneOf(releaseChans...)))
	}
	if len(g.FirewallSourceRanges) == 0 {
		errs = append(errs, fieldErr(k+".firewallSourceRanges", nil, "is empty: nothing could reach the nodes' nginx",
			"list CIDR ranges, e.g. [\"0.0.0.0/0\"]"))
	}
	for i, r := range g.FirewallSourceRanges {
		if _, err := netip.ParsePrefix(r); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.firewallSourceRanges[%d]", k, i), r, "is not a CIDR range",
				"write an address with a prefix length, e.g. \"203.0.113.0/24\""))
		}
	}
	return errs
}

// Preemptible and Spot say which GKE node flag the provisioning model sets.
func (g *GKECluster) Preemptible() bool { return g.Provisioning == ProvisioningPreemptible }
func (g *GKECluster) Spot() bool        { return g.Provisioning == ProvisioningSpot }
