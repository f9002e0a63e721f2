package stacks

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// WorkloadsConfig is the team's services and what they share: one namespace with
// a Pod Security level, a common ConfigMap every service reads, backing services (in-cluster or
// external), and the services with their workers, CronJobs and release Jobs.
type WorkloadsConfig struct {
	// Namespace is where the services run ("the base namespace" playgrounds fall back to).
	Namespace string `config:"namespace"`
	// PodSecurity is the Pod Security Standard the namespace enforces.
	PodSecurity PodSecurity `config:"podSecurity"`
	// CommonEnv is the common ConfigMap: variables every service (and its jobs) receives.
	CommonEnv map[string]string `config:"commonEnv"`
	// BatchAPIVersion is the API version of CronJobs: batch/v1, or batch/v1beta1 for clusters older
	// than Kubernetes 1.21.
	BatchAPIVersion string `config:"batchApiVersion"`
	// WaitForImage runs the wait-for init containers (needs sh and nc).
	WaitForImage string `config:"waitForImage"`
	// Backing are databases and caches, in the cluster or outside it.
	Backing []Backing `config:"backing"`
	// Services are the stack's deployable services.
	Services []Service `config:"services"`
	// Secrets holds every secret value: group (a service, a backing service, or another section's
	// group such as "dns-sync") -> variable name -> value (Pulumi secrets).
	Secrets map[string]map[string]Secret `config:"secrets"`
}

// Pod Security Standard levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
const (
	PodSecurityRestricted = "restricted"
	PodSecurityBaseline   = "baseline"
	PodSecurityPrivileged = "privileged"
)

// PodSecurity labels the namespace: enforce rejects pods, warn and audit only report.
type PodSecurity struct {
	// Enforce is the level pods must meet: "restricted", "baseline" or "privileged".
	Enforce string `json:"enforce"`
	// Warn is the level whose violations are reported to the client.
	Warn string `json:"warn"`
	// Audit is the level whose violations are written to the audit log.
	Audit string `json:"audit"`
	// Version pins the standard to a Kubernetes minor version ("v1.30") or "latest".
	Version string `json:"version"`
}

// Service is one deployable service: a Deployment (and a Kubernetes Service when it has ports) named
// Name, so other services reach it at http://<name>:<port>. Other sections refer to a service by Name.
type Service struct {
	// Name is a DNS label of at most 40 characters; it names the Deployment, the Service, the
	// ConfigMap and the Secret.
	Name string `json:"name"`
	// Image with a tag or digest: the same image runs in every environment.
	Image string `json:"image"`
	// Command replaces the image's entrypoint; empty: the image's.
	Command []string `json:"command"`
	// Args replace the image's arguments; empty: the image's.
	Args []string `json:"args"`
	// Ports the service listens on; the first is the one waitFor, probes and routes use by default.
	Ports []ServicePort `json:"ports"`
	// Routes are the edge's routes to this service (see edge.go).
	Routes []Route `json:"routes"`

	Replicas *int `json:"replicas"` // default 1
	// Resources of the container (default requests: cpu 50m, memory 64Mi).
	Resources Resources `json:"resources"`
	// Readiness is the readiness probe; none when unset.
	Readiness *Probe `json:"readiness"`
	// Liveness is the liveness probe; none when unset.
	Liveness *Probe `json:"liveness"`

	// Env is the service's own ConfigMap (<name>-config).
	Env map[string]string `json:"env"`
	// SecretEnv names variables whose values are under shoestring:secrets.<name>; they make up the
	// service's Secret (<name>-secrets).
	SecretEnv []string `json:"secretEnv"`
	// WaitFor lists what must answer before the service (and its jobs) start: a backing service's or
	// another service's name (its first port), or "host:port".
	WaitFor []string `json:"waitFor"`

	// Workers are more processes from the same image and configuration (queue consumers ...), each a
	// Deployment named <service>-<worker>.
	Workers []Worker `json:"workers"`
	// CronJobs inherit image, env and resources from the service; each is named <service>-<cron>.
	CronJobs []CronJob `json:"cronJobs"`
	// ReleaseJobs run once per release, before or after the rollout.
	ReleaseJobs []ReleaseJob `json:"releaseJobs"`

	// Security relaxes the restricted pod security settings for images that cannot run with them.
	Security Security `json:"security"`
}

