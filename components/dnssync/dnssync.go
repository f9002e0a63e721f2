// Package dnssync deploys the DNS-sync controller (cmd/dnssync) with least privilege: its own
// namespace at the restricted Pod Security level, a ServiceAccount that may only read Nodes (and,
// with more than one replica, hold a Lease), the Cloudflare token in a Secret mounted as a file,
// and the Cloudflare CNAMEs of the aliases, which Pulumi manages (they never change with the nodes).
package dnssync

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/internal/podsecurity"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:dnssync:DNSSync"

// Names of the Kubernetes objects (namespaced ones in Args.Namespace).
const (
	Name        = "dnssync"            // ServiceAccount, Deployment, Lease
	ClusterRole = "shoestring-dnssync" // ClusterRole and ClusterRoleBinding (cluster-wide names)
	LeaseRole   = "dnssync-leases"     // Role and RoleBinding, only with more than one replica
	SecretName  = "dnssync-cloudflare"
	TokenKey    = "token"
	tokenDir    = "/var/run/secrets/cloudflare"
	MetricsPort = 8080
)

// Args configure the controller. Zone is the zone's id when known, else its name.
type Args struct {
	Namespace string
	Image     string
	Replicas  int

	Name    string // the fully qualified name whose A/AAAA records follow the nodes
	Zone    string // zone id or name, for the controller
	ZoneID  string // zone id, required for Aliases (Pulumi's records need it)
	TTL     int
	Proxied bool
	OwnerID string

	NodeSelector       string
	InternalIPFallback bool
	Resync             string
	DryRun             bool
	APIBaseURL         string

	// Token is the Cloudflare API token (a Pulumi secret). It reaches the cluster only in the Secret.
	Token pulumi.StringInput

	CPURequest, MemoryRequest, MemoryLimit string
	// GoMemLimit is the Go runtime's soft memory limit (GOMEMLIMIT), e.g. "20MiB".
	GoMemLimit string

	// Aliases (fully qualified) become CNAMEs to Name through pulumi-cloudflare. CloudflareProvider
	// is used for them; nil: a provider made from Token.
	Aliases            []string
	CloudflareProvider pulumi.ProviderResource
}

// DNSSync is the component.
type DNSSync struct {
	pulumi.ResourceState

	Namespace pulumi.StringOutput
	// NamespaceResource is the namespace object, for what must wait for it (and not for the rest).
	NamespaceResource *corev1.Namespace
	// Aliases are the CNAME records' names.
	Aliases pulumi.StringArrayOutput
}

// New deploys the controller. Kubernetes objects use the provider passed in opts (the cluster's).
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*DNSSync, error) {
	if args.Token == nil {
		return nil, fmt.Errorf("dnssync %s: Token is required", name)
	}
	if len(args.Aliases) > 0 && args.ZoneID == "" {
		return nil, fmt.Errorf("dnssync %s: aliases need the zone id", name)
	}
	c := &DNSSync{}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	ns, err := corev1.NewNamespace(ctx, name, NamespaceArgs(args.Namespace), parent)
	if err != nil {
		return nil, err
	}
	inNS := pulumi.DependsOn([]pulumi.Resource{ns})
	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{Metadata: meta(Name, args.Namespace)}, parent, inNS)
	if err != nil {
		return nil, err
	}
	cr, err := rbacv1.NewClusterRole(ctx, name, ClusterRoleArgs(), parent)
	if err != nil {
		return nil, err
	}
	deps := []pulumi.Resource{sa, cr}
	crb, err := rbacv1.NewClusterRoleBinding(ctx, name, ClusterRoleBindingArgs(args.Namespace), parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, err
	}
	deps = append(deps, crb)
	if args.Replicas > 1 {
		role, err := rbacv1.NewRole(ctx, name+"-leases", LeaseRoleArgs(args.Namespace), parent, inNS)
		if err != nil {
			return nil, err
		}
		rb, err := rbacv1.NewRoleBinding(ctx, name+"-leases", LeaseRoleBindingArgs(args.Namespace), parent, pulumi.DependsOn([]pulumi.Resource{role, sa}))
		if err != nil {
			return nil, err
		}
		deps = append(deps, rb)
	}
	secret, err := corev1.NewSecret(ctx, name, SecretArgs(args.Namespace, args.Token), parent, inNS)
	if err != nil {
		return nil, err
	}
	deps = append(deps, secret)
	if _, err := appsv1.NewDeployment(ctx, name, DeploymentArgs(args), parent, pulumi.DependsOn(deps)); err != nil {
		return nil, err
	}

	var aliases pulumi.StringArray
	if len(args.Aliases) > 0 {
		cfOpts := []pulumi.ResourceOption{parent}
		prov := args.CloudflareProvider
		if prov == nil {
			p, err := cloudflare.NewProvider(ctx, name+"-cloudflare", &cloudflare.ProviderArgs{ApiToken: args.Token}, parent)
			if err != nil {
				return nil, err
			}
			prov = p
		}
		cfOpts = append(cfOpts, pulumi.Provider(prov))
		for _, a := range args.Aliases {
			rec, err := cloudflare.NewRecord(ctx, name+"-alias-"+a, AliasArgs(args, a), cfOpts...)
			if err != nil {
				return nil, err
			}
			aliases = append(aliases, rec.Hostname)
		}
	}
	c.Namespace = ns.Metadata.Name().Elem()
	c.NamespaceResource = ns
	c.Aliases = aliases.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": c.Namespace, "aliases": c.Aliases}); err != nil {
		return nil, err
	}
	return c, nil
}

