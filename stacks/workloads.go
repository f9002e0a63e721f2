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
	// WaitForImage runs the wait-for init containers (needs sh, nc and wget: busybox has them).
	WaitForImage string `config:"waitForImage"`
	// CommonSecretEnv names variables whose values are under shoestring:secrets.common.<NAME>; they
	// make up the Secret common-secrets, which every service, worker, CronJob and release Job reads
	// right after common-config (their own ConfigMap and Secret still win). Default: none.
	CommonSecretEnv []string `config:"commonSecretEnv"`
	// StorageClass is the storage class of every backing service's volume that does not set its own
	// (backing[].storageClass). Default "": the cluster's default class, which is what a local
	// cluster has; set e.g. "premium-rwo" in a GKE stack.
	StorageClass string `config:"storageClass"`
	// ImagePullSecrets names Secrets of type kubernetes.io/dockerconfigjson, already in the
	// namespace, that every pod (services, workers, CronJobs, release Jobs, backing services) pulls
	// its images with. Default: none. See also registry.
	ImagePullSecrets []string `config:"imagePullSecrets"`
	// Registry makes the pull Secret registry-credentials from config (the password under
	// shoestring:secrets.registry.password) and adds it to every pod's imagePullSecrets, when
	// server or username is set. Default: none.
	Registry Registry `config:"registry"`
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
	// WaitFor lists what must answer before the service (and its jobs) start, each in an init
	// container of waitForImage, in order: a backing service's or another service's name (a TCP
	// connect to its first port), "host:port" (a TCP connect), "http://host[:port]/path" (an HTTP
	// GET that must succeed, with busybox wget), or "cmd: <shell command>" (run with sh -c until it
	// exits 0). Default: none.
	WaitFor []string `json:"waitFor"`
	// WritablePaths are absolute folders mounted as empty, writable emptyDir volumes into the
	// service's pods, its workers', CronJobs' and release Jobs' (so that
	// security.readOnlyRootFilesystem can be true for an app that writes to /tmp or a cache).
	// Default: none.
	WritablePaths []string `json:"writablePaths"`

	// DisruptionBudget makes a PodDisruptionBudget for the service's own pods (not its workers').
	// Default: none.
	DisruptionBudget *DisruptionBudget `json:"disruptionBudget"`
	// Spread adds a topology spread constraint to the service's own pods. Default: none.
	Spread *Spread `json:"spread"`
	// Autoscaling makes a HorizontalPodAutoscaler (autoscaling/v2) for the service's own
	// Deployment, which then owns its replica count (replicas is only the count at creation).
	// Needs resources.requests.cpu. Default: none.
	Autoscaling *Autoscaling `json:"autoscaling"`

	// Workers are more processes from the same image and configuration (queue consumers ...), each a
	// Deployment named <service>-<worker>.
	Workers []Worker `json:"workers"`
	// CronJobs inherit image, env and resources from the service; each is named <service>-<cron>.
	CronJobs []CronJob `json:"cronJobs"`
	// ReleaseJobs run once per release, before or after the rollout.
	ReleaseJobs []ReleaseJob `json:"releaseJobs"`

	// Security relaxes the restricted pod security settings for images that cannot run with them.
	Security Security `json:"security"`

	// NetworkPolicy adds paths the definition cannot show to the service's derived
	// NetworkPolicies (docs/network-policies.md). Default: none.
	NetworkPolicy ServiceNetworkPolicy `json:"networkPolicy"`
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

// DisruptionBudget is a PodDisruptionBudget: exactly one of MinAvailable and MaxUnavailable.
type DisruptionBudget struct {
	// MinAvailable pods must stay up during voluntary disruptions (node drains, upgrades); it must be
	// less than replicas (or autoscaling.minReplicas), else no node could ever be drained.
	MinAvailable *int `json:"minAvailable"`
	// MaxUnavailable pods may be down at once during voluntary disruptions (1 or more).
	MaxUnavailable *int `json:"maxUnavailable"`
}

// Spread is a topology spread constraint over the service's pods.
type Spread struct {
	// TopologyKey is the node label pods spread over. Default "kubernetes.io/hostname" (nodes);
	// "topology.kubernetes.io/zone" spreads over zones.
	TopologyKey string `json:"topologyKey"`
	// MaxSkew is the largest allowed difference of pod counts between two topology domains.
	// Default 1.
	MaxSkew int `json:"maxSkew"`
	// WhenUnsatisfiable: "ScheduleAnyway" (default: prefer spreading, never leave a pod pending) or
	// "DoNotSchedule".
	WhenUnsatisfiable string `json:"whenUnsatisfiable"`
}

// Autoscaling is a HorizontalPodAutoscaler on CPU utilisation.
type Autoscaling struct {
	// MinReplicas is the fewest replicas (default 1); MaxReplicas the most (required, at least
	// minReplicas).
	MinReplicas int `json:"minReplicas"`
	MaxReplicas int `json:"maxReplicas"`
	// TargetCPUUtilization is the average CPU use, in percent of the CPU request, the autoscaler
	// keeps the pods at (1-100, default 80).
	TargetCPUUtilization int `json:"targetCPUUtilization"`
}

