// Package backing is a database or cache the services use. Whatever the mode, it is reached inside the
// namespace at <name>:<port>, so services use the same host name in every environment:
//   - in-cluster: a StatefulSet with one replica and a volume per pod, behind a Service;
//   - external: a Service with that name pointing outside (ExternalName for a host name; no selector
//     and an EndpointSlice for an IP address, which ExternalName cannot hold).
package backing

import (
	"net"

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
	Engine    string // mysql, postgresql, redis
	Port      int
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
		ss, err := appsv1.NewStatefulSet(ctx, a.Name, StatefulSetArgs(a), append(child, pulumi.DependsOn([]pulumi.Resource{svc}))...)
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
	port := corev1.ServicePortArgs{Name: pulumi.String(a.Engine), Port: pulumi.Int(a.Port), Protocol: pulumi.String("TCP")}
	spec := &corev1.ServiceSpecArgs{Ports: corev1.ServicePortArray{port}}
	switch {
	case a.InCluster != nil:
		spec.Type = pulumi.String("ClusterIP")
		spec.Selector = pulumi.ToStringMap(service.Selector(labels(a)))
		port.TargetPort = pulumi.String(a.Engine)
		spec.Ports = corev1.ServicePortArray{port}
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
		Ports: discoveryv1.EndpointPortArray{discoveryv1.EndpointPortArgs{
			Name: pulumi.String(a.Engine), Port: pulumi.Int(a.Port), Protocol: pulumi.String("TCP"),
		}},
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
		EnvFrom:  ic.EnvFrom,
		Security: service.Security{Restricted: ic.Restricted, RunAsUser: &user, FSGroup: &user},
		AppVolumeMounts: []corev1.VolumeMountArgs{{
			Name: pulumi.String("data"), MountPath: pulumi.String(dataDirs[a.Engine]),
		}},
	}
	c := service.Container{
		Image:     ic.Image,
		Resources: ic.Resources,
		Ports:     []service.Port{{Name: a.Engine, Port: a.Port}},
		Readiness: &service.Probe{PeriodSeconds: 5},
	}
	if a.Engine == "postgresql" {
		// The volume's root holds lost+found, which initdb refuses; PGDATA is a folder below it.
		c.Env = map[string]string{"PGDATA": dataDirs[a.Engine] + "/pgdata"}
	}
	claim := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources:   &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(ic.StorageSize)}},
	}
	if ic.StorageClass != "" {
		claim.StorageClassName = pulumi.String(ic.StorageClass)
	}
	return &appsv1.StatefulSetArgs{
		Metadata: service.Meta(a.Namespace, a.Name, l),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName: pulumi.String(a.Name),
			Replicas:    pulumi.Int(1),
			Selector:    &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(service.Selector(l))},
			Template:    service.PodTemplate(l, c, a.Engine, o),
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data")},
				Spec:     claim,
			}},
		},
	}
}
