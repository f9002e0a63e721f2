package stacks

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // CronJob time zones are checked the same way on every machine

	"k8s.io/apimachinery/pkg/api/resource"
)

// WorkloadsConfig is the team's services and what they share (seeds 002 and 003): one namespace with
// a Pod Security level, a common ConfigMap every service reads, backing services (in-cluster or
// external), and the services with their workers, CronJobs and release Jobs.
// Owned by the workloads work (issue 4); the edge and dev tooling read Services.
type WorkloadsConfig struct {
	// Namespace is where the services run ("the base namespace" playgrounds fall back to).
	Namespace string `config:"namespace"`
	// PodSecurity is the Pod Security Standard the namespace enforces.
	PodSecurity PodSecurity `config:"podSecurity"`
	// CommonEnv is the common ConfigMap: variables every service (and its jobs) receives.
	CommonEnv map[string]string `config:"commonEnv"`
	// BatchAPIVersion is the API version of CronJobs: batch/v1, or batch/v1beta1 for clusters older
	// than Kubernetes 1.21 (seed 002's GKE Autopilot refused batch/v1).
	BatchAPIVersion string `config:"batchApiVersion"`
	// WaitForImage runs the wait-for init containers (needs sh and nc).
	WaitForImage string `config:"waitForImage"`
	// Backing are databases and caches, in the cluster or outside it.
	Backing  []Backing `config:"backing"`
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
	Enforce string `json:"enforce"`
	Warn    string `json:"warn"`
	Audit   string `json:"audit"`
	// Version pins the standard to a Kubernetes minor version ("v1.30") or "latest".
	Version string `json:"version"`
}

// Service is one deployable service: a Deployment (and a Kubernetes Service when it has ports) named
// Name, so other services reach it at http://<name>:<port>. Other sections refer to a service by Name.
type Service struct {
	Name string `json:"name"`
	// Image with a tag or digest: the same image runs in every environment.
	Image   string        `json:"image"`
	Command []string      `json:"command"`
	Args    []string      `json:"args"`
	Ports   []ServicePort `json:"ports"`
	// Routes are the edge's routes to this service (see edge.go).
	Routes []Route `json:"routes"`

	Replicas  *int      `json:"replicas"` // default 1
	Resources Resources `json:"resources"`
	Readiness *Probe    `json:"readiness"`
	Liveness  *Probe    `json:"liveness"`

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
	// ReleaseJobs run once per release, before or after the rollout (seed 003).
	ReleaseJobs []ReleaseJob `json:"releaseJobs"`

	// Security relaxes the restricted pod security settings for images that cannot run with them.
	Security Security `json:"security"`
}

type ServicePort struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// Resources are Kubernetes quantities ("100m", "128Mi"); empty means not set.
type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

type ResourceList struct {
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
}

// Probe checks a container: Command (exec), else Path (HTTP GET), else a TCP connect, on Port (a
// port name or number; default the service's first port).
type Probe struct {
	Command             []string `json:"command"`
	Path                string   `json:"path"`
	Port                string   `json:"port"`
	InitialDelaySeconds int      `json:"initialDelaySeconds"`
	PeriodSeconds       int      `json:"periodSeconds"`
	TimeoutSeconds      int      `json:"timeoutSeconds"`
	FailureThreshold    int      `json:"failureThreshold"`
}

