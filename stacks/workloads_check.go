package stacks

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The checks of each workloads entry (backing services, services and their workers, CronJobs,
// release Jobs and probes) and of what entries refer to (secrets, waitFor targets, names). Those
// named checkAndFillDefaults also set the entry's defaults that depend on other values.

func (b *Backing) checkAndFillDefaults(key string, c *WorkloadsConfig) []FieldError {
	var errs []FieldError
	errs = append(errs, checkName(key+".name", b.Name, maxServiceName)...)
	def, known := EngineDefaults[b.Engine]
	generic := b.Engine == EngineGeneric
	if !known && !generic {
		errs = append(errs, fieldErr(key+".engine", b.Engine, "is not a supported engine", oneOf(EngineMySQL, EnginePostgreSQL, EngineRedis, EngineGeneric)+" (generic: any image, with ports)"))
	}
	if b.Mode == "" {
		b.Mode = BackingInCluster
	}
	if generic {
		errs = append(errs, b.checkGeneric(key)...)
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{{"ports", len(b.Ports) > 0}, {"command", len(b.Command) > 0}, {"args", len(b.Args) > 0}, {"volume", b.Volume != nil}} {
			if f.set {
				errs = append(errs, fieldErr(key+"."+f.name, nil, "is only for engine \"generic\"", "remove it (engine "+strconv.Quote(b.Engine)+" has its own), or set engine: generic"))
			}
		}
	}
	if b.Port == 0 {
		b.Port = def.Port
	}
	if (b.Port < 1 && (known || b.Port != 0)) || b.Port > 65535 { // an unknown engine has no default to report
		errs = append(errs, fieldErr(key+".port", b.Port, "is not a port", "use 1-65535 (default: the engine's port)"))
	}
	if len(b.Databases) > 0 {
		errs = append(errs, b.checkDatabases(key+".databases")...)
	}
	switch b.Mode {
	case BackingInCluster:
		if b.Host != "" {
			errs = append(errs, fieldErr(key+".host", b.Host, "is only for mode \"external\"", "remove it, or set mode: external"))
		}
		if b.Image == "" && !generic {
			b.Image = def.Image
		}
		if b.Image == "" && generic {
			errs = append(errs, fieldErr(key+".image", nil, "is required for engine \"generic\"", "give the image with a tag, e.g. \"rabbitmq:4.1\""))
		} else if b.Image == "" && !known {
			// an unknown engine has no default image: the engine's problem is reported
		} else if problem := imageProblem(b.Image); problem != "" {
			errs = append(errs, fieldErr(key+".image", b.Image, problem, "use e.g. "+strconv.Quote(cmpOr(def.Image, "rabbitmq:4.1"))))
		} else {
			errs = append(errs, checkImage(key+".image", b.Image)...) // pinned: no latest
		}
		if b.StorageSize == "" && !generic {
			b.StorageSize = "1Gi"
		}
		if generic && b.StorageSize != "" {
			errs = append(errs, fieldErr(key+".storageSize", b.StorageSize, "is not for engine \"generic\"", "give volume: {size: \"1Gi\", mountPath: /data} instead"))
		} else if !generic && !validQuantity(b.StorageSize) {
			errs = append(errs, fieldErr(key+".storageSize", b.StorageSize, "is not a quantity", "write a size such as \"1Gi\""))
		}
		if b.StorageClass == "" {
			b.StorageClass = c.StorageClass
		} else if !isDNSSubdomain(b.StorageClass) {
			errs = append(errs, fieldErr(key+".storageClass", b.StorageClass, "is not a storage class name", "use lowercase letters, digits, '-' and '.', e.g. \"standard-rwo\" (default: shoestring:storageClass, else the cluster's default)"))
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
		} else if net.ParseIP(b.Host) == nil && !isHostname(b.Host) {
			errs = append(errs, fieldErr(key+".host", b.Host, "is neither a host name nor an IP address", "give e.g. \"10.20.0.3\" or \"db.example.com\""))
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"image", b.Image != ""}, {"storageSize", b.StorageSize != ""}, {"storageClass", b.StorageClass != ""}, {"env", len(b.Env) > 0}, {"secretEnv", len(b.SecretEnv) > 0},
			{"databases", len(b.Databases) > 0}, {"command", len(b.Command) > 0}, {"args", len(b.Args) > 0}, {"volume", b.Volume != nil}} {
			if f.set {
				errs = append(errs, fieldErr(key+"."+f.name, nil, "is only for mode \"in-cluster\"", "remove it: an external service's credentials are the services' secretEnv"))
			}
		}
	default:
		errs = append(errs, fieldErr(key+".mode", b.Mode, "is not a backing mode", oneOf(BackingInCluster, BackingExternal)))
	}
	return errs
}

