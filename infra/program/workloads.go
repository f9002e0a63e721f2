package program

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/backing"
	"github.com/shoestring-dev/shoestring/components/environment"
	"github.com/shoestring-dev/shoestring/components/release"
	"github.com/shoestring-dev/shoestring/components/service"
	"github.com/shoestring-dev/shoestring/stacks"
)

// WorkloadsPlan is the workloads section of a stack mapped to component arguments: pure data, the
// same for every environment except where the stack's YAML differs.
type WorkloadsPlan struct {
	Environment *environment.Args
	Backing     []*backing.Args
	Services    []*service.Args
	// Before and After are the release Jobs of each phase in the order they run.
	Before, After []release.Job
	// RolloutAfter are the services a before-Job waits for (by name, host:port or URL host), each
	// with how many of Before run before its rollout: its own before-Jobs and what they wait for
	// (stacks.BeforeOrder). The other services roll out after all of Before.
	RolloutAfter map[string]int
}

// PlanWorkloads maps the stack's services, backing services and shared configuration to arguments.
func PlanWorkloads(cfg *stacks.Config) *WorkloadsPlan {
	w := &cfg.WorkloadsConfig
	p := &WorkloadsPlan{Environment: &environment.Args{
		Namespace: w.Namespace,
		PodSecurity: environment.PodSecurity{
			Enforce: w.PodSecurity.Enforce, Warn: w.PodSecurity.Warn, Audit: w.PodSecurity.Audit, Version: w.PodSecurity.Version,
		},
		CommonEnv:     w.CommonEnv,
		CommonSecrets: secretsOf(w, stacks.CommonSecretGroup, w.CommonSecretEnv),
	}}
	env := p.Environment
	if key, ok := cfg.ChecksumKey(); ok {
		env.ChecksumKey = key
	}
	if r := w.Registry; r.IsSet() {
		env.Registry = &environment.Registry{Server: r.Server, Username: r.Username, Password: w.Secrets[stacks.RegistrySecretGroup]["password"]}
	}
	for _, b := range w.Backing {
		if b.Mode == stacks.BackingInCluster {
			env.Configs = append(env.Configs, environment.Config{Owner: b.Name, Env: b.Env, Secrets: secretsOf(w, b.Name, b.SecretEnv)})
		}
	}
	for _, s := range w.Services {
		env.Configs = append(env.Configs, environment.Config{Owner: s.Name, Env: s.Env, Secrets: secretsOf(w, s.Name, s.SecretEnv)})
	}
	restricted := w.PodSecurity.Enforce == stacks.PodSecurityRestricted

	pullSecrets := pullSecrets(w)
	for _, b := range w.Backing {
		a := &backing.Args{Namespace: w.Namespace, Name: b.Name, Engine: b.Engine, Port: b.Port, Ports: ports(b.Ports)}
		if b.Mode == stacks.BackingExternal {
			a.External = &backing.ExternalArgs{Host: b.Host}
		} else {
			a.InCluster = &backing.InClusterArgs{
				Image: b.Image, StorageSize: b.StorageSize, StorageClass: b.StorageClass,
				EnvFrom:   environment.EnvFrom(env, b.Name, false),
				Resources: resources(b.Resources), RunAsUser: b.RunAsUser,
				// Official database images run as their own non-root user: restricted whenever the
				// namespace enforces it, and also where it only warns.
				Restricted:       restricted || w.PodSecurity.Warn == stacks.PodSecurityRestricted,
				ImagePullSecrets: pullSecrets,
				Databases:        b.Databases, Command: b.Command, Args: b.Args,
			}
			if b.Volume != nil {
				a.InCluster.Volume = &backing.Volume{Size: b.Volume.Size, MountPath: b.Volume.MountPath}
			}
		}
		p.Backing = append(p.Backing, a)
	}

	endpoints := w.Endpoints()
	type ordered struct {
		job        release.Job
		order, svc int
		idx        int
	}
	var after []ordered
	beforeJobs := map[[2]int]release.Job{}
	for si, s := range w.Services {
		a := &service.Args{
			Namespace: w.Namespace, Name: s.Name, Replicas: *s.Replicas, BatchAPIVersion: w.BatchAPIVersion,
			Container: service.Container{
				Image: s.Image, Command: s.Command, Args: s.Args, Resources: resources(s.Resources),
				Ports: ports(s.Ports), Readiness: probe(s.Readiness), Liveness: probe(s.Liveness),
			},
			Pod: podOptions(w, env, s, s.WaitFor, endpoints),
		}
		if sp := s.Spread; sp != nil {
			a.Spread = &service.Spread{TopologyKey: sp.TopologyKey, MaxSkew: sp.MaxSkew, WhenUnsatisfiable: sp.WhenUnsatisfiable}
		}
		if b := s.DisruptionBudget; b != nil {
			a.DisruptionBudget = &service.DisruptionBudget{MinAvailable: b.MinAvailable, MaxUnavailable: b.MaxUnavailable}
		}
		if h := s.Autoscaling; h != nil {
			a.Autoscaling = &service.Autoscaling{MinReplicas: h.MinReplicas, MaxReplicas: h.MaxReplicas, TargetCPUUtilization: h.TargetCPUUtilization}
		}
		for _, wk := range s.Workers {
			sw := service.Worker{Name: wk.Name, Command: wk.Command, Args: wk.Args, Replicas: *wk.Replicas}
			if wk.Resources != nil {
				r := resources(*wk.Resources)
				sw.Resources = &r
			}
			a.Workers = append(a.Workers, sw)
		}
		for _, cj := range s.CronJobs {
			sc := service.CronJob{
				Name: cj.Name, Command: cj.Command, Args: cj.Args, Schedule: cj.Schedule, TimeZone: cj.TimeZone,
				ConcurrencyPolicy: cj.ConcurrencyPolicy, SuccessfulJobsHistoryLimit: *cj.SuccessfulJobsHistoryLimit,
				FailedJobsHistoryLimit: *cj.FailedJobsHistoryLimit, StartingDeadlineSeconds: cj.StartingDeadlineSeconds,
				ActiveDeadlineSeconds: cj.ActiveDeadlineSeconds, BackoffLimit: *cj.BackoffLimit, Suspend: cj.Suspend,
				Env: cj.Env,
			}
			if cj.Resources != nil {
				r := resources(*cj.Resources)
				sc.Resources = &r
			}
			a.CronJobs = append(a.CronJobs, sc)
		}
		p.Services = append(p.Services, a)

		for ji, rj := range s.ReleaseJobs {
			c := a.Container
			c.Command, c.Args = rj.Command, rj.Args
			c.Ports, c.Readiness, c.Liveness = nil, nil, nil
			c.Env = service.WithEnv(c.Env, rj.Env)
			j := release.Job{
				Service: s.Name, Name: rj.Name, Container: c, Pod: podOptions(w, env, s, rj.WaitFor, endpoints),
				ActiveDeadlineSeconds: *rj.ActiveDeadlineSeconds, BackoffLimit: *rj.BackoffLimit,
			}
			switch rj.When {
			case stacks.ReleaseBefore:
				beforeJobs[[2]int{si, ji}] = j
			case stacks.ReleaseAfter:
				after = append(after, ordered{j, rj.Order, si, ji})
			}
		}
	}
	steps, _ := w.BeforeOrder() // an order no release can follow is refused by stacks
	p.RolloutAfter = map[string]int{}
	for _, st := range steps {
		if st.IsRollout() {
			p.RolloutAfter[w.Services[st.Service].Name] = len(p.Before)
			continue
		}
		p.Before = append(p.Before, beforeJobs[[2]int{st.Service, st.Job}])
	}
	sort.SliceStable(after, func(i, j int) bool {
		a, b := after[i], after[j]
		if a.order != b.order {
			return a.order < b.order
		}
		if a.svc != b.svc {
			return a.svc < b.svc
		}
		return a.idx < b.idx
	})
	for _, o := range after {
		p.After = append(p.After, o.job)
	}
	return p
}

