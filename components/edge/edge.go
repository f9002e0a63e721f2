// Package edge is the replacement for a paid cloud load balancer: nginx on every node's host
// network (a DaemonSet), its nginx.conf generated from the services' routes and kept in a ConfigMap.
// The DNS-sync controller points the public name at the nodes, so every node must run it.
package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/internal/podsecurity"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:edge:Edge"

// Names of the edge's Kubernetes objects (in Args.Namespace).
const (
	Name          = "edge-nginx" // the DaemonSet and the ConfigMap
	ConfigKey     = "nginx.conf"
	ChecksumAnnot = "shoestring.dev/nginx-conf-sha256"
)

// Where the container finds its files. The ConfigMap is read-only, so the start script copies
// nginx.conf into the writable prefix (an emptyDir) next to the resolver file it writes.
const (
	configDir = "/etc/edge/config"
	prefixDir = "/run/edge/"
	TLSDir    = "/etc/edge/tls" // the certificate Secret, when configured
)

// StartScript is the container's command: it prepares the prefix, writes `resolver` from the pod's
// nameservers (the cluster DNS, with dnsPolicy ClusterFirstWithHostNet) unless nginx.conf names
// its own, and execs nginx with the script's arguments. EDGE_CONFIG, EDGE_PREFIX and RESOLV_CONF
// override the paths, so tests run the same script against a temp folder.
const StartScript = `set -eu
config="${EDGE_CONFIG:-` + configDir + `/` + ConfigKey + `}"
prefix="${EDGE_PREFIX:-` + prefixDir + `}"
resolv="${RESOLV_CONF:-/etc/resolv.conf}"
mkdir -p "$prefix/tmp"
cp "$config" "$prefix/nginx.conf"
servers=$(awk '$1 == "nameserver" { a = ($2 ~ /:/) ? "[" $2 "]" : $2; printf "%s%s", sep, a; sep = " " }' "$resolv")
if [ -z "$servers" ]; then
  echo "edge: no nameserver in $resolv: nginx could not resolve the services" >&2
  exit 1
fi
echo "resolver $servers valid=10s ipv6=off;" > "$prefix/` + ResolverInclude + `"
exec nginx -p "$prefix" -c nginx.conf -e stderr "$@"
`

// Args configures the edge. Routes and ConfOptions produce nginx.conf; the ports in ConfOptions
// are the host ports.
type Args struct {
	Namespace string
	Image     string
	Routes    []Route
	Conf      ConfOptions // ListenAddress, TLSDir are set by the component
	// CertificateSecret is a kubernetes.io/tls Secret in Namespace; "" serves HTTP only.
	CertificateSecret string
	// Certificate makes the component create that Secret; nil: it is made outside this program.
	Certificate *CertificateArgs

	CPURequest, MemoryRequest, MemoryLimit string
}

// Edge is the component.
type Edge struct {
	pulumi.ResourceState

	Namespace pulumi.StringOutput
	// NamespaceResource is the namespace object, for what must wait for it (and not for the rest).
	NamespaceResource *corev1.Namespace
	// NginxConf is the generated configuration, as deployed.
	NginxConf pulumi.StringOutput
}

// New creates the edge's namespace, ConfigMap and DaemonSet.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Edge, error) {
	conf, err := Conf(args)
	if err != nil {
		return nil, fmt.Errorf("edge %s: %w", name, err)
	}
	e := &Edge{}
	if err := ctx.RegisterComponentResource(TypeToken, name, e, opts...); err != nil {
		return nil, err
	}
	ns, err := corev1.NewNamespace(ctx, name, NamespaceArgs(args.Namespace), pulumi.Parent(e))
	if err != nil {
		return nil, err
	}
	cm, err := corev1.NewConfigMap(ctx, name, ConfigMapArgs(args.Namespace, conf), pulumi.Parent(e), pulumi.DependsOn([]pulumi.Resource{ns}))
	if err != nil {
		return nil, err
	}
	annotations := pulumi.StringMap{ChecksumAnnot: pulumi.String(Checksum(conf))}
	deps := []pulumi.Resource{cm}
	if args.Certificate != nil && args.CertificateSecret != "" {
		secret, chain, err := certificate(ctx, name, e, args, []pulumi.Resource{ns})
		if err != nil {
			return nil, err
		}
		deps = append(deps, secret)
		annotations[CertificateAnnot] = chain.ApplyT(sha256Hex).(pulumi.StringOutput)
	}
	if _, err := appsv1.NewDaemonSet(ctx, name, daemonSetArgs(args, conf, annotations), pulumi.Parent(e), pulumi.DependsOn(deps)); err != nil {
		return nil, err
	}
	e.Namespace = ns.Metadata.Name().Elem()
	e.NamespaceResource = ns
	e.NginxConf = pulumi.String(conf).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{"namespace": e.Namespace}); err != nil {
		return nil, err
	}
	return e, nil
}

// Conf is the nginx.conf the DaemonSet runs for args.
func Conf(args *Args) (string, error) {
	o := args.Conf
	o.ListenAddress = ""
	o.TLS = args.CertificateSecret != ""
	o.TLSDir = TLSDir
	return NginxConf(args.Routes, o)
}

// Checksum identifies a config; it is a pod annotation, so changing nginx.conf rolls the pods.
func Checksum(conf string) string {
	sum := sha256.Sum256([]byte(conf))
	return hex.EncodeToString(sum[:])
}