func (s *Service) checkAndFillDefaults(key string, c *WorkloadsConfig, endpoints map[string]int) []FieldError {
	var errs []FieldError
	errs = append(errs, checkName(key+".name", s.Name, maxServiceName)...)
	errs = append(errs, checkImage(key+".image", s.Image)...)
	errs = append(errs, checkPorts(key+".ports", s.Ports)...)
	if s.Replicas == nil {
		s.Replicas = intPtr(1)
	}
	errs = append(errs, checkReplicas(key+".replicas", *s.Replicas)...)
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
	errs = append(errs, checkWritablePaths(key+".writablePaths", s.WritablePaths)...)
	errs = append(errs, s.checkHardening(key)...)
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
		errs = append(errs, checkReplicas(wk+".replicas", *w.Replicas)...)
		if w.Resources != nil {
			errs = append(errs, w.Resources.check(wk+".resources")...)
		}
	}
	for j := range s.CronJobs {
		cj := &s.CronJobs[j]
		ck := fmt.Sprintf("%s.cronJobs[%d]", key, j)
		errs = append(errs, checkName(ck+".name", s.Name+"-"+cj.Name, maxCronJobName)...)
		unique(ck+".name", cj.Name, "CronJob")
		errs = append(errs, cj.checkAndFillDefaults(ck, c.BatchAPIVersion)...)
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
		} else if *rj.ActiveDeadlineSeconds > MaxDeadlineSeconds {
			errs = append(errs, fieldErr(rk+".activeDeadlineSeconds", *rj.ActiveDeadlineSeconds, fmt.Sprintf("is more than a day (%d seconds), the longest a release Job may run", MaxDeadlineSeconds),
				fmt.Sprintf("use 1 to %d seconds (default 600)", MaxDeadlineSeconds)))
		}
		if rj.BackoffLimit == nil {
			rj.BackoffLimit = intPtr(0)
		}
		if *rj.BackoffLimit < 0 {
			errs = append(errs, fieldErr(rk+".backoffLimit", *rj.BackoffLimit, "is negative", "use 0 (no retries, the default) or more"))
		} else if *rj.BackoffLimit > MaxBackoffLimit {
			errs = append(errs, fieldErr(rk+".backoffLimit", *rj.BackoffLimit, fmt.Sprintf("is above %d retries: more only delay the failure", MaxBackoffLimit),
				fmt.Sprintf("use 0 (no retries, the default) to %d", MaxBackoffLimit)))
		}
		if rj.WaitFor == nil {
			rj.WaitFor = s.WaitFor
		} else {
			errs = append(errs, checkWaitFor(rk+".waitFor", rj.WaitFor, "", endpoints)...)
		}
		errs = append(errs, checkEnv(rk+".env", rj.Env)...)
	}
	return errs
}

