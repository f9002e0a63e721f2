package stacks

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The checks of each workloads entry (backing services, services and their workers, CronJobs,
// release Jobs and probes) and of what entries refer to (secrets, waitFor targets, names). Those
// named checkAndFillDefaults also set the entry's defaults that depend on other values.

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

// WaitForKind is how an init container waits.
const (
	WaitTCP     = "tcp"     // until Host:Port accepts a connection
	WaitHTTP    = "http"    // until an HTTP GET of URL succeeds
	WaitCommand = "command" // until Command exits 0
)

// Topology spread policies.
const (
	ScheduleAnyway = "ScheduleAnyway"
	DoNotSchedule  = "DoNotSchedule"
)

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