func labels() pulumi.StringMap {
	return pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(Name), "app.kubernetes.io/part-of": pulumi.String("shoestring")}
}

// NamespaceArgs is the edge's own namespace: the only one at the privileged Pod Security level,
// which host networking and host ports need (baseline forbids both).
func NamespaceArgs(namespace string) *corev1.NamespaceArgs {
	return podsecurity.NamespaceArgs(namespace, "privileged")
}

func ConfigMapArgs(namespace, conf string) *corev1.ConfigMapArgs {
	return &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: pulumi.String(namespace), Labels: labels()},
		Data:     pulumi.StringMap{ConfigKey: pulumi.String(conf)},
	}
}

// DaemonSetArgs runs nginx on every node's network: host ports 80 (and 443 with a certificate),
// dnsPolicy ClusterFirstWithHostNet so upstream names resolve through the cluster DNS, small
// requests, a readiness probe on the health port, and one node at a time during updates.
func DaemonSetArgs(args *Args, conf string) *appsv1.DaemonSetArgs {
	return daemonSetArgs(args, conf, pulumi.StringMap{ChecksumAnnot: pulumi.String(Checksum(conf))})
}

func daemonSetArgs(args *Args, conf string, annotations pulumi.StringMap) *appsv1.DaemonSetArgs {
	o := args.Conf
	tls := args.CertificateSecret != ""
	ports := corev1.ContainerPortArray{
		corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(o.HTTPPort), HostPort: pulumi.Int(o.HTTPPort), Protocol: pulumi.String("TCP")},
	}
	mounts := corev1.VolumeMountArray{
		corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String(configDir), ReadOnly: pulumi.Bool(true)},
		corev1.VolumeMountArgs{Name: pulumi.String("run"), MountPath: pulumi.String(prefixDir)},
	}
	volumes := corev1.VolumeArray{
		corev1.VolumeArgs{Name: pulumi.String("config"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: pulumi.String(Name)}},
		corev1.VolumeArgs{Name: pulumi.String("run"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("64Mi")}},
	}
	if tls {
		ports = append(ports, corev1.ContainerPortArgs{Name: pulumi.String("https"), ContainerPort: pulumi.Int(o.HTTPSPort), HostPort: pulumi.Int(o.HTTPSPort), Protocol: pulumi.String("TCP")})
		mounts = append(mounts, corev1.VolumeMountArgs{Name: pulumi.String("tls"), MountPath: pulumi.String(TLSDir), ReadOnly: pulumi.Bool(true)})
		volumes = append(volumes, corev1.VolumeArgs{Name: pulumi.String("tls"), Secret: &corev1.SecretVolumeSourceArgs{SecretName: pulumi.String(args.CertificateSecret)}})
	}
	// With host networking the health port is bound on the node itself; it is not a host port
	// anyone outside needs (the firewall opens only 80 and 443).
	ports = append(ports, corev1.ContainerPortArgs{Name: pulumi.String("health"), ContainerPort: pulumi.Int(o.HealthPort), Protocol: pulumi.String("TCP")})
	probe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String("/healthz"), Port: pulumi.String("health")},
			PeriodSeconds:    pulumi.Int(period),
			FailureThreshold: pulumi.Int(failures),
			TimeoutSeconds:   pulumi.Int(2),
		}
	}
	return &appsv1.DaemonSetArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: pulumi.String(args.Namespace), Labels: labels()},
		Spec: &appsv1.DaemonSetSpecArgs{
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels()},
			// Host ports allow one pod per node, so an update replaces pods (no surge), one node at
			// a time while the others keep serving.
			UpdateStrategy: &appsv1.DaemonSetUpdateStrategyArgs{
				Type:          pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDaemonSetArgs{MaxUnavailable: pulumi.Int(1), MaxSurge: pulumi.Int(0)},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels:      labels(),
					Annotations: annotations,
				},
				Spec: &corev1.PodSpecArgs{
					HostNetwork:                   pulumi.Bool(true),
					DnsPolicy:                     pulumi.String("ClusterFirstWithHostNet"),
					AutomountServiceAccountToken:  pulumi.Bool(false),
					TerminationGracePeriodSeconds: pulumi.Int(30),
					// Every node the DNS name points at must answer, tainted or not.
					Tolerations: corev1.TolerationArray{corev1.TolerationArgs{Operator: pulumi.String("Exists"), Effect: pulumi.String("NoSchedule")}},
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:    pulumi.String("nginx"),
						Image:   pulumi.String(args.Image),
						Command: pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String("-c"), pulumi.String(StartScript), pulumi.String("edge-start")},
						Args:    pulumi.StringArray{pulumi.String("-g"), pulumi.String("daemon off;")},
						Ports:   ports,
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String(args.CPURequest), "memory": pulumi.String(args.MemoryRequest)},
							Limits:   pulumi.StringMap{"memory": pulumi.String(args.MemoryLimit)},
						},
						ReadinessProbe: probe(5, 2),
						LivenessProbe:  probe(10, 6),
						VolumeMounts:   mounts,
						// The master binds 80/443 and hands requests to unprivileged workers.
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							Capabilities: &corev1.CapabilitiesArgs{
								Drop: pulumi.StringArray{pulumi.String("ALL")},
								Add:  pulumi.StringArray{pulumi.String("NET_BIND_SERVICE"), pulumi.String("SETUID"), pulumi.String("SETGID"), pulumi.String("CHOWN")},
							},
						},
					}},
					Volumes: volumes,
				},
			},
		},
	}
}
