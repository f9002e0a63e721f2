// Package service is one of the team's services: a Deployment and a Kubernetes Service with
// stable names, its workers (more Deployments from the same image and configuration) and its
// CronJobs, all built from one pod builder (PodSpec) so that they share image, envFrom, resources and
// security without repeating them. Release Jobs are in components/release and use the same
// builder.
package service

import (
	"maps"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	batchv1beta1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1beta1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:service:Service"

// Component labels.
const (
	ComponentServer  = "server"
	ComponentWorker  = "worker"
	ComponentCronJob = "cronjob"
	ComponentRelease = "release"
)

type Args struct {
	Namespace string
	Name      string
	Container Container
	Replicas  int
	Pod       PodOptions
	Workers   []Worker
	CronJobs  []CronJob
	// BatchAPIVersion of the CronJobs: "batch/v1" or "batch/v1beta1".
	BatchAPIVersion string
	// After are what every object waits for: the namespace and the ConfigMaps and Secrets it reads.
	After []pulumi.Resource
	// RolloutAfter are what Deployments and CronJobs also wait for: the release's before-Jobs.
	RolloutAfter []pulumi.Resource

	// Prod hardening of the server pods (not the workers'); each nil when not wanted.
	Spread           *Spread
	DisruptionBudget *DisruptionBudget
	Autoscaling      *Autoscaling
}

// DisruptionBudget is a PodDisruptionBudget of the server pods: one of the two is set.
type DisruptionBudget struct {
	MinAvailable   *int
	MaxUnavailable *int
}

// Autoscaling is a HorizontalPodAutoscaler of the server Deployment on CPU utilisation.
type Autoscaling struct {
	MinReplicas, MaxReplicas int
	TargetCPUUtilization     int // percent of the CPU request
}

// Worker is another Deployment of the service's image and configuration.
type Worker struct {
	Name      string
	Command   []string
	Args      []string
	Replicas  int
	Resources *Resources // nil: the service's
}

// CronJob is a scheduled command inheriting the service's container and pod options.
type CronJob struct {
	Name                       string
	Command                    []string
	Args                       []string
	Schedule                   string
	TimeZone                   string
	ConcurrencyPolicy          string
	SuccessfulJobsHistoryLimit int
	FailedJobsHistoryLimit     int
	StartingDeadlineSeconds    *int
	ActiveDeadlineSeconds      *int
	BackoffLimit               int
	Suspend                    bool
	Resources                  *Resources // nil: the service's
	// Env is set on the CronJob's container on top of the service's container env.
	Env map[string]string
}

// Service is the component.
type Service struct {
	pulumi.ResourceState

	Deployments []*appsv1.Deployment // the server first, then the workers
	Service     *corev1.Service      // nil without ports
	CronJobs    []pulumi.CustomResource
	PDB         *policyv1.PodDisruptionBudget          // nil without a disruption budget
	HPA         *autoscalingv2.HorizontalPodAutoscaler // nil without autoscaling
}

func New(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) (*Service, error) {
	s := &Service{}
	if err := ctx.RegisterComponentResource(TypeToken, name, s, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(s)}
	if len(a.After) > 0 {
		child = append(child, pulumi.DependsOn(a.After))
	}
	rollout := child
	if len(a.RolloutAfter) > 0 {
		rollout = append(append([]pulumi.ResourceOption{}, child...), pulumi.DependsOn(a.RolloutAfter))
	}
	dopts := rollout
	if a.Autoscaling != nil {
		// The HorizontalPodAutoscaler owns spec.replicas once it runs: without ignoreChanges every
		// update would set it back to the stack's count (and the provider's server-side apply would
		// take the field back from the autoscaler). DeploymentArgs still sets it, as the count the
		// Deployment starts with (minReplicas), so the first rollout has pods before the autoscaler
		// acts; a changed minReplicas is the autoscaler's to apply.
		dopts = append(append([]pulumi.ResourceOption{}, rollout...), pulumi.IgnoreChanges([]string{"spec.replicas"}))
	}
	d, err := appsv1.NewDeployment(ctx, a.Name, DeploymentArgs(a), dopts...)
	if err != nil {
		return nil, err
	}
	s.Deployments = append(s.Deployments, d)
	if a.DisruptionBudget != nil {
		if s.PDB, err = policyv1.NewPodDisruptionBudget(ctx, a.Name, PodDisruptionBudgetArgs(a), child...); err != nil {
			return nil, err
		}
	}
	if a.Autoscaling != nil {
		if s.HPA, err = autoscalingv2.NewHorizontalPodAutoscaler(ctx, a.Name, HorizontalPodAutoscalerArgs(a), append(append([]pulumi.ResourceOption{}, child...), pulumi.DependsOn([]pulumi.Resource{d}))...); err != nil {
			return nil, err
		}
	}
	if len(a.Container.Ports) > 0 {
		if s.Service, err = corev1.NewService(ctx, a.Name, ServiceArgs(a), child...); err != nil {
			return nil, err
		}
	}
	for _, w := range a.Workers {
		d, err := appsv1.NewDeployment(ctx, a.Name+"-"+w.Name, WorkerDeploymentArgs(a, w), rollout...)
		if err != nil {
			return nil, err
		}
		s.Deployments = append(s.Deployments, d)
	}
	for _, cj := range a.CronJobs {
		var r pulumi.CustomResource
		if a.BatchAPIVersion == "batch/v1beta1" {
			r, err = batchv1beta1.NewCronJob(ctx, a.Name+"-"+cj.Name, CronJobV1beta1Args(a, cj), rollout...)
		} else {
			r, err = batchv1.NewCronJob(ctx, a.Name+"-"+cj.Name, CronJobArgs(a, cj), rollout...)
		}
		if err != nil {
			return nil, err
		}
		s.CronJobs = append(s.CronJobs, r)
	}
	out := pulumi.Map{"name": pulumi.String(a.Name)}
	if err := ctx.RegisterResourceOutputs(s, out); err != nil {
		return nil, err
	}
	return s, nil
}

// Labels are the labels of a service's objects of one component; extra pairs name a worker, CronJob
// or release Job.
func Labels(service, component string, extra ...string) map[string]string {
	l := map[string]string{LabelName: service, LabelComponent: component, LabelPartOf: PartOf}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// Selector is the part of Labels that picks a Deployment's pods (part-of is left out so it may change).
func Selector(labels map[string]string) map[string]string {
	s := map[string]string{}
	for k, v := range labels {
		if k != LabelPartOf {
			s[k] = v
		}
	}
	return s
}

// DeploymentArgs is the service's own Deployment, named like the service. With autoscaling it
// starts at minReplicas (the autoscaler owns the count afterwards); with spread its pods carry the
// topology spread constraint.
func DeploymentArgs(a *Args) *appsv1.DeploymentArgs {
	replicas := a.Replicas
	if a.Autoscaling != nil {
		replicas = a.Autoscaling.MinReplicas
	}
	labels := Labels(a.Name, ComponentServer)
	d := deploymentArgs(a.Namespace, a.Name, labels, replicas, a.Container, a.Pod)
	if sp := a.Spread; sp != nil {
		d.Spec.(*appsv1.DeploymentSpecArgs).Template.(*corev1.PodTemplateSpecArgs).Spec.(*corev1.PodSpecArgs).TopologySpreadConstraints = corev1.TopologySpreadConstraintArray{
			corev1.TopologySpreadConstraintArgs{
				MaxSkew:           pulumi.Int(sp.MaxSkew),
				TopologyKey:       pulumi.String(sp.TopologyKey),
				WhenUnsatisfiable: pulumi.String(sp.WhenUnsatisfiable),
				LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(Selector(labels))},
			},
		}
	}
	return d
}

// PodDisruptionBudgetArgs limits voluntary evictions (node drains, upgrades) of the server pods.
func PodDisruptionBudgetArgs(a *Args) *policyv1.PodDisruptionBudgetArgs {
	labels := Labels(a.Name, ComponentServer)
	spec := &policyv1.PodDisruptionBudgetSpecArgs{
		Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(Selector(labels))},
	}
	if b := a.DisruptionBudget; b.MinAvailable != nil {
		spec.MinAvailable = pulumi.Int(*b.MinAvailable)
	} else {
		spec.MaxUnavailable = pulumi.Int(*b.MaxUnavailable)
	}
	return &policyv1.PodDisruptionBudgetArgs{Metadata: Meta(a.Namespace, a.Name, labels), Spec: spec}
}