func meta(name, namespace string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(namespace), Labels: labels()}
}

func labels() pulumi.StringMap {
	return pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(Name), "app.kubernetes.io/part-of": pulumi.String("shoestring")}
}

// NamespaceArgs is the controller's own namespace, enforcing the restricted Pod Security level.
func NamespaceArgs(namespace string) *corev1.NamespaceArgs {
	return podsecurity.NamespaceArgs(namespace, "restricted")
}

// ClusterRoleArgs: Nodes, read only. Nothing else cluster-wide.
func ClusterRoleArgs() *rbacv1.ClusterRoleArgs {
	return &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ClusterRole), Labels: labels()},
		Rules: rbacv1.PolicyRuleArray{rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String("")},
			Resources: pulumi.StringArray{pulumi.String("nodes")},
			Verbs:     pulumi.StringArray{pulumi.String("get"), pulumi.String("list"), pulumi.String("watch")},
		}},
	}
}

func ClusterRoleBindingArgs(namespace string) *rbacv1.ClusterRoleBindingArgs {
	return &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ClusterRole), Labels: labels()},
		RoleRef: rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"),
			Name: pulumi.String(ClusterRole)},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(Name),
			Namespace: pulumi.String(namespace)}},
	}
}

// LeaseRoleArgs: the Leases of the controller's namespace, for leader election.
func LeaseRoleArgs(namespace string) *rbacv1.RoleArgs {
	return &rbacv1.RoleArgs{
		Metadata: meta(LeaseRole, namespace),
		Rules: rbacv1.PolicyRuleArray{rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String("coordination.k8s.io")},
			Resources: pulumi.StringArray{pulumi.String("leases")},
			Verbs:     pulumi.StringArray{pulumi.String("get"), pulumi.String("create"), pulumi.String("update")},
		}},
	}
}

func LeaseRoleBindingArgs(namespace string) *rbacv1.RoleBindingArgs {
	return &rbacv1.RoleBindingArgs{
		Metadata: meta(LeaseRole, namespace),
		RoleRef: rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"),
			Name: pulumi.String(LeaseRole)},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(Name),
			Namespace: pulumi.String(namespace)}},
	}
}

// SecretArgs holds the token; stringData is a Pulumi secret, so it is encrypted in the state.
func SecretArgs(namespace string, token pulumi.StringInput) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata:   meta(SecretName, namespace),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{TokenKey: pulumi.ToSecret(token).(pulumi.StringOutput)},
	}
}