func (cj *CronJob) checkAndFillDefaults(key, batchAPIVersion string) []FieldError {
	var errs []FieldError
	if len(cj.Command) == 0 && len(cj.Args) == 0 {
		errs = append(errs, fieldErr(key+".command", nil, "is empty", "give the command to run, e.g. [\"bin/console\", \"app:report\"]"))
	}
	if problem := CheckSchedule(cj.Schedule); problem != "" {
		errs = append(errs, fieldErr(key+".schedule", cj.Schedule, problem, "write five fields (minute hour day-of-month month day-of-week), e.g. \"*/15 * * * *\", or a macro: @hourly, @daily, @weekly, @monthly, @yearly"))
	}
	if cj.TimeZone != "" {
		if batchAPIVersion != "batch/v1" {
			errs = append(errs, fieldErr(key+".timeZone", cj.TimeZone, "needs batch/v1 CronJobs (Kubernetes 1.27+)", "remove it, or set shoestring:batchApiVersion to \"batch/v1\""))
		} else if problem := timeZoneProblem(cj.TimeZone); problem != "" {
			errs = append(errs, fieldErr(key+".timeZone", cj.TimeZone, problem, "use a name such as \"Europe/Berlin\" or \"UTC\""))
		}
	}
	if cj.ConcurrencyPolicy == "" {
		cj.ConcurrencyPolicy = ConcurrencyForbid
	}
	if !slices.Contains([]string{ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace}, cj.ConcurrencyPolicy) {
		errs = append(errs, fieldErr(key+".concurrencyPolicy", cj.ConcurrencyPolicy, "is not a concurrency policy", oneOf(ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace)))
	}
	for _, f := range []struct {
		name     string
		v        **int
		def      int
		min, max int
	}{
		{"successfulJobsHistoryLimit", &cj.SuccessfulJobsHistoryLimit, 3, 0, MaxJobsHistoryLimit},
		{"failedJobsHistoryLimit", &cj.FailedJobsHistoryLimit, 1, 0, MaxJobsHistoryLimit},
		{"backoffLimit", &cj.BackoffLimit, 0, 0, MaxBackoffLimit},
		{"startingDeadlineSeconds", &cj.StartingDeadlineSeconds, -1, 10, MaxDeadlineSeconds},
		{"activeDeadlineSeconds", &cj.ActiveDeadlineSeconds, -1, 1, MaxDeadlineSeconds},
	} {
		if *f.v == nil {
			if f.def >= 0 {
				*f.v = intPtr(f.def)
			}
			continue
		}
		if **f.v < f.min {
			errs = append(errs, fieldErr(key+"."+f.name, **f.v, "is too small", fmt.Sprintf("use %d or more", f.min)))
		} else if **f.v > f.max {
			errs = append(errs, fieldErr(key+"."+f.name, **f.v, fmt.Sprintf("is above %d, the most this program allows", f.max), fmt.Sprintf("use %d to %d", f.min, f.max)))
		}
	}
	if cj.Resources != nil {
		errs = append(errs, cj.Resources.check(key+".resources")...)
	}
	errs = append(errs, checkEnv(key+".env", cj.Env)...)
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
		if !isEnvVarName(n) {
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
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !isEnvVarName(k) {
			errs = append(errs, fieldErr(key+"."+k, k, "is not an environment variable name", "use letters, digits, '_', '-' and '.', not starting with a digit"))
		}
	}
	return errs
}

func checkWaitFor(key string, targets []string, self string, endpoints map[string]int) []FieldError {
	var errs []FieldError
	for j, t := range targets {
		k := fmt.Sprintf("%s[%d]", key, j)
		if _, err := ParseWaitFor(t, endpoints); err != nil {
			errs = append(errs, fieldErr(k, t, err.Error(), waitForForms))
		} else if t == self {
			errs = append(errs, fieldErr(k, t, "is the service itself: it would never start", "remove it"))
		}
	}
	return errs
}

const waitForForms = `name a backing service or a service with ports, or write "host:port", "http://host[:port]/path" or "cmd: <shell command>" (quoted in YAML)`

// WaitForKind is how an init container waits.
const (
	WaitTCP     = "tcp"     // until Host:Port accepts a connection
	WaitHTTP    = "http"    // until an HTTP GET of URL succeeds
	WaitCommand = "command" // until Command exits 0
)

// WaitFor is one resolved waitFor entry.
type WaitFor struct {
	Kind    string
	Host    string // tcp and http: the host (names the init container)
	Port    int    // tcp
	URL     string // http
	Command string // command: a shell command line, run with sh -c
}

// waitCommandPrefix starts a waitFor entry that is a command.
const waitCommandPrefix = "cmd:"