// HorizontalPodAutoscalerArgs scales the server Deployment on the pods' average CPU utilisation.
func HorizontalPodAutoscalerArgs(a *Args) *autoscalingv2.HorizontalPodAutoscalerArgs {
	h := a.Autoscaling
	return &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: Meta(a.Namespace, a.Name, Labels(a.Name, ComponentServer)),
		Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
			ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
				ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: pulumi.String(a.Name),
			},
			MinReplicas: pulumi.Int(h.MinReplicas),
			MaxReplicas: pulumi.Int(h.MaxReplicas),
			Metrics: autoscalingv2.MetricSpecArray{autoscalingv2.MetricSpecArgs{
				Type: pulumi.String("Resource"),
				Resource: &autoscalingv2.ResourceMetricSourceArgs{
					Name:   pulumi.String("cpu"),
					Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(h.TargetCPUUtilization)},
				},
			}},
		},
	}
}

// WorkerDeploymentArgs is a worker's Deployment: the service's container with the worker's command,
// no ports and no probes (those belong to the server).
func WorkerDeploymentArgs(a *Args, w Worker) *appsv1.DeploymentArgs {
	c := derived(a.Container, w.Command, w.Args, w.Resources)
	return deploymentArgs(a.Namespace, a.Name+"-"+w.Name, Labels(a.Name, ComponentWorker, LabelWorker, w.Name), w.Replicas, c, a.Pod)
}