// Worker is another long-running process of a service.
type Worker struct {
	Name      string     `json:"name"`
	Command   []string   `json:"command"`
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
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	// Schedule is five cron fields or a macro such as @hourly.
	Schedule string `json:"schedule"`
	// TimeZone is an IANA name ("Europe/Berlin"); empty: the controller's (UTC on GKE). batch/v1 only.
	TimeZone                   string     `json:"timeZone"`
	ConcurrencyPolicy          string     `json:"concurrencyPolicy"`          // default Forbid
	SuccessfulJobsHistoryLimit *int       `json:"successfulJobsHistoryLimit"` // default 3
	FailedJobsHistoryLimit     *int       `json:"failedJobsHistoryLimit"`     // default 1
	StartingDeadlineSeconds    *int       `json:"startingDeadlineSeconds"`
	ActiveDeadlineSeconds      *int       `json:"activeDeadlineSeconds"`
	BackoffLimit               *int       `json:"backoffLimit"` // default 0
	Suspend                    bool       `json:"suspend"`
	Resources                  *Resources `json:"resources"` // default: the service's
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
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
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
	Name   string `json:"name"`
	Engine string `json:"engine"` // mysql, postgresql, redis
	Mode   string `json:"mode"`   // in-cluster (default) or external
	Port   int    `json:"port"`   // default: the engine's

	// In-cluster.
	Image        string            `json:"image"`       // default: the engine's official image
	StorageSize  string            `json:"storageSize"` // default 1Gi
	StorageClass string            `json:"storageClass"`
	Env          map[string]string `json:"env"`
	// SecretEnv names variables under shoestring:secrets.<name> (e.g. MYSQL_ROOT_PASSWORD).
	SecretEnv []string  `json:"secretEnv"`
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

var (
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	portNameRe   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envNameRe    = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	// image: [registry/]path[:tag][@sha256:digest]
	imageRe  = regexp.MustCompile(`^[a-z0-9]+([._/:-]*[a-z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	k8sVerRe = regexp.MustCompile(`^v1\.[0-9]+$`)
)

func (c *WorkloadsConfig) check(*Config) []FieldError {
	var errs []FieldError
	ns := Namespace + ":namespace"
	if len(c.Namespace) > 63 || !dns1123Label.MatchString(c.Namespace) {
		errs = append(errs, fieldErr(ns, c.Namespace, "is not a namespace name", "use at most 63 lowercase letters, digits and hyphens"))
	} else if c.Namespace == "default" || strings.HasPrefix(c.Namespace, "kube-") {
		errs = append(errs, fieldErr(ns, c.Namespace, "is a namespace Kubernetes owns: this program labels and deletes its namespace",
			"name a namespace of its own, e.g. \"apps\" (the default)"))
	}
	errs = append(errs, c.PodSecurity.check(Namespace+":podSecurity")...)
	for _, k := range sortedKeys(anyMap(c.CommonEnv)) {
		if !envNameRe.MatchString(k) {
			errs = append(errs, fieldErr(Namespace+":commonEnv."+k, k, "is not an environment variable name", "use letters, digits, '_', '-' and '.', not starting with a digit"))
		}
	}
	switch c.BatchAPIVersion {
	case "batch/v1", "batch/v1beta1":
	default:
		errs = append(errs, fieldErr(Namespace+":batchApiVersion", c.BatchAPIVersion, "is not a CronJob API version",
			oneOf("batch/v1", "batch/v1beta1")+" (batch/v1beta1 only for clusters older than Kubernetes 1.21)"))
	}
	if !imageRe.MatchString(c.WaitForImage) {
		errs = append(errs, fieldErr(Namespace+":waitForImage", c.WaitForImage, "is not an image reference", "use an image with sh and nc, e.g. \"busybox:1.37\""))
	}

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
		errs = append(errs, b.check(key, c)...)
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
		errs = append(errs, s.check(key, c, endpoints)...)
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
		if !contains(levels, f.v) {
			errs = append(errs, fieldErr(key+"."+f.name, f.v, "is not a Pod Security level", oneOf(levels...)))
		}
	}
	if p.Version != "latest" && !k8sVerRe.MatchString(p.Version) {
		errs = append(errs, fieldErr(key+".version", p.Version, "is not a Pod Security version", "use \"latest\" or a Kubernetes minor version such as \"v1.30\""))
	}
	return errs
}

func (b *Backing) check(key string, c *WorkloadsConfig) []FieldError {
	var errs []FieldError
	errs = append(errs, checkName(key+".name", b.Name, maxServiceName)...)
	def, known := EngineDefaults[b.Engine]
	if !known {
		errs = append(errs, fieldErr(key+".engine", b.Engine, "is not a supported engine", oneOf(EngineMySQL, EnginePostgreSQL, EngineRedis)))
	}
	if b.Port == 0 {
		b.Port = def.Port
	}
	if b.Port < 1 || b.Port > 65535 {
		errs = append(errs, fieldErr(key+".port", b.Port, "is not a port", "use 1-65535 (default: the engine's port)"))
	}
	if b.Mode == "" {
		b.Mode = BackingInCluster
	}
	switch b.Mode {
	case BackingInCluster:
		if b.Host != "" {
			errs = append(errs, fieldErr(key+".host", b.Host, "is only for mode \"external\"", "remove it, or set mode: external"))
		}
		if b.Image == "" {
			b.Image = def.Image
		}
		if !imageRe.MatchString(b.Image) {
			errs = append(errs, fieldErr(key+".image", b.Image, "is not an image reference", "use e.g. "+strconv.Quote(def.Image)))
		}
		if b.StorageSize == "" {
			b.StorageSize = "1Gi"
		}
		if !validQuantity(b.StorageSize) {
			errs = append(errs, fieldErr(key+".storageSize", b.StorageSize, "is not a quantity", "write a size such as \"1Gi\""))
		}
		if b.RunAsUser == 0 {
			b.RunAsUser = 999
		}
		if b.RunAsUser < 0 {
			errs = append(errs, fieldErr(key+".runAsUser", b.RunAsUser, "is not a user id", "use the image's non-root user id (999 in the official images)"))
		}
		errs = append(errs, b.Resources.check(key+".resources")...)
		errs = append(errs, checkEnv(key+".env", b.Env)...)
		errs = append(errs, c.checkSecretEnv(key+".secretEnv", b.Name, b.SecretEnv)...)
	case BackingExternal:
		if b.Host == "" {
			errs = append(errs, fieldErr(key+".host", nil, "is required when mode is \"external\"", "give the database's host name or IP address"))
		} else if net.ParseIP(b.Host) == nil && !validHostname(b.Host) {
			errs = append(errs, fieldErr(key+".host", b.Host, "is neither a host name nor an IP address", "give e.g. \"10.20.0.3\" or \"db.example.com\""))
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"image", b.Image != ""}, {"storageSize", b.StorageSize != ""}, {"storageClass", b.StorageClass != ""}, {"env", len(b.Env) > 0}, {"secretEnv", len(b.SecretEnv) > 0}} {
			if f.set {
				errs = append(errs, fieldErr(key+"."+f.name, nil, "is only for mode \"in-cluster\"", "remove it: an external service's credentials are the services' secretEnv"))
			}
		}
	default:
		errs = append(errs, fieldErr(key+".mode", b.Mode, "is not a backing mode", oneOf(BackingInCluster, BackingExternal)))
	}
	return errs
}

func (s *Service) check(key string, c *WorkloadsConfig, endpoints map[string]int) []FieldError {
	var errs []FieldError
	errs = append(errs, checkName(key+".name", s.Name, maxServiceName)...)
	errs = append(errs, checkImage(key+".image", s.Image)...)
	portNames := map[string]bool{}
	for j, p := range s.Ports {
		pk := fmt.Sprintf("%s.ports[%d]", key, j)
		if len(p.Name) > 15 || !portNameRe.MatchString(p.Name) || !strings.ContainsAny(p.Name, "abcdefghijklmnopqrstuvwxyz") {
			errs = append(errs, fieldErr(pk+".name", p.Name, "is not a port name", "use at most 15 lowercase letters, digits and hyphens, e.g. \"http\""))
		}
		if portNames[p.Name] {
			errs = append(errs, fieldErr(pk+".name", p.Name, "is used by another port of this service", "give each port its own name"))
		}
		portNames[p.Name] = true
		if p.Port < 1 || p.Port > 65535 {
			errs = append(errs, fieldErr(pk+".port", p.Port, "is not a port", "use 1-65535"))
		}
	}
	if s.Replicas == nil {
		s.Replicas = intPtr(1)
	}
	if *s.Replicas < 0 {
		errs = append(errs, fieldErr(key+".replicas", *s.Replicas, "is negative", "use 0 or more (default 1)"))
	}
	if s.Resources == (Resources{}) {
		s.Resources = Resources{Requests: ResourceList{CPU: "50m", Memory: "64Mi"}}
	}
	errs = append(errs, s.Resources.check(key+".resources")...)
	for _, p := range []struct {
		name  string
		probe *Probe
	}{{"readiness", s.Readiness}, {"liveness", s.Liveness}} {
		if p.probe != nil {
			errs = append(errs, p.probe.check(key+"."+p.name, s)...)
		}
	}
	errs = append(errs, checkEnv(key+".env", s.Env)...)
	errs = append(errs, c.checkSecretEnv(key+".secretEnv", s.Name, s.SecretEnv)...)
	errs = append(errs, checkWaitFor(key+".waitFor", s.WaitFor, s.Name, endpoints)...)
	if !s.Security.IsRestricted() && c.PodSecurity.Enforce == PodSecurityRestricted {
		errs = append(errs, fieldErr(key+".security.restricted", "false", "cannot run in a namespace that enforces the restricted Pod Security level",
			"keep it restricted, or set shoestring:podSecurity.enforce to \"baseline\" for this environment"))
	}
	if u := s.Security.RunAsUser; u != nil && (*u < 0 || (*u == 0 && s.Security.IsRestricted())) {
		errs = append(errs, fieldErr(key+".security.runAsUser", *u, "is root or not a user id, which the restricted level refuses", "use a non-root user id such as 10001"))
	}

	seen := map[string]string{}
	unique := func(k, name, what string) {
		if prev, ok := seen[what+"/"+name]; ok {
			errs = append(errs, fieldErr(k, name, "is also the name of "+prev, "give each "+what+" of a service its own name"))
		}
		seen[what+"/"+name] = k
	}
	for j := range s.Workers {
		w := &s.Workers[j]
		wk := fmt.Sprintf("%s.workers[%d]", key, j)
		errs = append(errs, checkName(wk+".name", s.Name+"-"+w.Name, maxServiceName+20)...)
		unique(wk+".name", w.Name, "worker")
		if len(w.Command) == 0 && len(w.Args) == 0 {
			errs = append(errs, fieldErr(wk+".command", nil, "is empty: the worker would run the service's own process", "give the worker's command, e.g. [\"bin/console\", \"messenger:consume\"]"))
		}
		if w.Replicas == nil {
			w.Replicas = intPtr(1)
		}
		if *w.Replicas < 0 {
			errs = append(errs, fieldErr(wk+".replicas", *w.Replicas, "is negative", "use 0 or more (default 1)"))
		}
		if w.Resources != nil {
			errs = append(errs, w.Resources.check(wk+".resources")...)
		}
	}
	for j := range s.CronJobs {
		cj := &s.CronJobs[j]
		ck := fmt.Sprintf("%s.cronJobs[%d]", key, j)
		errs = append(errs, checkName(ck+".name", s.Name+"-"+cj.Name, maxCronJobName)...)
		unique(ck+".name", cj.Name, "CronJob")
		errs = append(errs, cj.check(ck, c.BatchAPIVersion)...)
	}
	for j := range s.ReleaseJobs {
		rj := &s.ReleaseJobs[j]
		rk := fmt.Sprintf("%s.releaseJobs[%d]", key, j)
		errs = append(errs, checkName(rk+".name", s.Name+"-"+rj.Name, maxJobName-releaseIDLen-1)...)
		unique(rk+".name", rj.Name, "release Job")
		if len(rj.Command) == 0 && len(rj.Args) == 0 {
			errs = append(errs, fieldErr(rk+".command", nil, "is empty", "give the command to run, e.g. [\"bin/console\", \"doctrine:migrations:migrate\"]"))
		}
		switch rj.When {
		case ReleaseBefore, ReleaseAfter, ReleaseNever:
		case "":
			errs = append(errs, fieldErr(rk+".when", nil, "is required: each environment says when its release Jobs run", oneOf(ReleaseBefore, ReleaseAfter, ReleaseNever)))
		default:
			errs = append(errs, fieldErr(rk+".when", rj.When, "is not a release phase", oneOf(ReleaseBefore, ReleaseAfter, ReleaseNever)))
		}
		if rj.ActiveDeadlineSeconds == nil {
			rj.ActiveDeadlineSeconds = intPtr(600)
		}
		if *rj.ActiveDeadlineSeconds < 1 {
			errs = append(errs, fieldErr(rk+".activeDeadlineSeconds", *rj.ActiveDeadlineSeconds, "is not positive", "give the seconds the Job may run (default 600)"))
		}
		if rj.BackoffLimit == nil {
			rj.BackoffLimit = intPtr(0)
		}
		if *rj.BackoffLimit < 0 {
			errs = append(errs, fieldErr(rk+".backoffLimit", *rj.BackoffLimit, "is negative", "use 0 (no retries, the default) or more"))
		}
		if rj.WaitFor == nil {
			rj.WaitFor = s.WaitFor
		} else {
			errs = append(errs, checkWaitFor(rk+".waitFor", rj.WaitFor, "", endpoints)...)
		}
	}
	return errs
}

func (cj *CronJob) check(key, batchAPIVersion string) []FieldError {
	var errs []FieldError
	if len(cj.Command) == 0 && len(cj.Args) == 0 {
		errs = append(errs, fieldErr(key+".command", nil, "is empty", "give the command to run, e.g. [\"bin/console\", \"app:report\"]"))
	}
	if err := CheckSchedule(cj.Schedule); err != "" {
		errs = append(errs, fieldErr(key+".schedule", cj.Schedule, err, "write five fields (minute hour day-of-month month day-of-week), e.g. \"*/15 * * * *\", or a macro: @hourly, @daily, @weekly, @monthly, @yearly"))
	}
	if cj.TimeZone != "" {
		if batchAPIVersion != "batch/v1" {
			errs = append(errs, fieldErr(key+".timeZone", cj.TimeZone, "needs batch/v1 CronJobs (Kubernetes 1.27+)", "remove it, or set shoestring:batchApiVersion to \"batch/v1\""))
		} else if _, err := time.LoadLocation(cj.TimeZone); err != nil || cj.TimeZone == "Local" {
			errs = append(errs, fieldErr(key+".timeZone", cj.TimeZone, "is not an IANA time zone", "use a name such as \"Europe/Berlin\" or \"UTC\""))
		}
	}
	if cj.ConcurrencyPolicy == "" {
		cj.ConcurrencyPolicy = ConcurrencyForbid
	}
	if !contains([]string{ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace}, cj.ConcurrencyPolicy) {
		errs = append(errs, fieldErr(key+".concurrencyPolicy", cj.ConcurrencyPolicy, "is not a concurrency policy", oneOf(ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace)))
	}
	for _, f := range []struct {
		name string
		v    **int
		def  int
		min  int
	}{
		{"successfulJobsHistoryLimit", &cj.SuccessfulJobsHistoryLimit, 3, 0},
		{"failedJobsHistoryLimit", &cj.FailedJobsHistoryLimit, 1, 0},
		{"backoffLimit", &cj.BackoffLimit, 0, 0},
		{"startingDeadlineSeconds", &cj.StartingDeadlineSeconds, -1, 10},
		{"activeDeadlineSeconds", &cj.ActiveDeadlineSeconds, -1, 1},
	} {
		if *f.v == nil {
			if f.def >= 0 {
				*f.v = intPtr(f.def)
			}
			continue
		}
		if **f.v < f.min {
			errs = append(errs, fieldErr(key+"."+f.name, **f.v, "is too small", fmt.Sprintf("use %d or more", f.min)))
		}
	}
	if cj.Resources != nil {
		errs = append(errs, cj.Resources.check(key+".resources")...)
	}
	return errs
}

func (p *Probe) check(key string, s *Service) []FieldError {
	var errs []FieldError
	if len(p.Command) == 0 {
		if len(s.Ports) == 0 && p.Port == "" {
			errs = append(errs, fieldErr(key+".port", nil, "is needed: the service has no ports", "give a port number, or a command to run"))
		}
		if p.Port != "" {
			if n, err := strconv.Atoi(p.Port); err == nil {
				if n < 1 || n > 65535 {
					errs = append(errs, fieldErr(key+".port", p.Port, "is not a port", "use 1-65535 or a port name of the service"))
				}
			} else if !serviceHasPort(s, p.Port) {
				errs = append(errs, fieldErr(key+".port", p.Port, "is not a port name of the service", "use one of the service's ports' names or a number"))
			}
		}
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, fieldErr(key+".path", p.Path, "is not an absolute path", "start it with /, e.g. \"/healthz\""))
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"initialDelaySeconds", p.InitialDelaySeconds}, {"periodSeconds", p.PeriodSeconds}, {"timeoutSeconds", p.TimeoutSeconds}, {"failureThreshold", p.FailureThreshold}} {
		if f.v < 0 {
			errs = append(errs, fieldErr(key+"."+f.name, f.v, "is negative", "use 0 (the Kubernetes default) or more"))
		}
	}
	return errs
}

func serviceHasPort(s *Service, name string) bool {
	for _, p := range s.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (r *Resources) check(key string) []FieldError {
	var errs []FieldError
	for _, f := range []struct{ name, v string }{
		{"requests.cpu", r.Requests.CPU}, {"requests.memory", r.Requests.Memory},
		{"limits.cpu", r.Limits.CPU}, {"limits.memory", r.Limits.Memory},
	} {
		if f.v != "" && !validQuantity(f.v) {
			errs = append(errs, fieldErr(key+"."+f.name, f.v, "is not a Kubernetes quantity", "write e.g. \"100m\" for CPU or \"128Mi\" for memory"))
		}
	}
	return errs
}

// checkSecretEnv makes sure every referenced secret is set, naming the command that sets a missing one.
func (c *WorkloadsConfig) checkSecretEnv(key, group string, names []string) []FieldError {
	var errs []FieldError
	seen := map[string]bool{}
	for j, n := range names {
		k := fmt.Sprintf("%s[%d]", key, j)
		if !envNameRe.MatchString(n) {
			errs = append(errs, fieldErr(k, n, "is not an environment variable name", "use letters, digits, '_', '-' and '.', not starting with a digit"))
			continue
		}
		if seen[n] {
			errs = append(errs, fieldErr(k, n, "is listed twice", "list each secret once"))
		}
		seen[n] = true
		if _, ok := c.Secrets[group][n]; !ok {
			errs = append(errs, MissingSecret(group, n))
		}
	}
	return errs
}

// MissingSecret is the error for a secret a stack refers to but does not set. Every section reports
// missing secrets through it, so that LoadStackFileWithPlaceholders can stand in for them.
func MissingSecret(group, name string) FieldError {
	return FieldError{
		Key:     fmt.Sprintf("%s:secrets.%s.%s", Namespace, group, name),
		Problem: missingSecretProblem,
		Fix:     fmt.Sprintf("set it with `pulumi config set --secret --path 'secrets.%s.%s' <value>`", group, name),
	}
}

const missingSecretProblem = "is referenced but not set"

func checkEnv(key string, env map[string]string) []FieldError {
	var errs []FieldError
	for _, k := range sortedKeys(anyMap(env)) {
		if !envNameRe.MatchString(k) {
			errs = append(errs, fieldErr(key+"."+k, k, "is not an environment variable name", "use letters, digits, '_', '-' and '.', not starting with a digit"))
		}
	}
	return errs
}

func checkWaitFor(key string, targets []string, self string, endpoints map[string]int) []FieldError {
	var errs []FieldError
	for j, t := range targets {
		k := fmt.Sprintf("%s[%d]", key, j)
		if _, _, err := WaitTarget(t, endpoints); err != nil {
			errs = append(errs, fieldErr(k, t, err.Error(), "name a backing service, a service with ports, or write \"host:port\""))
		} else if t == self {
			errs = append(errs, fieldErr(k, t, "is the service itself: it would never start", "remove it"))
		}
	}
	return errs
}

// WaitTarget resolves a waitFor entry to the host and port an init container waits for: a name from
// endpoints (backing services and services with ports, at their first port) or "host:port".
func WaitTarget(t string, endpoints map[string]int) (string, int, error) {
	if port, ok := endpoints[t]; ok {
		return t, port, nil
	}
	host, p, err := net.SplitHostPort(t)
	if err != nil {
		return "", 0, fmt.Errorf("is neither a known backing service or service nor host:port")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || (net.ParseIP(host) == nil && !validHostname(host)) {
		return "", 0, fmt.Errorf("is not a valid host:port")
	}
	return host, port, nil
}

// Endpoints maps each backing service and each service with ports to the port waitFor uses.
func (c *WorkloadsConfig) Endpoints() map[string]int {
	out := map[string]int{}
	for _, b := range c.Backing {
		out[b.Name] = b.Port
	}
	for _, s := range c.Services {
		if len(s.Ports) > 0 {
			out[s.Name] = s.Ports[0].Port
		}
	}
	return out
}

func checkName(key, name string, max int) []FieldError {
	if name == "" || len(name) > max || !dns1123Label.MatchString(name) {
		return []FieldError{fieldErr(key, name, "is not a valid name",
			fmt.Sprintf("use lowercase letters, digits and hyphens, starting and ending with a letter or digit (the object's full name %q may have at most %d characters)", name, max))}
	}
	return nil
}

func checkImage(key, image string) []FieldError {
	if image == "" {
		return []FieldError{fieldErr(key, nil, "is required", "give an image with a tag or digest, e.g. \"ghcr.io/acme/api:1.4.2\"")}
	}
	if !imageRe.MatchString(image) {
		return []FieldError{fieldErr(key, image, "is not an image reference", "write e.g. \"ghcr.io/acme/api:1.4.2\" or \"...@sha256:<digest>\"")}
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if !strings.Contains(last, ":") && !strings.Contains(image, "@sha256:") {
		return []FieldError{fieldErr(key, image, "has no tag or digest: environments could run different code", "pin a tag or digest, e.g. \""+image+":1.4.2\"")}
	}
	if strings.HasSuffix(last, ":latest") {
		return []FieldError{fieldErr(key, image, "uses the moving tag latest: environments could run different code", "pin a release tag or a digest")}
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if len(l) > 63 || !dns1123Label.MatchString(strings.ToLower(l)) {
			return false
		}
	}
	return true
}

// Cron schedules. Kubernetes parses them with robfig/cron's standard parser; this accepts the same
// forms, so a typo fails at preview instead of leaving a CronJob that never runs.
var (
	cronMacros = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
	cronFields = []struct {
		name     string
		min, max int
		names    []string // names for min, min+1, ...
	}{
		{"minute", 0, 59, nil},
		{"hour", 0, 23, nil},
		{"day of month", 1, 31, nil},
		{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	}
)

// CheckSchedule returns what is wrong with a cron schedule, or "" when Kubernetes accepts it.
func CheckSchedule(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "is required"
	}
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return "sets a time zone inside the schedule, which batch/v1 refuses; use the timeZone field"
	}
	if strings.HasPrefix(s, "@") {
		if contains(cronMacros, s) {
			return ""
		}
		if strings.HasPrefix(s, "@every ") {
			if _, err := time.ParseDuration(strings.TrimPrefix(s, "@every ")); err != nil {
				return "has an invalid @every duration"
			}
			return ""
		}
		return "is not a known macro"
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Sprintf("has %d fields, not 5", len(fields))
	}
	for i, f := range fields {
		spec := cronFields[i]
		for _, part := range strings.Split(f, ",") {
			if msg := checkCronPart(part, spec.min, spec.max, spec.names, i >= 2 && i != 3); msg != "" {
				return fmt.Sprintf("has an invalid %s %q: %s", spec.name, f, msg)
			}
		}
	}
	return ""
}

func checkCronPart(part string, min, max int, names []string, questionOK bool) string {
	rng, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 {
			return "the step after / must be a positive number"
		}
	}
	if rng == "*" || (questionOK && rng == "?") {
		return ""
	}
	lo, hi, isRange := strings.Cut(rng, "-")
	a, err := cronValue(lo, min, max, names)
	if err != "" {
		return err
	}
	if isRange {
		b, err := cronValue(hi, min, max, names)
		if err != "" {
			return err
		}
		if b < a {
			return "the range ends before it starts"
		}
	}
	return ""
}

func cronValue(v string, min, max int, names []string) (int, string) {
	for i, n := range names {
		if strings.EqualFold(v, n) {
			return min + i, ""
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a number", v)
	}
	if n < min || n > max {
		return 0, fmt.Sprintf("%d is outside %d-%d", n, min, max)
	}
	return n, ""
}

func intPtr(v int) *int { return &v }

// validQuantity parses a quantity the way the apiserver will.
func validQuantity(q string) bool {
	_, err := resource.ParseQuantity(q)
	return err == nil
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SortedEnv lists a map's keys in order, for deterministic objects.
func SortedEnv(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