type ServicePort struct {
	// Name of the port (an IANA service name such as "http"), used by routes and probes.
	Name string `json:"name"`
	// Port is the container port, also the Service's port.
	Port int `json:"port"`
}

// Resources are Kubernetes quantities ("100m", "128Mi"); empty means not set.
type Resources struct {
	// Requests are what the scheduler reserves.
	Requests ResourceList `json:"requests"`
	// Limits are the most the container may use.
	Limits ResourceList `json:"limits"`
}

type ResourceList struct {
	// CPU as a Kubernetes quantity ("100m").
	CPU string `json:"cpu"`
	// Memory as a Kubernetes quantity ("128Mi").
	Memory string `json:"memory"`
}

// Probe checks a container: Command (exec), else Path (HTTP GET), else a TCP connect, on Port (a
// port name or number; default the service's first port).
type Probe struct {
	// Command makes an exec probe.
	Command []string `json:"command"`
	// Path makes an HTTP GET probe (when there is no Command).
	Path string `json:"path"`
	// Port is a port name or number; default: the service's first port.
	Port string `json:"port"`
	// InitialDelaySeconds before the first probe (Kubernetes' default when 0).
	InitialDelaySeconds int `json:"initialDelaySeconds"`
	// PeriodSeconds between probes (Kubernetes' default when 0).
	PeriodSeconds int `json:"periodSeconds"`
	// TimeoutSeconds of one probe (Kubernetes' default when 0).
	TimeoutSeconds int `json:"timeoutSeconds"`
	// FailureThreshold is how many failures in a row count (Kubernetes' default when 0).
	FailureThreshold int `json:"failureThreshold"`
}

// Worker is another long-running process of a service.
type Worker struct {
	// Name of the worker: its Deployment is <service>-<name>.
	Name string `json:"name"`
	// Command of the worker's process; empty: the image's entrypoint.
	Command []string `json:"command"`
	// Args of the worker's process.
	Args      []string   `json:"args"`
	Replicas  *int       `json:"replicas"`  // default 1
	Resources *Resources `json:"resources"` // default: the service's
}

// CronJob concurrency policies.
const (
	ConcurrencyAllow   = "Allow"
	ConcurrencyForbid  = "Forbid"
	ConcurrencyReplace = "Replace"
)

// CronJob is a scheduled command of a service.
type CronJob struct {
	// Name of the CronJob: it is <service>-<name>, at most 52 characters.
	Name string `json:"name"`
	// Command the CronJob runs; empty: the image's entrypoint.
	Command []string `json:"command"`
	// Args of the command.
	Args []string `json:"args"`
	// Schedule is five cron fields or a macro such as @hourly.
	Schedule string `json:"schedule"`
	// TimeZone is an IANA name ("Europe/Berlin"); empty: the controller's (UTC on GKE). batch/v1 only.
	TimeZone                   string `json:"timeZone"`
	ConcurrencyPolicy          string `json:"concurrencyPolicy"`          // default Forbid
	SuccessfulJobsHistoryLimit *int   `json:"successfulJobsHistoryLimit"` // default 3
	FailedJobsHistoryLimit     *int   `json:"failedJobsHistoryLimit"`     // default 1
	// StartingDeadlineSeconds: a run that cannot start within this many seconds of its time is
	// skipped.
	StartingDeadlineSeconds *int `json:"startingDeadlineSeconds"`
	// ActiveDeadlineSeconds stops a run that takes longer.
	ActiveDeadlineSeconds *int `json:"activeDeadlineSeconds"`
	BackoffLimit          *int `json:"backoffLimit"` // default 0
	// Suspend stops scheduling new runs.
	Suspend   bool       `json:"suspend"`
	Resources *Resources `json:"resources"` // default: the service's
}

// When a release Job runs.
const (
	ReleaseBefore = "before" // before any Deployment changes; a failure stops the rollout
	ReleaseAfter  = "after"  // once every Deployment is rolled out
	ReleaseNever  = "never"  // declared, not run in this environment
)