// WithEnv is base with extra on top (a new map; base is not changed).
func WithEnv(base, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return base
	}
	out := make(map[string]string, len(base)+len(extra))
	maps.Copy(out, base)
	maps.Copy(out, extra)
	return out
}

// derived is the service's container running another command: same image and env, no ports or probes.
func derived(c Container, command, args []string, res *Resources) Container {
	c.Command, c.Args = command, args
	c.Ports, c.Readiness, c.Liveness = nil, nil, nil
	if res != nil {
		c.Resources = *res
	}
	return c
}

func deploymentArgs(ns, name string, labels map[string]string, replicas int, c Container, o PodOptions) *appsv1.DeploymentArgs {
	return &appsv1.DeploymentArgs{
		Metadata: Meta(ns, name, labels),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(Selector(labels))},
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type: pulumi.String("RollingUpdate"),
				// Keep every old pod until its replacement is ready: small clusters have no spare
				// capacity to lose, and a failed rollout leaves the old version serving.
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(0), MaxSurge: pulumi.Int(1)},
			},
			RevisionHistoryLimit: pulumi.Int(5),
			Template:             PodTemplate(labels, c, "app", o),
		},
	}
}

// ServiceArgs is the Kubernetes Service in front of the server pods: <name>.<namespace>.svc.
func ServiceArgs(a *Args) *corev1.ServiceArgs {
	var ports corev1.ServicePortArray
	for _, p := range a.Container.Ports {
		ports = append(ports, corev1.ServicePortArgs{
			Name: pulumi.String(p.Name), Port: pulumi.Int(p.Port), TargetPort: pulumi.String(p.Name), Protocol: pulumi.String("TCP"),
		})
	}
	labels := Labels(a.Name, ComponentServer)
	return &corev1.ServiceArgs{
		Metadata: Meta(a.Namespace, a.Name, labels),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(Selector(labels)),
			Ports:    ports,
		},
	}
}