// ParseWaitFor resolves a waitFor entry: a name from endpoints (backing services and services with
// ports, at their first port), "host:port", an http:// URL (busybox wget speaks plain HTTP only), or
// "cmd: <shell command>".
func ParseWaitFor(t string, endpoints map[string]int) (WaitFor, error) {
	if rest, ok := strings.CutPrefix(t, waitCommandPrefix); ok {
		cmd := strings.TrimSpace(rest)
		if cmd == "" {
			return WaitFor{}, fmt.Errorf("is an empty command")
		}
		return WaitFor{Kind: WaitCommand, Command: cmd}, nil
	}
	if strings.Contains(t, "://") {
		u, err := url.Parse(t)
		if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || u.Fragment != "" {
			return WaitFor{}, fmt.Errorf("is not an http:// URL with a host (https is not supported by the wait-for image's wget)")
		}
		host := u.Hostname()
		if net.ParseIP(host) == nil && !isHostname(host) {
			return WaitFor{}, fmt.Errorf("has an invalid host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return WaitFor{}, fmt.Errorf("has an invalid port")
			}
		}
		return WaitFor{Kind: WaitHTTP, Host: host, URL: t}, nil
	}
	host, port, err := WaitTarget(t, endpoints)
	if err != nil {
		return WaitFor{}, err
	}
	return WaitFor{Kind: WaitTCP, Host: host, Port: port}, nil
}