// IsSet says whether the stack gives registry credentials.
func (r Registry) IsSet() bool { return r != Registry{} }

// Registry is a private registry's credentials, made into the pull Secret registry-credentials.
type Registry struct {
	// Server is the registry host, e.g. "ghcr.io" or "europe-docker.pkg.dev".
	Server string `json:"server"`
	// Username is the registry user; the password (or token) is the secret
	// shoestring:secrets.registry.password.
	Username string `json:"username"`
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
	// Env are variables of this CronJob only, set on its container on top of the service's
	// ConfigMaps and Secrets (they win over them). Default: none.
	Env map[string]string `json:"env"`
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
	// WaitFor defaults to the service's WaitFor; same forms.
	WaitFor []string `json:"waitFor"`
	// Env are variables of this Job only, set on its container on top of the service's ConfigMaps
	// and Secrets (they win over them); part of the release id, so a change runs the Job again.
	// Default: none.
	Env map[string]string `json:"env"`
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

// The common Secret and the registry pull Secret, and their groups under shoestring:secrets.
const (
	CommonSecretGroup   = "common"
	CommonSecretName    = "common-secrets"
	RegistrySecretGroup = "registry"
	RegistrySecretName  = "registry-credentials"
)

func (c *WorkloadsConfig) defaults() {
	c.Namespace = "apps"
	c.PodSecurity = PodSecurity{Enforce: PodSecurityRestricted, Warn: PodSecurityRestricted, Audit: PodSecurityRestricted, Version: "latest"}
	c.BatchAPIVersion = "batch/v1"
	c.WaitForImage = "busybox:1.37.0"
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
	errs = append(errs, c.checkSecretEnv(Namespace+":commonSecretEnv", CommonSecretGroup, c.CommonSecretEnv)...)
	if c.StorageClass != "" && !isDNSSubdomain(c.StorageClass) {
		errs = append(errs, fieldErr(Namespace+":storageClass", c.StorageClass, "is not a storage class name",
			"use lowercase letters, digits, '-' and '.', e.g. \"standard-rwo\", or leave it empty for the cluster's default"))
	}
	for j, n := range c.ImagePullSecrets {
		k := fmt.Sprintf("%s:imagePullSecrets[%d]", Namespace, j)
		if !isDNSSubdomain(n) {
			errs = append(errs, fieldErr(k, n, "is not a Secret name", "name a kubernetes.io/dockerconfigjson Secret of the namespace, e.g. \"regcred\""))
		} else if slices.Index(c.ImagePullSecrets, n) < j {
			errs = append(errs, fieldErr(k, n, "is listed twice", "list each Secret once"))
		} else if n == RegistrySecretName && c.Registry.IsSet() {
			errs = append(errs, fieldErr(k, n, "is the Secret shoestring:registry makes", "remove it: that Secret is added to every pod already"))
		}
	}
	if r := c.Registry; r.IsSet() {
		k := Namespace + ":registry"
		if r.Server == "" || !isServerAddress(r.Server) {
			errs = append(errs, fieldErr(k+".server", r.Server, "is not a registry host", "give the registry's host[:port], e.g. \"ghcr.io\" or \"europe-docker.pkg.dev\""))
		}
		if r.Username == "" || strings.ContainsAny(r.Username, ":\n") {
			errs = append(errs, fieldErr(k+".username", r.Username, "is not a registry user name", "give the user (without ':'), e.g. \"ci-bot\""))
		}
		if _, ok := c.Secrets[RegistrySecretGroup]["password"]; !ok {
			errs = append(errs, MissingSecret(RegistrySecretGroup, "password"))
		}
	}

	// Every object name this section derives, per kind, so that two declarations never make the
	// same object (a service "common" would otherwise overwrite the ConfigMap "common-config").
	names := map[string]string{"ConfigMap/common-config": "the common ConfigMap"}
	if len(c.CommonSecretEnv) > 0 {
		names["Secret/"+CommonSecretName] = "shoestring:commonSecretEnv"
	}
	if c.Registry.IsSet() {
		names["Secret/"+RegistrySecretName] = "shoestring:registry"
	}
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
	// The registry's password is the secret group "registry": no service or backing service may own it.
	if c.Registry.IsSet() {
		for i, b := range c.Backing {
			if b.Name == RegistrySecretGroup {
				errs = append(errs, fieldErr(fmt.Sprintf("%s:backing[%d].name", Namespace, i), b.Name, "is the secret group of shoestring:registry", "choose another name"))
			}
		}
		for i, sv := range c.Services {
			if sv.Name == RegistrySecretGroup {
				errs = append(errs, fieldErr(fmt.Sprintf("%s:services[%d].name", Namespace, i), sv.Name, "is the secret group of shoestring:registry", "choose another name"))
			}
		}
	}
	if len(errs) == 0 {
		errs = c.checkReleaseOrder() // on valid waitFor entries and release Jobs only
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