// cronJobParts is what batch/v1 and batch/v1beta1 CronJobs share: labels and the Job spec.
func cronJobParts(a *Args, cj CronJob) (map[string]string, *batchv1.JobSpecArgs) {
	labels := Labels(a.Name, ComponentCronJob, LabelCronJob, cj.Name)
	c := derived(a.Container, cj.Command, cj.Args, cj.Resources)
	c.Env = WithEnv(c.Env, cj.Env)
	o := a.Pod
	o.RestartPolicy = "Never"
	spec := &batchv1.JobSpecArgs{
		BackoffLimit: pulumi.Int(cj.BackoffLimit),
		Template:     PodTemplate(labels, c, "job", o),
	}
	if cj.ActiveDeadlineSeconds != nil {
		spec.ActiveDeadlineSeconds = pulumi.Int(*cj.ActiveDeadlineSeconds)
	}
	return labels, spec
}

// CronJobArgs is a batch/v1 CronJob named <service>-<cron>.
func CronJobArgs(a *Args, cj CronJob) *batchv1.CronJobArgs {
	labels, job := cronJobParts(a, cj)
	spec := &batchv1.CronJobSpecArgs{
		Schedule:                   pulumi.String(cj.Schedule),
		ConcurrencyPolicy:          pulumi.String(cj.ConcurrencyPolicy),
		SuccessfulJobsHistoryLimit: pulumi.Int(cj.SuccessfulJobsHistoryLimit),
		FailedJobsHistoryLimit:     pulumi.Int(cj.FailedJobsHistoryLimit),
		Suspend:                    pulumi.Bool(cj.Suspend),
		JobTemplate:                &batchv1.JobTemplateSpecArgs{Metadata: metaNoName(labels, nil), Spec: job},
	}
	if cj.TimeZone != "" {
		spec.TimeZone = pulumi.String(cj.TimeZone)
	}
	if cj.StartingDeadlineSeconds != nil {
		spec.StartingDeadlineSeconds = pulumi.Int(*cj.StartingDeadlineSeconds)
	}
	return &batchv1.CronJobArgs{Metadata: Meta(a.Namespace, a.Name+"-"+cj.Name, labels), Spec: spec}
}

// CronJobV1beta1Args is the same CronJob as batch/v1beta1, for clusters older than Kubernetes
// 1.21. That version has no timeZone; validation refuses one there.
func CronJobV1beta1Args(a *Args, cj CronJob) *batchv1beta1.CronJobArgs {
	labels, job := cronJobParts(a, cj)
	spec := &batchv1beta1.CronJobSpecArgs{
		Schedule:                   pulumi.String(cj.Schedule),
		ConcurrencyPolicy:          pulumi.String(cj.ConcurrencyPolicy),
		SuccessfulJobsHistoryLimit: pulumi.Int(cj.SuccessfulJobsHistoryLimit),
		FailedJobsHistoryLimit:     pulumi.Int(cj.FailedJobsHistoryLimit),
		Suspend:                    pulumi.Bool(cj.Suspend),
		JobTemplate:                &batchv1beta1.JobTemplateSpecArgs{Metadata: metaNoName(labels, nil), Spec: job},
	}
	if cj.StartingDeadlineSeconds != nil {
		spec.StartingDeadlineSeconds = pulumi.Int(*cj.StartingDeadlineSeconds)
	}
	return &batchv1beta1.CronJobArgs{Metadata: Meta(a.Namespace, a.Name+"-"+cj.Name, labels), Spec: spec}
}

// Meta is an object's metadata: explicit name and namespace (never auto-named), labels.
func Meta(ns, name string, labels map[string]string) *metav1.ObjectMetaArgs {
	m := &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(ns)}
	if len(labels) > 0 {
		m.Labels = pulumi.ToStringMap(labels)
	}
	return m
}

func metaNoName(labels, annotations map[string]string) *metav1.ObjectMetaArgs {
	m := &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(labels)}
	if len(annotations) > 0 {
		m.Annotations = pulumi.ToStringMap(annotations)
	}
	return m
}
