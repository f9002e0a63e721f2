package program

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/devmode"
	"github.com/shoestring-dev/shoestring/components/release"
	"github.com/shoestring-dev/shoestring/components/service"
	"github.com/shoestring-dev/shoestring/stacks"
)

// PlanDevTooling adds the developer tooling to a workloads plan, through the pods' PodOptions:
//   - in a playground stack, every pod's DNS search path ends with the base namespace, so a short
//     name the playground does not deploy ("users") resolves to the base namespace's service;
//   - the stack's image pull policy (local images in the dev stack) and host-path code mounts;
//   - dev mode for the services that ask for it (servers, workers and CronJobs; not release Jobs).
func PlanDevTooling(cfg *stacks.Config, p *WorkloadsPlan) {
	dns := PlaygroundDNSConfig(cfg)
	for _, a := range p.Services {
		a.Container.ImagePullPolicy = cfg.LocalDev.ImagePullPolicy
		if dns != nil && a.Pod.DNSConfig == nil {
			a.Pod.DNSConfig = dns
		}
		addCodeMounts(cfg, a.Name, &a.Pod)
		if s, ok := cfg.DevMode.Enabled(a.Name); ok && cfg.DevMode.Allowed {
			d := cfg.DevMode
			parts := devmode.PodParts(devmode.Pod{Service: a.Name, AppImage: a.Container.Image, CodePath: s.CodePath, SidecarImage: d.SidecarImage,
				User: d.User, UID: d.UID, GID: d.GID, ImagePullPolicy: cfg.LocalDev.ImagePullPolicy})
			a.Pod.InitContainers = append(a.Pod.InitContainers, parts.InitContainers...)
			a.Pod.Volumes = append(a.Pod.Volumes, parts.Volumes...)
			a.Pod.AppVolumeMounts = append(a.Pod.AppVolumeMounts, parts.AppVolumeMounts...)
			if a.Pod.Security.FSGroup == nil {
				a.Pod.Security.FSGroup = &parts.FSGroup
			}
		}
	}
	for _, phase := range [][]releaseJobRef{jobRefs(p.Before), jobRefs(p.After)} {
		for _, j := range phase {
			j.container.ImagePullPolicy = cfg.LocalDev.ImagePullPolicy
			if dns != nil && j.pod.DNSConfig == nil {
				j.pod.DNSConfig = dns
			}
			addCodeMounts(cfg, j.service, j.pod)
		}
	}
}

// PlaygroundDNSConfig is the pod dnsConfig of a playground stack's pods (nil elsewhere). The
// kubelet appends these searches to those of the pod's DNS policy (its own namespace first), so no
// node's resolv.conf changes, unlike a fixed search path.
func PlaygroundDNSConfig(cfg *stacks.Config) *corev1.PodDNSConfigArgs {
	searches := cfg.PlaygroundSearchDomains()
	if len(searches) == 0 {
		return nil
	}
	return &corev1.PodDNSConfigArgs{Searches: pulumi.ToStringArray(searches)}
}

func addCodeMounts(cfg *stacks.Config, svc string, o *service.PodOptions) {
	for i, m := range cfg.LocalDev.CodeMounts {
		if m.Service != svc {
			continue
		}
		name := fmt.Sprintf("host-code-%d", i)
		o.Volumes = append(o.Volumes, corev1.VolumeArgs{Name: pulumi.String(name),
			HostPath: &corev1.HostPathVolumeSourceArgs{Path: pulumi.String(m.HostPath), Type: pulumi.String("Directory")}})
		o.AppVolumeMounts = append(o.AppVolumeMounts, corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(m.Path)})
	}
}

// deployDevTooling creates the dev-mode Secret (when a service runs in dev mode) and exports the
// commands developers use (DevToolingOutputs) and, in a playground stack, its record for the reaper.
func deployDevTooling(ctx *pulumi.Context, cfg *stacks.Config, w *Workloads, provider *kubernetes.Provider) error {
	if cfg.DevMode.Allowed && len(cfg.DevMode.Services) > 0 {
		if _, err := devmode.New(ctx, "dev-mode", &devmode.Args{
			Namespace: cfg.Namespace, Keys: cfg.DevMode.KeysByService(), After: []pulumi.Resource{w.Environment.Namespace},
		}, pulumi.Provider(provider)); err != nil {
			return err
		}
	}
	out := DevToolingOutputs(cfg)
	for _, key := range []string{"devMode", "telepresence"} {
		if m, ok := out[key]; ok {
			ctx.Export(key, toPulumiMap(m))
		}
	}
	if cfg.Playground.IsPlayground() {
		created, _ := time.Parse(time.RFC3339, cfg.Playground.Created) // validated by stacks
		stacks.PlaygroundRecord{Branch: cfg.Playground.Branch, Namespace: cfg.Namespace, Host: cfg.PlaygroundHost(), Created: created}.Export(ctx)
	}
	return nil
}

// DevToolingOutputs are the stack outputs for developers: "devMode" (per dev-mode service the
// port-forward, sftp and ssh commands and the code path) and "telepresence" (per service the
// Telepresence v2 commands), both service -> name -> command.
func DevToolingOutputs(cfg *stacks.Config) map[string]map[string]map[string]string {
	ns := cfg.Namespace
	out := map[string]map[string]map[string]string{}
	if cfg.DevMode.Allowed && len(cfg.DevMode.Services) > 0 {
		access := map[string]map[string]string{}
		for i, s := range cfg.DevMode.Services {
			c := devmode.AccessCommands(ns, s.Name, cfg.DevMode.User, s.CodePath, cfg.DevMode.LocalPortBase+i)
			access[s.Name] = map[string]string{"portForward": c.PortForward, "sftp": c.SFTP, "ssh": c.SSH, "codePath": c.CodePath}
		}
		out["devMode"] = access
	}
	tele := map[string]map[string]string{}
	for _, s := range cfg.Services {
		port := 0
		if len(s.Ports) > 0 {
			port = s.Ports[0].Port
		}
		t := devmode.TelepresenceCommands(ns, s.Name, AppContainerName, port)
		m := map[string]string{"connect": t.Connect, "replace": t.Replace, "envFile": t.EnvFile, "quit": t.Quit}
		if t.Intercept != "" {
			m["intercept"], m["leave"] = t.Intercept, t.Leave
		}
		tele[s.Name] = m
	}
	if len(tele) > 0 {
		out["telepresence"] = tele
	}
	return out
}

func toPulumiMap(m map[string]map[string]string) pulumi.Map {
	out := pulumi.Map{}
	for k, v := range m {
		out[k] = pulumi.ToStringMap(v)
	}
	return out
}

// AppContainerName is the name of a service's main container (components/service names it so).
const AppContainerName = "app"

// releaseJobRef points into a release Job of the plan, to change it in place.
type releaseJobRef struct {
	service   string
	container *service.Container
	pod       *service.PodOptions
}

func jobRefs(jobs []release.Job) []releaseJobRef {
	out := make([]releaseJobRef, len(jobs))
	for i := range jobs {
		out[i] = releaseJobRef{service: jobs[i].Service, container: &jobs[i].Container, pod: &jobs[i].Pod}
	}
	return out
}
