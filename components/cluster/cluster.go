// Package cluster is the Kubernetes cluster every other component runs on: a low-cost
// zonal GKE cluster (one small preemptible or spot node pool, no paid extras, firewall open for the
// nginx edge on tcp 80/443), or an existing cluster given by kubeconfig. Either way it yields the
// Kubernetes provider that later components take as their provider.
package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/container"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:cluster:Cluster"

// Args selects exactly one of GKE (create a cluster) or Existing (use one).
type Args struct {
	GKE      *GKEArgs
	Existing *ExistingArgs
}

type GKEArgs struct {
	Name    string
	Project string // empty: the gcp provider's project
	Zone    string
	Network string
	// Subnetwork of Network the nodes use; empty: GKE's choice (auto-mode networks).
	Subnetwork string

	NodeCount   int
	MachineType string
	Preemptible bool
	Spot        bool
	DiskSizeGB  int
	DiskType    string
	NodeTag     string
	OAuthScopes []string

	ReleaseChannel     string
	DeletionProtection bool

	FirewallSourceRanges []string

	// DataplaneV2 creates the cluster with GKE Dataplane V2, which enforces NetworkPolicies; GKE
	// cannot switch a cluster, so changing it replaces the cluster.
	DataplaneV2 bool
}

// AdvancedDatapath is GKE's datapathProvider value for Dataplane V2.
const AdvancedDatapath = "ADVANCED_DATAPATH"

type ExistingArgs struct {
	Kubeconfig string // path; "~/" is expanded
	Context    string // empty: the kubeconfig's current context
	// RenderTo, when set, is the folder the provider writes the objects to as YAML instead of
	// applying them (its renderYamlToDirectory mode); Kubeconfig is then not used.
	RenderTo string
}

// Cluster is the component.
type Cluster struct {
	pulumi.ResourceState

	// Provider deploys Kubernetes objects into this cluster.
	Provider *kubernetes.Provider
	// Kubeconfig reaches the cluster (secret); for an existing cluster it is the file's path.
	Kubeconfig pulumi.StringOutput
	// Name is the GKE cluster's name, or the kubeconfig context of an existing cluster.
	Name pulumi.StringOutput
}

func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if (args.GKE == nil) == (args.Existing == nil) {
		return nil, fmt.Errorf("cluster %s: exactly one of GKE and Existing must be set", name)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, err
	}
	var err error
	if args.GKE != nil {
		err = c.gke(ctx, name, args.GKE)
	} else {
		err = c.existing(ctx, name, args.Existing)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"kubeconfig": c.Kubeconfig,
		"name":       c.Name,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) gke(ctx *pulumi.Context, name string, a *GKEArgs) error {
	gke, err := container.NewCluster(ctx, name, ClusterArgs(a), pulumi.Parent(c))
	if err != nil {
		return err
	}
	pool, err := container.NewNodePool(ctx, name+"-nodes", NodePoolArgs(a, gke.Name), pulumi.Parent(c))
	if err != nil {
		return err
	}
	if _, err := compute.NewFirewall(ctx, name+"-http", FirewallArgs(a), pulumi.Parent(c)); err != nil {
		return err
	}
	c.Name = gke.Name
	c.Kubeconfig = pulumi.ToSecret(pulumi.All(gke.Name, gke.Endpoint, gke.MasterAuth.ClusterCaCertificate().Elem()).
		ApplyT(func(v []any) string {
			return Kubeconfig(fmt.Sprintf("gke_%s_%s", a.Zone, v[0]), v[1].(string), v[2].(string))
		})).(pulumi.StringOutput)
	// The provider waits for the node pool: objects applied before any node exists would hang.
	c.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
	}, pulumi.Parent(c), pulumi.DependsOn([]pulumi.Resource{pool}))
	return err
}

func (c *Cluster) existing(ctx *pulumi.Context, name string, a *ExistingArgs) error {
	path := ExpandHome(a.Kubeconfig)
	c.Kubeconfig = pulumi.String(path).ToStringOutput()
	c.Name = pulumi.String(a.Context).ToStringOutput()
	args := &kubernetes.ProviderArgs{Kubeconfig: pulumi.String(path)}
	if a.RenderTo != "" {
		args = &kubernetes.ProviderArgs{RenderYamlToDirectory: pulumi.String(a.RenderTo)}
	}
	if a.Context != "" && a.RenderTo == "" {
		args.Context = pulumi.String(a.Context)
	}
	var err error
	c.Provider, err = kubernetes.NewProvider(ctx, name, args, pulumi.Parent(c))
	return err
}