// podOptions are the pod settings a service's Deployments, CronJobs and release Jobs share.
func podOptions(w *stacks.WorkloadsConfig, env *environment.Args, s stacks.Service, waitFor []string, endpoints map[string]int) service.PodOptions {
	o := service.PodOptions{
		EnvFrom:      environment.EnvFrom(env, s.Name, true),
		WaitForImage: w.WaitForImage,
		Security: service.Security{
			Restricted: s.Security.IsRestricted(), RunAsUser: s.Security.RunAsUser,
			ReadOnlyRootFilesystem: s.Security.ReadOnlyRootFilesystem,
		},
		ImagePullSecrets: pullSecrets(w),
		WritablePaths:    s.WritablePaths,
	}
	used := map[string]bool{}
	for i, t := range waitFor {
		wf, _ := stacks.ParseWaitFor(t, endpoints) // validated by stacks
		e := service.Endpoint{Host: wf.Host, Port: wf.Port}
		switch wf.Kind {
		case stacks.WaitTCP:
			e.Name = containerName(wf.Host)
		case stacks.WaitHTTP:
			e.Name, e.Port, e.URL = containerName("http-"+wf.Host), 0, wf.URL
		case stacks.WaitCommand:
			e.Name, e.Command = fmt.Sprintf("cmd-%d", i), wf.Command
		}
		if used[e.Name] { // init container names are unique in a pod
			e.Name = fmt.Sprintf("%s-%d", e.Name, i)
		}
		used[e.Name] = true
		o.WaitFor = append(o.WaitFor, e)
	}
	return o
}