// ReleaseJob is a command run once per release (a migration, a cache clear), as a Job named
// <service>-<job>-<release id>: a new release (image, command, configuration) makes a new Job, and
// nothing else does.
type ReleaseJob struct {
	// Name of the Job within the service: the Job is <service>-<name>-<release id>.
	Name string `json:"name"`
	// Command the Job runs; empty: the image's entrypoint.
	Command []string `json:"command"`
	// Args of the command.
	Args []string `json:"args"`
	// When is this environment's choice: before, after or never.
	When string `json:"when"`
	// Order sorts the Jobs of one phase across all services (lower first; ties by service, then by
	// position in the list). Each Job starts after the previous one completed.
	Order                 int  `json:"order"`
	ActiveDeadlineSeconds *int `json:"activeDeadlineSeconds"` // default 600
	BackoffLimit          *int `json:"backoffLimit"`          // default 0: no retries unless asked
	// WaitFor defaults to the service's WaitFor.
	WaitFor []string `json:"waitFor"`
}

// Security is how a service's pods may deviate from the restricted Pod Security Standard.
type Security struct {
	// Restricted applies runAsNonRoot, no privilege escalation, all capabilities dropped and the
	// RuntimeDefault seccomp profile (default true). false needs a namespace level other than restricted.
	Restricted *bool `json:"restricted"`
	// RunAsUser sets the user id (needed when the image's user is a name, not a number).
	RunAsUser *int `json:"runAsUser"`
	// ReadOnlyRootFilesystem mounts the image read-only.
	ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem"`
}

// IsRestricted says whether the restricted settings apply.
func (s Security) IsRestricted() bool { return s.Restricted == nil || *s.Restricted }

// Backing engines and modes.
const (
	EngineMySQL      = "mysql"
	EnginePostgreSQL = "postgresql"
	EngineRedis      = "redis"

	BackingInCluster = "in-cluster"
	BackingExternal  = "external"
)

// Backing is a database or cache reachable inside the namespace at <name>:<port>, whatever the mode:
// in-cluster it is a StatefulSet with a volume; external, the same name points at the outside host
// (an ExternalName Service, or a selector-less Service for an IP). Services use the same host name
// in every environment; only this entry differs.
type Backing struct {
	// Name is the host name services use to reach it.
	Name   string `json:"name"`
	Engine string `json:"engine"` // mysql, postgresql, redis
	Mode   string `json:"mode"`   // in-cluster (default) or external
	Port   int    `json:"port"`   // default: the engine's

	// In-cluster.
	Image       string `json:"image"`       // default: the engine's official image
	StorageSize string `json:"storageSize"` // default 1Gi
	// StorageClass of the volume (in-cluster); empty: the cluster's default.
	StorageClass string `json:"storageClass"`
	// Env is the backing service's ConfigMap, <name>-config (in-cluster).
	Env map[string]string `json:"env"`
	// SecretEnv names variables under shoestring:secrets.<name> (e.g. MYSQL_ROOT_PASSWORD).
	SecretEnv []string `json:"secretEnv"`
	// Resources of the container (in-cluster); none when unset.
	Resources Resources `json:"resources"`
	// RunAsUser is the engine image's non-root user id (999 in the official images).
	RunAsUser int `json:"runAsUser"`

	// External.
	Host string `json:"host"`
}

// EngineDefaults are each engine's port, official image and container environment for the
// in-cluster mode.
var EngineDefaults = map[string]struct {
	Port  int
	Image string
}{
	EngineMySQL:      {3306, "mysql:8.4"},
	EnginePostgreSQL: {5432, "postgres:17"},
	EngineRedis:      {6379, "redis:7.4"},
}

func (c *WorkloadsConfig) defaults() {
	c.Namespace = "apps"
	c.PodSecurity = PodSecurity{Enforce: PodSecurityRestricted, Warn: PodSecurityRestricted, Audit: PodSecurityRestricted, Version: "latest"}
	c.BatchAPIVersion = "batch/v1"
	c.WaitForImage = "busybox:1.37"
}

// Limits Kubernetes puts on names derived here: a CronJob's name is at most 52 characters (its Jobs
// append 11), a Job's at most 63 (it becomes a label value).
const (
	maxServiceName = 40
	maxCronJobName = 52
	maxJobName     = 63
	releaseIDLen   = 10
)

// podSecurityVersionRe is the version format of the pod-security.kubernetes.io/*-version labels
// (k8s.io/pod-security-admission/api.ParseVersion, a module this program does not otherwise need;
// "latest" is checked beside it).
var podSecurityVersionRe = regexp.MustCompile(`^v1\.(0|[1-9][0-9]*)$`)

