// Package backing is a database or cache the services use. Whatever the mode, it is reached inside the
// namespace at <name>:<port>, so services use the same host name in every environment:
//   - in-cluster: a StatefulSet with one replica and a volume per pod, behind a Service;
//   - external: a Service with that name pointing outside (ExternalName for a host name; no selector
//     and an EndpointSlice for an IP address, which ExternalName cannot hold).
package backing

import (
	"fmt"
	"net"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	discoveryv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/discovery/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/service"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:backing:Backing"

// ComponentBacking labels a backing service's objects.
const ComponentBacking = "backing"

type Args struct {
	Namespace string
	Name      string
	Engine    string // mysql, postgresql, redis or generic
	Port      int
	// Ports (engine generic) are the Service's and container's ports; others have one, named after
	// the engine, on Port.
	Ports []service.Port
	// Exactly one of InCluster and External.
	InCluster *InClusterArgs
	External  *ExternalArgs
	// After are what every object waits for (the namespace and the ConfigMaps and Secrets it reads).
	After []pulumi.Resource
}

type InClusterArgs struct {
	Image        string
	StorageSize  string
	StorageClass string // "": the cluster's default
	EnvFrom      []service.ConfigRef
	Resources    service.Resources
	RunAsUser    int
	Restricted   bool
	// ImagePullSecrets of the pod.
	ImagePullSecrets []string
	// Databases (mysql, postgresql) are created by an init script, the ConfigMap <name>-initdb
	// mounted at /docker-entrypoint-initdb.d.
	Databases []string
	// Engine generic: the container's command and arguments (nil: the image's), and its volume
	// (nil: none, no claim template).
	Command, Args []string
	Volume        *Volume
}

// Volume is a generic backing service's persistent volume.
type Volume struct {
	Size, MountPath string
}

type ExternalArgs struct {
	Host string // host name or IP address
}

// Backing is the component.
type Backing struct {
	pulumi.ResourceState

	// Ready is what dependents wait for: the StatefulSet, or the external Service.
	Ready pulumi.Resource
}

// dataDirs are where each engine's official image keeps its data.
var dataDirs = map[string]string{
	"mysql":      "/var/lib/mysql",
	"postgresql": "/var/lib/postgresql/data",
	"redis":      "/data",
}

func New(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) (*Backing, error) {
	b := &Backing{}
	if err := ctx.RegisterComponentResource(TypeToken, name, b, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(b)}
	if len(a.After) > 0 {
		child = append(child, pulumi.DependsOn(a.After))
	}
	svc, err := corev1.NewService(ctx, a.Name, ServiceArgs(a), child...)
	if err != nil {
		return nil, err
	}
	b.Ready = svc
	switch {
	case a.InCluster != nil:
		deps := []pulumi.Resource{svc}
		if len(a.InCluster.Databases) > 0 {
			cm, err := corev1.NewConfigMap(ctx, InitDBConfigMap(a.Name), InitDBConfigMapArgs(a), child...)
			if err != nil {
				return nil, err
			}
			deps = append(deps, cm)
		}
		ss, err := appsv1.NewStatefulSet(ctx, a.Name, StatefulSetArgs(a), append(child, pulumi.DependsOn(deps))...)
		if err != nil {
			return nil, err
		}
		b.Ready = ss
	case net.ParseIP(a.External.Host) != nil:
		if _, err := discoveryv1.NewEndpointSlice(ctx, a.Name+"-external", EndpointSliceArgs(a), child...); err != nil {
			return nil, err
		}
	}
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{"host": pulumi.String(a.Name), "port": pulumi.Int(a.Port)}); err != nil {
		return nil, err
	}
	return b, nil
}

func labels(a *Args) map[string]string {
	return service.Labels(a.Name, ComponentBacking)
}

// ServiceArgs is the name services connect to.
func ServiceArgs(a *Args) *corev1.ServiceArgs {
	var ports corev1.ServicePortArray
	for _, p := range backingPorts(a) {
		port := corev1.ServicePortArgs{Name: pulumi.String(p.Name), Port: pulumi.Int(p.Port), Protocol: pulumi.String("TCP")}
		if a.InCluster != nil {
			port.TargetPort = pulumi.String(p.Name)
		}
		ports = append(ports, port)
	}
	spec := &corev1.ServiceSpecArgs{Ports: ports}
	switch {
	case a.InCluster != nil:
		spec.Type = pulumi.String("ClusterIP")
		spec.Selector = pulumi.ToStringMap(service.Selector(labels(a)))
	case net.ParseIP(a.External.Host) != nil:
		spec.Type = pulumi.String("ClusterIP") // no selector: the EndpointSlice names the address
	default:
		spec.Type = pulumi.String("ExternalName")
		spec.ExternalName = pulumi.String(a.External.Host)
	}
	return &corev1.ServiceArgs{Metadata: service.Meta(a.Namespace, a.Name, labels(a)), Spec: spec}
}

// EndpointSliceArgs points the selector-less Service at an external IP address.
func EndpointSliceArgs(a *Args) *discoveryv1.EndpointSliceArgs {
	l := labels(a)
	l["kubernetes.io/service-name"] = a.Name
	addrType := "IPv4"
	if net.ParseIP(a.External.Host).To4() == nil {
		addrType = "IPv6"
	}
	return &discoveryv1.EndpointSliceArgs{
		Metadata:    service.Meta(a.Namespace, a.Name+"-external", l),
		AddressType: pulumi.String(addrType),
		Endpoints:   discoveryv1.EndpointArray{discoveryv1.EndpointArgs{Addresses: pulumi.StringArray{pulumi.String(a.External.Host)}}},
		Ports:       endpointPorts(a),
	}
}