// pullSecrets are the imagePullSecrets of every pod: the named ones, then the one made from
// shoestring:registry.
func pullSecrets(w *stacks.WorkloadsConfig) []string {
	out := slices.Clone(w.ImagePullSecrets)
	if w.Registry.IsSet() {
		out = append(out, environment.RegistrySecret)
	}
	return out
}

// containerName turns a host into part of an init container's name (a DNS label of at most 63).
func containerName(host string) string {
	n := strings.Trim(strings.ReplaceAll(strings.ToLower(host), ".", "-"), "-")
	if len(n) > 50 {
		n = strings.TrimRight(n[:50], "-")
	}
	return n
}

func secretsOf(w *stacks.WorkloadsConfig, group string, names []string) map[string]environment.SecretValue {
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]environment.SecretValue, len(names))
	for _, n := range names {
		out[n] = w.Secrets[group][n]
	}
	return out
}

func resources(r stacks.Resources) service.Resources {
	list := func(l stacks.ResourceList) map[string]string {
		m := map[string]string{}
		if l.CPU != "" {
			m["cpu"] = l.CPU
		}
		if l.Memory != "" {
			m["memory"] = l.Memory
		}
		return m
	}
	return service.Resources{Requests: list(r.Requests), Limits: list(r.Limits)}
}

func ports(ps []stacks.ServicePort) []service.Port {
	var out []service.Port
	for _, p := range ps {
		out = append(out, service.Port{Name: p.Name, Port: p.Port})
	}
	return out
}

func probe(p *stacks.Probe) *service.Probe {
	if p == nil {
		return nil
	}
	return &service.Probe{
		Command: p.Command, Path: p.Path, Port: p.Port, InitialDelaySeconds: p.InitialDelaySeconds,
		PeriodSeconds: p.PeriodSeconds, TimeoutSeconds: p.TimeoutSeconds, FailureThreshold: p.FailureThreshold,
	}
}

// rolloutCut is where services roll out among the before-Jobs: after the first `after` of them.
type rolloutCut struct {
	after    int
	services []*service.Args
}

// rolloutCuts are the early rollouts of p in the order they happen.
func rolloutCuts(p *WorkloadsPlan) []rolloutCut {
	var cuts []rolloutCut
	for _, a := range p.Services {
		n, early := p.RolloutAfter[a.Name]
		if !early {
			continue
		}
		i := sort.Search(len(cuts), func(i int) bool { return cuts[i].after >= n })
		if i < len(cuts) && cuts[i].after == n {
			cuts[i].services = append(cuts[i].services, a)
			continue
		}
		cuts = slices.Insert(cuts, i, rolloutCut{after: n, services: []*service.Args{a}})
	}
	return cuts
}