// Flags are the controller's command line for args (the token is a mounted file, never a flag).
func Flags(a *Args) []string {
	f := []string{
		"--names=" + a.Name,
		"--zone=" + a.Zone,
		"--ttl=" + strconv.Itoa(a.TTL),
		"--proxied=" + strconv.FormatBool(a.Proxied),
		"--owner-id=" + a.OwnerID,
		"--resync=" + a.Resync,
		"--token-file=" + tokenDir + "/" + TokenKey,
		fmt.Sprintf("--metrics-addr=:%d", MetricsPort),
		"--leader-elect=" + strconv.FormatBool(a.Replicas > 1),
		"--lease-name=" + Name,
	}
	if a.NodeSelector != "" {
		f = append(f, "--node-selector="+a.NodeSelector)
	}
	if a.InternalIPFallback {
		f = append(f, "--internal-ip-fallback=true")
	}
	if a.DryRun {
		f = append(f, "--dry-run=true")
	}
	if a.APIBaseURL != "" {
		f = append(f, "--api-base-url="+a.APIBaseURL)
	}
	return f
}

// DeploymentArgs runs the controller with tiny requests and the restricted security settings.
func DeploymentArgs(a *Args) *appsv1.DeploymentArgs {
	sel := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(Name)}
	// One replica without leader election: never two at once, so Recreate. Several elect a leader,
	// so a rolling update is safe.
	strategy := "Recreate"
	if a.Replicas > 1 {
		strategy = "RollingUpdate"
	}
	env := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("POD_NAMESPACE"), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("metadata.namespace")}}},
	}
	if a.GoMemLimit != "" {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String("GOMEMLIMIT"), Value: pulumi.String(a.GoMemLimit)})
	}
	probe := func(path string) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.String("metrics")},
			PeriodSeconds: pulumi.Int(10), TimeoutSeconds: pulumi.Int(2)}
	}
	return &appsv1.DeploymentArgs{
		Metadata: meta(Name, a.Namespace),
		Spec: appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(a.Replicas),
			Strategy: appsv1.DeploymentStrategyArgs{Type: pulumi.String(strategy)},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: sel},
			Template: corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels()},
				Spec: corev1.PodSpecArgs{
					ServiceAccountName:            pulumi.String(Name),
					TerminationGracePeriodSeconds: pulumi.Int(30),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot: pulumi.Bool(true),
						RunAsUser:    pulumi.Int(65532),
						RunAsGroup:   pulumi.Int(65532),
						// The kubelet writes Secret volume files as root; with fsGroup it gives them
						// that group (and group read), so the non-root process can read its token.
						FsGroup:        pulumi.Int(65532),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:  pulumi.String(Name),
						Image: pulumi.String(a.Image),
						Args:  pulumi.ToStringArray(Flags(a)),
						Env:   env,
						Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{Name: pulumi.String("metrics"),
							ContainerPort: pulumi.Int(MetricsPort)}},
						LivenessProbe:  probe("/healthz"),
						ReadinessProbe: probe("/readyz"),
						Resources: corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String(a.CPURequest), "memory": pulumi.String(a.MemoryRequest)},
							Limits:   pulumi.StringMap{"memory": pulumi.String(a.MemoryLimit)},
						},
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							ReadOnlyRootFilesystem:   pulumi.Bool(true),
							RunAsNonRoot:             pulumi.Bool(true),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
							SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
						},
						VolumeMounts: corev1.VolumeMountArray{corev1.VolumeMountArgs{Name: pulumi.String("cloudflare-token"),
							MountPath: pulumi.String(tokenDir), ReadOnly: pulumi.Bool(true)}},
					}},
					Volumes: corev1.VolumeArray{corev1.VolumeArgs{Name: pulumi.String("cloudflare-token"),
						Secret: &corev1.SecretVolumeSourceArgs{SecretName: pulumi.String(SecretName), DefaultMode: pulumi.Int(0o440)}}},
				},
			},
		},
	}
}

// AliasArgs is one alias: a CNAME to the synced name, with the same TTL and proxy setting.
func AliasArgs(a *Args, alias string) *cloudflare.RecordArgs {
	return &cloudflare.RecordArgs{
		ZoneId:  pulumi.String(a.ZoneID),
		Name:    pulumi.String(alias),
		Type:    pulumi.String("CNAME"),
		Content: pulumi.String(a.Name),
		Ttl:     pulumi.Int(a.TTL),
		Proxied: pulumi.Bool(a.Proxied),
		Comment: pulumi.String("managed by Pulumi (shoestring): alias of " + a.Name),
	}
}