// WaitTarget resolves a TCP waitFor entry to the host and port an init container waits for: a name
// from endpoints (backing services and services with ports, at their first port) or "host:port".
func WaitTarget(t string, endpoints map[string]int) (string, int, error) {
	if port, ok := endpoints[t]; ok {
		return t, port, nil
	}
	host, p, err := net.SplitHostPort(t)
	if err != nil {
		return "", 0, fmt.Errorf("is neither a known backing service or service, host:port, an http:// URL nor a cmd: command")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || (net.ParseIP(host) == nil && !isHostname(host)) {
		return "", 0, fmt.Errorf("is not a valid host:port")
	}
	return host, port, nil
}

func checkWritablePaths(key string, paths []string) []FieldError {
	var errs []FieldError
	seen := map[string]bool{}
	for j, p := range paths {
		k := fmt.Sprintf("%s[%d]", key, j)
		if problem := absPathProblem(p); problem != "" {
			errs = append(errs, fieldErr(k, p, problem, "give an absolute folder the app writes to, e.g. \"/tmp\""))
		} else if seen[p] {
			errs = append(errs, fieldErr(k, p, "is listed twice", "list each folder once"))
		}
		seen[p] = true
	}
	return errs
}

// Topology spread policies.
const (
	ScheduleAnyway = "ScheduleAnyway"
	DoNotSchedule  = "DoNotSchedule"
)

// checkHardening checks disruptionBudget, spread and autoscaling and fills their defaults.
func (s *Service) checkHardening(key string) []FieldError {
	var errs []FieldError
	replicas := *s.Replicas
	what := fmt.Sprintf("replicas (%d)", replicas)
	if a := s.Autoscaling; a != nil {
		k := key + ".autoscaling"
		if a.MinReplicas == 0 {
			a.MinReplicas = 1
		}
		if a.TargetCPUUtilization == 0 {
			a.TargetCPUUtilization = 80
		}
		if a.MinReplicas < 1 {
			errs = append(errs, fieldErr(k+".minReplicas", a.MinReplicas, "is less than 1", "use 1 or more (default 1)"))
		}
		if a.MaxReplicas < max(a.MinReplicas, 1) {
			errs = append(errs, fieldErr(k+".maxReplicas", a.MaxReplicas, fmt.Sprintf("is less than minReplicas (%d) or missing", a.MinReplicas), "give the most replicas the autoscaler may run, at least minReplicas"))
		} else if a.MaxReplicas > MaxReplicas {
			errs = append(errs, fieldErr(k+".maxReplicas", a.MaxReplicas, "is more than this program allows", fmt.Sprintf("use at most %d, the bound of replicas", MaxReplicas)))
		}
		if a.TargetCPUUtilization < 1 || a.TargetCPUUtilization > 100 {
			errs = append(errs, fieldErr(k+".targetCPUUtilization", a.TargetCPUUtilization, "is not a percentage of the CPU request", "use 1-100 (default 80)"))
		}
		if s.Resources.Requests.CPU == "" {
			errs = append(errs, fieldErr(key+".resources.requests.cpu", nil, "is required with autoscaling: utilisation is a percentage of the request", "set a CPU request, e.g. \"100m\""))
		}
		replicas, what = a.MinReplicas, fmt.Sprintf("autoscaling.minReplicas (%d)", a.MinReplicas)
	}
	if b := s.DisruptionBudget; b != nil {
		k := key + ".disruptionBudget"
		switch {
		case (b.MinAvailable == nil) == (b.MaxUnavailable == nil):
			errs = append(errs, fieldErr(k, nil, "needs exactly one of minAvailable and maxUnavailable", "give e.g. maxUnavailable: 1"))
		case b.MinAvailable != nil && *b.MinAvailable < 0:
			errs = append(errs, fieldErr(k+".minAvailable", *b.MinAvailable, "is negative", fmt.Sprintf("use 0 to %d, less than %s", max(replicas-1, 0), what)))
		case b.MinAvailable != nil && *b.MinAvailable >= replicas:
			errs = append(errs, fieldErr(k+".minAvailable", *b.MinAvailable, fmt.Sprintf("is not less than %s: no pod could ever be evicted, so no node could be drained", what),
				fmt.Sprintf("use at most %d, or maxUnavailable: 1", max(replicas-1, 0))))
		case b.MaxUnavailable != nil && *b.MaxUnavailable < 1:
			errs = append(errs, fieldErr(k+".maxUnavailable", *b.MaxUnavailable, "is less than 1: no pod could ever be evicted, so no node could be drained", "use 1 or more"))
		}
	}
	if sp := s.Spread; sp != nil {
		k := key + ".spread"
		if sp.TopologyKey == "" {
			sp.TopologyKey = "kubernetes.io/hostname"
		}
		if errs2 := validation.IsQualifiedName(sp.TopologyKey); len(errs2) > 0 {
			errs = append(errs, fieldErr(k+".topologyKey", sp.TopologyKey, "is not a node label key", "use e.g. \"kubernetes.io/hostname\" (the default) or \"topology.kubernetes.io/zone\""))
		}
		if sp.MaxSkew == 0 {
			sp.MaxSkew = 1
		}
		if sp.MaxSkew < 1 {
			errs = append(errs, fieldErr(k+".maxSkew", sp.MaxSkew, "is less than 1", "use 1 (the default) or more"))
		}
		if sp.WhenUnsatisfiable == "" {
			sp.WhenUnsatisfiable = ScheduleAnyway
		}
		if sp.WhenUnsatisfiable != ScheduleAnyway && sp.WhenUnsatisfiable != DoNotSchedule {
			errs = append(errs, fieldErr(k+".whenUnsatisfiable", sp.WhenUnsatisfiable, "is not a topology spread policy", oneOf(ScheduleAnyway, DoNotSchedule)))
		}
	}
	return errs
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
	if len(name) > max || !isDNSLabel(name) {
		return []FieldError{fieldErr(key, name, "is not a valid name",
			fmt.Sprintf("use lowercase letters, digits and hyphens, starting and ending with a letter or digit (the object's full name %q may have at most %d characters)", name, max))}
	}
	return nil
}

// checkImage checks a service's image: a reference with a tag other than latest, or a digest, so
// that every environment runs the same code.
func checkImage(key, image string) []FieldError {
	if image == "" {
		return []FieldError{fieldErr(key, nil, "is required", "give an image with a tag or digest, e.g. \"ghcr.io/acme/api:1.4.2\"")}
	}
	if problem := imageProblem(image); problem != "" {
		return []FieldError{fieldErr(key, image, problem, "write e.g. \"ghcr.io/acme/api:1.4.2\" or \"...@sha256:<digest>\"")}
	}
	named, _ := reference.ParseNormalizedNamed(image)
	if _, digested := named.(reference.Digested); digested {
		return nil
	}
	tagged, ok := named.(reference.Tagged)
	if !ok {
		return []FieldError{fieldErr(key, image, "has no tag or digest: environments could run different code", "pin a tag or digest, e.g. \""+image+":1.4.2\"")}
	}
	if tagged.Tag() == "latest" {
		return []FieldError{fieldErr(key, image, "uses the moving tag latest: environments could run different code", "pin a release tag or a digest")}
	}
	return nil
}

func intPtr(v int) *int { return &v }

// checkReplicas bounds a Deployment's replicas: 0 (stopped) to MaxReplicas.
func checkReplicas(key string, n int) []FieldError {
	switch {
	case n < 0:
		return []FieldError{fieldErr(key, n, "is negative", "use 0 or more (default 1)")}
	case n > MaxReplicas:
		return []FieldError{fieldErr(key, n, fmt.Sprintf("is above %d replicas, more than this product's cluster of at most %d small nodes runs", MaxReplicas, MaxNodeCount),
			fmt.Sprintf("use 0 to %d (default 1)", MaxReplicas))}
	}
	return nil
}

// validQuantity parses a quantity the way the apiserver will.
func validQuantity(q string) bool {
	_, err := resource.ParseQuantity(q)
	return err == nil
}

// checkGeneric checks the keys only engine generic has and sets its port to the first of ports.
func (b *Backing) checkGeneric(key string) []FieldError {
	var errs []FieldError
	if b.Port != 0 {
		errs = append(errs, fieldErr(key+".port", b.Port, "is not for engine \"generic\"", "list the ports instead: ports: [{name: amqp, port: 5672}]"))
	}
	if len(b.Ports) == 0 {
		errs = append(errs, fieldErr(key+".ports", nil, "is required for engine \"generic\"", "list at least one port, e.g. ports: [{name: beanstalk, port: 11300}] (waitFor connects to the first)"))
	}
	errs = append(errs, checkPorts(key+".ports", b.Ports)...)
	if len(b.Ports) > 0 {
		b.Port = b.Ports[0].Port
	}
	if v := b.Volume; v != nil {
		if v.Size == "" {
			v.Size = "1Gi"
		}
		if !validQuantity(v.Size) {
			errs = append(errs, fieldErr(key+".volume.size", v.Size, "is not a quantity", "write a size such as \"1Gi\" (the default)"))
		}
		if p := v.MountPath; p == "" {
			errs = append(errs, fieldErr(key+".volume.mountPath", nil, "is required", "give the folder the image keeps its data in, e.g. \"/data\""))
		} else if problem := absPathProblem(p); problem != "" {
			errs = append(errs, fieldErr(key+".volume.mountPath", p, problem, "give an absolute folder such as \"/data\""))
		}
	}
	return errs
}

// databaseNameRe is the database names init scripts create: a name that needs no quoting in either
// SQL dialect's shell script (a pattern: neither MySQL nor PostgreSQL publishes a Go grammar).
var databaseNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (b *Backing) checkDatabases(key string) []FieldError {
	var errs []FieldError
	if b.Engine != EngineMySQL && b.Engine != EnginePostgreSQL {
		return []FieldError{fieldErr(key, strings.Join(b.Databases, ","), "is only for engines \"mysql\" and \"postgresql\"", "remove it; other engines have no databases to create")}
	}
	seen := map[string]bool{}
	for j, d := range b.Databases {
		k := fmt.Sprintf("%s[%d]", key, j)
		switch {
		case !databaseNameRe.MatchString(d):
			errs = append(errs, fieldErr(k, d, "is not a database name this program creates", "use at most 63 lowercase letters, digits and '_', starting with a letter or '_', e.g. \"app_test\""))
		case seen[d]:
			errs = append(errs, fieldErr(k, d, "is listed twice", "list each database once"))
		}
		seen[d] = true
	}
	return errs
}

func checkPorts(key string, ports []ServicePort) []FieldError {
	var errs []FieldError
	names := map[string]bool{}
	for j, p := range ports {
		pk := fmt.Sprintf("%s[%d]", key, j)
		if !isPortName(p.Name) {
			errs = append(errs, fieldErr(pk+".name", p.Name, "is not a port name",
				"use at most 15 lowercase letters, digits and single hyphens, with at least one letter, e.g. \"http\""))
		}
		if names[p.Name] {
			errs = append(errs, fieldErr(pk+".name", p.Name, "is used by another port of this service", "give each port its own name"))
		}
		names[p.Name] = true
		if p.Port < 1 || p.Port > 65535 {
			errs = append(errs, fieldErr(pk+".port", p.Port, "is not a port", "use 1-65535"))
		}
	}
	return errs
}

// absPathProblem is what is wrong with a folder path mounted into a container ("" if nothing).
func absPathProblem(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return "is not an absolute path"
	case p == "/":
		return "is the root folder"
	case path.Clean(p) != p:
		return "is not a clean path (no trailing '/', '//', '.' or '..')"
	case strings.ContainsAny(p, ":\x00"):
		return "contains ':' or a NUL byte"
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