// Workloads is what deployWorkloads created, for the components that come after it.
type Workloads struct {
	Environment *environment.Environment
	Services    []*service.Service
	Before      *release.Release
	After       *release.Release
}

// deployWorkloads creates, in this order: the namespace and every ConfigMap and Secret; the backing
// services; the before-Jobs one after another, with the rollout of each service a before-Job waits
// for among them (after its own before-Jobs, stacks.BeforeOrder); the other Deployments, Services and
// CronJobs; the after-Jobs one after another. Each step depends on the one before it.
func deployWorkloads(ctx *pulumi.Context, p *WorkloadsPlan, provider *kubernetes.Provider) (*Workloads, error) {
	opts := []pulumi.ResourceOption{pulumi.Provider(provider)}
	w := &Workloads{}
	env, err := environment.New(ctx, "environment", p.Environment, opts...)
	if err != nil {
		return nil, err
	}
	w.Environment = env
	ready := env.Resources
	for _, b := range p.Backing {
		b.After = env.Resources
		bk, err := backing.New(ctx, b.Name, b, opts...)
		if err != nil {
			return nil, err
		}
		ready = append(ready, bk.Ready)
	}
	// The before-Jobs run one after another; a service a before-Job waits for rolls out between
	// them, after its own before-Jobs (stacks.BeforeOrder), not after all of them like the others.
	services := map[string]*service.Service{}
	var rolledOut, beforeDone []pulumi.Resource
	segment := 0
	runBefore := func(jobs []release.Job, last bool) error {
		if len(jobs) == 0 && !(last && segment == 0) {
			return nil // one release-before at least, even without Jobs, as other stacks have
		}
		name := "release-before"
		if segment > 0 {
			name = fmt.Sprintf("release-before-%d", segment+1)
		}
		segment++
		r, err := release.New(ctx, name, &release.Args{Namespace: p.Environment.Namespace, Jobs: jobs, After: ready}, opts...)
		if err != nil {
			return err
		}
		if w.Before == nil {
			w.Before = r
		}
		for _, j := range r.Jobs {
			beforeDone = append(beforeDone, j)
			ready = append(ready, j)
		}
		return nil
	}
	started := 0
	for _, cut := range rolloutCuts(p) {
		if err := runBefore(p.Before[started:cut.after], false); err != nil {
			return nil, err
		}
		started = cut.after
		for _, a := range cut.services {
			a.After = env.Resources
			a.RolloutAfter = append(a.RolloutAfter, beforeDone...)
			s, err := service.New(ctx, a.Name, a, opts...)
			if err != nil {
				return nil, err
			}
			services[a.Name] = s
			for _, d := range s.Deployments {
				ready = append(ready, d)
				rolledOut = append(rolledOut, d)
			}
			if s.Service != nil {
				ready = append(ready, s.Service)
			}
		}
	}
	if err := runBefore(p.Before[started:], true); err != nil {
		return nil, err
	}
	for _, a := range p.Services {
		if s, early := services[a.Name]; early {
			w.Services = append(w.Services, s)
			continue
		}
		a.After = env.Resources
		a.RolloutAfter = append(a.RolloutAfter, beforeDone...)
		s, err := service.New(ctx, a.Name, a, opts...)
		if err != nil {
			return nil, err
		}
		w.Services = append(w.Services, s)
		for _, d := range s.Deployments {
			rolledOut = append(rolledOut, d)
		}
	}
	if len(rolledOut) == 0 {
		rolledOut = ready
	}
	w.After, err = release.New(ctx, "release-after", &release.Args{Namespace: p.Environment.Namespace, Jobs: p.After, After: rolledOut}, opts...)
	if err != nil {
		return nil, err
	}

	// Where a failed release Job's output is: Pulumi reports the failure, this says how to read why.
	logs := pulumi.StringMap{}
	for _, phase := range [][]release.Job{p.Before, p.After} {
		for _, j := range phase {
			logs[j.Service+"-"+j.Name] = pulumi.String("kubectl -n " + p.Environment.Namespace + " logs job/" + release.JobName(j) + " --all-containers")
		}
	}
	ctx.Export("namespace", env.Namespace.Metadata.Name())
	ctx.Export("releaseJobLogs", logs)
	return w, nil
}