func (c *WorkloadsConfig) checkAndFillDefaults(*Config) []FieldError {
	var errs []FieldError
	ns := Namespace + ":namespace"
	if !isDNSLabel(c.Namespace) {
		errs = append(errs, fieldErr(ns, c.Namespace, "is not a namespace name", "use at most 63 lowercase letters, digits and hyphens"))
	} else if c.Namespace == "default" || strings.HasPrefix(c.Namespace, "kube-") {
		errs = append(errs, fieldErr(ns, c.Namespace, "is a namespace Kubernetes owns: this program labels and deletes its namespace",
			"name a namespace of its own, e.g. \"apps\" (the default)"))
	}
	errs = append(errs, c.PodSecurity.check(Namespace+":podSecurity")...)
	for _, k := range slices.Sorted(maps.Keys(c.CommonEnv)) {
		if !isEnvVarName(k) {
			errs = append(errs, fieldErr(Namespace+":commonEnv."+k, k, "is not an environment variable name", "use letters, digits, '_', '-' and '.', not starting with a digit"))
		}
	}
	switch c.BatchAPIVersion {
	case "batch/v1", "batch/v1beta1":
	default:
		errs = append(errs, fieldErr(Namespace+":batchApiVersion", c.BatchAPIVersion, "is not a CronJob API version",
			oneOf("batch/v1", "batch/v1beta1")+" (batch/v1beta1 only for clusters older than Kubernetes 1.21)"))
	}
	errs = append(errs, checkImage(Namespace+":waitForImage", c.WaitForImage)...)

	// Every object name this section derives, per kind, so that two declarations never make the
	// same object (a service "common" would otherwise overwrite the ConfigMap "common-config").
	names := map[string]string{"ConfigMap/common-config": "the common ConfigMap"}
	claim := func(key, kind, name string) {
		if prev, ok := names[kind+"/"+name]; ok {
			errs = append(errs, fieldErr(key, name, fmt.Sprintf("makes the %s %q, which %s also makes", kind, name, prev), "choose another name"))
			return
		}
		names[kind+"/"+name] = key
	}
	// endpoints are what waitFor may name: backing services and services with ports.
	endpoints := map[string]int{}
	for i := range c.Backing {
		b := &c.Backing[i]
		key := fmt.Sprintf("%s:backing[%d]", Namespace, i)
		errs = append(errs, b.checkAndFillDefaults(key, c)...)
		claim(key+".name", "Service", b.Name)
		claim(key+".name", "ConfigMap", b.Name+"-config")
		claim(key+".name", "Secret", b.Name+"-secrets")
		endpoints[b.Name] = b.Port
	}
	for i := range c.Services {
		s := &c.Services[i]
		if len(s.Ports) > 0 {
			endpoints[s.Name] = s.Ports[0].Port
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		key := fmt.Sprintf("%s:services[%d]", Namespace, i)
		errs = append(errs, s.checkAndFillDefaults(key, c, endpoints)...)
		claim(key+".name", "Service", s.Name)
		claim(key+".name", "Deployment", s.Name)
		claim(key+".name", "ConfigMap", s.Name+"-config")
		claim(key+".name", "Secret", s.Name+"-secrets")
		for j, w := range s.Workers {
			claim(fmt.Sprintf("%s.workers[%d].name", key, j), "Deployment", s.Name+"-"+w.Name)
		}
		for j, cj := range s.CronJobs {
			claim(fmt.Sprintf("%s.cronJobs[%d].name", key, j), "CronJob", s.Name+"-"+cj.Name)
		}
		for j, rj := range s.ReleaseJobs {
			claim(fmt.Sprintf("%s.releaseJobs[%d].name", key, j), "release Job", s.Name+"-"+rj.Name)
		}
	}
	return errs
}

func (p *PodSecurity) check(key string) []FieldError {
	var errs []FieldError
	levels := []string{PodSecurityRestricted, PodSecurityBaseline, PodSecurityPrivileged}
	for _, f := range []struct{ name, v string }{{"enforce", p.Enforce}, {"warn", p.Warn}, {"audit", p.Audit}} {
		if !slices.Contains(levels, f.v) {
			errs = append(errs, fieldErr(key+"."+f.name, f.v, "is not a Pod Security level", oneOf(levels...)))
		}
	}
	if p.Version != "latest" && !podSecurityVersionRe.MatchString(p.Version) {
		errs = append(errs, fieldErr(key+".version", p.Version, "is not a Pod Security version", "use \"latest\" or a Kubernetes minor version such as \"v1.30\""))
	}
	return errs
}