func endpointPorts(a *Args) discoveryv1.EndpointPortArray {
	var out discoveryv1.EndpointPortArray
	for _, p := range backingPorts(a) {
		out = append(out, discoveryv1.EndpointPortArgs{Name: pulumi.String(p.Name), Port: pulumi.Int(p.Port), Protocol: pulumi.String("TCP")})
	}
	return out
}

// backingPorts are the backing service's ports: generic's list, or one named after the engine.
func backingPorts(a *Args) []service.Port {
	if len(a.Ports) > 0 {
		return a.Ports
	}
	return []service.Port{{Name: a.Engine, Port: a.Port}}
}

// initDBDir is where the official mysql and postgres images run init scripts from (once, when the
// data folder is empty).
const initDBDir = "/docker-entrypoint-initdb.d"

// InitDBConfigMap names the ConfigMap of a backing service's init script.
func InitDBConfigMap(name string) string { return name + "-initdb" }

// InitDBScript is the init script that creates each database and gives it to the image's
// application user. The official images source *.sh files from initDBDir with their helpers
// loaded: mysql's docker_process_sql connects as root; postgres's psql as POSTGRES_USER. Names are
// validated (lowercase letters, digits, '_') so they need no quoting beyond the identifier quotes.
func InitDBScript(engine string, databases []string) string {
	var b strings.Builder
	b.WriteString("# Written by shoestring: creates the databases of backing[].databases.\n")
	switch engine {
	case "mysql":
		for _, d := range databases {
			fmt.Fprintf(&b, "docker_process_sql --database=mysql <<'EOSQL'\nCREATE DATABASE IF NOT EXISTS `%s`;\nEOSQL\n", d)
			fmt.Fprintf(&b, "if [ -n \"$MYSQL_USER\" ]; then\n  echo \"GRANT ALL PRIVILEGES ON \\`%s\\`.* TO '$MYSQL_USER'@'%%';\" | docker_process_sql --database=mysql\nfi\n", d)
		}
	case "postgresql":
		for _, d := range databases {
			// An unquoted here-document: $POSTGRES_USER expands, \gexec stays as written (echo
			// would be shell-dependent about the backslash).
			fmt.Fprintf(&b, "psql -v ON_ERROR_STOP=1 --username \"$POSTGRES_USER\" --dbname postgres <<EOSQL\n"+
				"SELECT 'CREATE DATABASE \"%s\" OWNER \"$POSTGRES_USER\"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '%s')\\gexec\nEOSQL\n", d, d)
		}
	}
	return b.String()
}

// InitDBConfigMapArgs holds the init script.
func InitDBConfigMapArgs(a *Args) *corev1.ConfigMapArgs {
	return &corev1.ConfigMapArgs{
		Metadata: service.Meta(a.Namespace, InitDBConfigMap(a.Name), labels(a)),
		Data:     pulumi.StringMap{"shoestring-databases.sh": pulumi.String(InitDBScript(a.Engine, a.InCluster.Databases))},
	}
}

// StatefulSetArgs is the in-cluster engine: one replica, its data on a PersistentVolumeClaim made
// from the claim template (kept when the StatefulSet is deleted), running as the image's non-root
// user so it passes the restricted Pod Security level.
func StatefulSetArgs(a *Args) *appsv1.StatefulSetArgs {
	ic := a.InCluster
	l := labels(a)
	user := ic.RunAsUser
	o := service.PodOptions{
		EnvFrom:          ic.EnvFrom,
		Security:         service.Security{Restricted: ic.Restricted, RunAsUser: &user, FSGroup: &user},
		ImagePullSecrets: ic.ImagePullSecrets,
	}
	dataDir, size := dataDirs[a.Engine], ic.StorageSize
	if ic.Volume != nil {
		dataDir, size = ic.Volume.MountPath, ic.Volume.Size
	}
	if dataDir != "" {
		o.AppVolumeMounts = append(o.AppVolumeMounts, corev1.VolumeMountArgs{Name: pulumi.String("data"), MountPath: pulumi.String(dataDir)})
	}
	if len(ic.Databases) > 0 {
		o.Volumes = append(o.Volumes, corev1.VolumeArgs{
			Name:      pulumi.String("initdb"),
			ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: pulumi.String(InitDBConfigMap(a.Name))},
		})
		o.AppVolumeMounts = append(o.AppVolumeMounts, corev1.VolumeMountArgs{Name: pulumi.String("initdb"), MountPath: pulumi.String(initDBDir), ReadOnly: pulumi.Bool(true)})
	}
	c := service.Container{
		Image:     ic.Image,
		Command:   ic.Command,
		Args:      ic.Args,
		Resources: ic.Resources,
		Ports:     backingPorts(a),
		Readiness: &service.Probe{PeriodSeconds: 5},
	}
	if a.Engine == "postgresql" {
		// The volume's root holds lost+found, which initdb refuses; PGDATA is a folder below it.
		c.Env = map[string]string{"PGDATA": dataDirs[a.Engine] + "/pgdata"}
	}
	claim := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources:   &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(size)}},
	}
	if ic.StorageClass != "" {
		claim.StorageClassName = pulumi.String(ic.StorageClass)
	}
	spec := &appsv1.StatefulSetSpecArgs{
		ServiceName: pulumi.String(a.Name),
		Replicas:    pulumi.Int(1),
		Selector:    &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(service.Selector(l))},
		Template:    service.PodTemplate(l, c, a.Engine, o),
	}
	if dataDir != "" {
		spec.VolumeClaimTemplates = corev1.PersistentVolumeClaimTypeArray{corev1.PersistentVolumeClaimTypeArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data")},
			Spec:     claim,
		}}
	}
	return &appsv1.StatefulSetArgs{Metadata: service.Meta(a.Namespace, a.Name, l), Spec: spec}
}