// ClusterArgs is the GKE cluster: zonal (one free-tier-covered management fee), its default pool
// removed in favour of NodePoolArgs' pool, and every paid add-on off.
func ClusterArgs(a *GKEArgs) *container.ClusterArgs {
	args := &container.ClusterArgs{
		Name:     pulumi.String(a.Name),
		Location: pulumi.String(a.Zone),
		Network:  pulumi.String(a.Network),
		// GKE needs an initial pool to create a cluster; it is removed at once.
		InitialNodeCount:      pulumi.Int(1),
		RemoveDefaultNodePool: pulumi.Bool(true),
		AddonsConfig: &container.ClusterAddonsConfigArgs{
			HttpLoadBalancing: &container.ClusterAddonsConfigHttpLoadBalancingArgs{Disabled: pulumi.Bool(true)},
		},
		LoggingService:     pulumi.String("none"),
		MonitoringService:  pulumi.String("none"),
		ReleaseChannel:     &container.ClusterReleaseChannelArgs{Channel: pulumi.String(a.ReleaseChannel)},
		DeletionProtection: pulumi.Bool(a.DeletionProtection),
	}
	if a.Subnetwork != "" {
		args.Subnetwork = pulumi.String(a.Subnetwork)
	}
	if a.DataplaneV2 {
		// Dataplane V2 runs only on VPC-native clusters (alias IPs): an empty policy lets GKE
		// pick the secondary ranges.
		args.DatapathProvider = pulumi.String(AdvancedDatapath)
		args.IpAllocationPolicy = &container.ClusterIpAllocationPolicyArgs{}
	}
	if a.Project != "" {
		args.Project = pulumi.String(a.Project)
	}
	return args
}

// NodePoolArgs is the cluster's only node pool.
func NodePoolArgs(a *GKEArgs, cluster pulumi.StringInput) *container.NodePoolArgs {
	args := &container.NodePoolArgs{
		Cluster:   cluster,
		Location:  pulumi.String(a.Zone),
		NodeCount: pulumi.Int(a.NodeCount),
		Management: &container.NodePoolManagementArgs{
			AutoRepair:  pulumi.Bool(true),
			AutoUpgrade: pulumi.Bool(true),
		},
		NodeConfig: &container.NodePoolNodeConfigArgs{
			MachineType: pulumi.String(a.MachineType),
			Preemptible: pulumi.Bool(a.Preemptible),
			Spot:        pulumi.Bool(a.Spot),
			DiskSizeGb:  pulumi.Int(a.DiskSizeGB),
			DiskType:    pulumi.String(a.DiskType),
			OauthScopes: pulumi.ToStringArray(a.OAuthScopes),
			Tags:        pulumi.StringArray{pulumi.String(a.NodeTag)},
		},
	}
	if a.Project != "" {
		args.Project = pulumi.String(a.Project)
	}
	return args
}

// FirewallArgs opens tcp 80 and 443 to the nodes carrying the pool's tag, and to nothing else: the
// nginx edge listens there on the host network instead of behind a paid load balancer.
func FirewallArgs(a *GKEArgs) *compute.FirewallArgs {
	args := &compute.FirewallArgs{
		Name:      pulumi.String(a.Name + "-allow-http-https"),
		Network:   pulumi.String(a.Network),
		Direction: pulumi.String("INGRESS"),
		Allows: compute.FirewallAllowArray{&compute.FirewallAllowArgs{
			Protocol: pulumi.String("tcp"),
			Ports:    pulumi.StringArray{pulumi.String("80"), pulumi.String("443")},
		}},
		SourceRanges: pulumi.ToStringArray(a.FirewallSourceRanges),
		TargetTags:   pulumi.StringArray{pulumi.String(a.NodeTag)},
	}
	if a.Project != "" {
		args.Project = pulumi.String(a.Project)
	}
	return args
}

// Kubeconfig is a kubeconfig for a GKE cluster that authenticates through gke-gcloud-auth-plugin,
// as Pulumi's GKE example does, so no long-lived credential is stored in the stack.
func Kubeconfig(contextName, endpoint, caCertificate string) string {
	return strings.TrimLeft(fmt.Sprintf(`
apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    certificate-authority-data: %[3]s
    server: https://%[2]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
current-context: %[1]s
users:
- name: %[1]s
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      provideClusterInfo: true
`, contextName, endpoint, caCertificate), "\n")
}

// ExpandHome resolves a leading "~/" against the user's home directory.
func ExpandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}
