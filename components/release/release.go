// Package release runs the commands of a release as Kubernetes Jobs: migrations before the
// rollout, cache clears after it. Jobs of one phase run one after another in their given order; each
// is a fresh Job named after a release id (a hash of everything it runs), so a new image, command or
// configuration makes a new Job and nothing else does. Jobs do not retry unless asked, have a
// deadline, and wait for their dependencies (a database's host:port) in init containers.
//
// Ordering is Pulumi's: the first Job of the before phase depends on the environment, each next Job on
// the one before it, the Deployments on every before-Job (components/service's RolloutAfter), and the
// after phase on the Deployments. Pulumi's Kubernetes provider waits for a Job to complete before
// creating what depends on it, so a failing before-Job stops the rollout with the old Deployments
// still serving.
package release

import (
	"encoding/json"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/service"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:release:Release"

type Args struct {
	Namespace string
	// Jobs in the order they run.
	Jobs []Job
	// After are what the first Job waits for.
	After []pulumi.Resource
}

// Job is one release command of a service, inheriting the service's container and pod options.
type Job struct {
	Service               string
	Name                  string
	Container             service.Container // the service's, with the Job's command
	Pod                   service.PodOptions
	ActiveDeadlineSeconds int
	BackoffLimit          int
}

// Release is the component.
type Release struct {
	pulumi.ResourceState

	// Jobs in order; the last one completing means the phase is done.
	Jobs []*batchv1.Job
	// Names are the Jobs' Kubernetes names (with the release id), in order.
	Names []string
}

func New(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) (*Release, error) {
	r := &Release{}
	if err := ctx.RegisterComponentResource(TypeToken, name, r, opts...); err != nil {
		return nil, err
	}
	after := a.After
	for _, j := range a.Jobs {
		o := []pulumi.ResourceOption{pulumi.Parent(r)}
		if len(after) > 0 {
			o = append(o, pulumi.DependsOn(after))
		}
		// The logical name is stable and the Kubernetes name carries the release id, so a new
		// release replaces the Job (a new one runs, the old one is deleted) and an unchanged release
		// leaves it alone.
		job, err := batchv1.NewJob(ctx, j.Service+"-"+j.Name, JobArgs(a.Namespace, j), o...)
		if err != nil {
			return nil, err
		}
		r.Jobs = append(r.Jobs, job)
		r.Names = append(r.Names, JobName(j))
		after = []pulumi.Resource{job}
	}
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{"jobs": pulumi.ToStringArray(r.Names)}); err != nil {
		return nil, err
	}
	return r, nil
}

// ID is the release id of a Job: a hash of its image, command, arguments, own env, resources, the checksums of
// the configuration it reads, what it waits for, its security settings and limits, and the pod
// extensions (init containers, sidecars, volumes, DNS settings) other code adds. A Job's pod template
// cannot change in place, so everything in it must be in its name.
func ID(j Job) string {
	o := j.Pod
	// Extensions are SDK args; built from plain values they hash like plain values. An extension
	// holding a Pulumi output cannot be hashed (its value is not known yet) and is left out.
	ext, err := json.Marshal([]any{o.InitContainers, o.Sidecars, o.Volumes, o.AppVolumeMounts, o.DNSConfig})
	if err != nil {
		ext = []byte("unhashable")
	}
	parts := []any{j.Container, o.EnvFrom, o.WaitFor, o.WaitForImage, o.Security,
		j.ActiveDeadlineSeconds, j.BackoffLimit, string(ext)}
	// Later additions to the pod are hashed only when set, so that the ids of Jobs that do not use
	// them stay what they were (a changed id reruns the Job).
	if len(o.ImagePullSecrets) > 0 {
		parts = append(parts, map[string]any{"imagePullSecrets": o.ImagePullSecrets})
	}
	if len(o.WritablePaths) > 0 {
		parts = append(parts, map[string]any{"writablePaths": o.WritablePaths})
	}
	return service.ReleaseID(parts...)
}

// JobName is <service>-<job>-<release id>.
func JobName(j Job) string { return j.Service + "-" + j.Name + "-" + ID(j) }

// JobArgs is the Job of one release command.
func JobArgs(ns string, j Job) *batchv1.JobArgs {
	labels := service.Labels(j.Service, service.ComponentRelease, service.LabelRelease, j.Name)
	o := j.Pod
	o.RestartPolicy = "Never"
	meta := service.Meta(ns, JobName(j), labels)
	// A Job that failed in an earlier `pulumi up` is replaced, not kept, when the same release is
	// deployed again: the retry reruns the command.
	meta.Annotations = pulumi.StringMap{"pulumi.com/replaceUnready": pulumi.String("true")}
	return &batchv1.JobArgs{
		Metadata: meta,
		Spec: &batchv1.JobSpecArgs{
			ActiveDeadlineSeconds: pulumi.Int(j.ActiveDeadlineSeconds),
			BackoffLimit:          pulumi.Int(j.BackoffLimit),
			// No ttlSecondsAfterFinished: a finished Job and its logs stay until the next release
			// replaces it.
			Template: service.PodTemplate(labels, j.Container, "job", o),
		},
	}
}
