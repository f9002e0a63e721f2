package program

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

const (
	tDeployment  = "kubernetes:apps/v1:Deployment"
	tStatefulSet = "kubernetes:apps/v1:StatefulSet"
	tCronJob     = "kubernetes:batch/v1:CronJob"
	tCronJobBeta = "kubernetes:batch/v1beta1:CronJob"
	tJob         = "kubernetes:batch/v1:Job"
	tSecret      = "kubernetes:core/v1:Secret"
	tConfigMap   = "kubernetes:core/v1:ConfigMap"
	tService     = "kubernetes:core/v1:Service"
	tNamespace   = "kubernetes:core/v1:Namespace"
	tSlice       = "kubernetes:discovery.k8s.io/v1:EndpointSlice"
)

// workloadsStack has two services, one with a worker, three CronJobs (one overriding resources) and
// release Jobs in both phases, the other with a before-Job that must run first.
const workloadsStack = `config:
  shoestring:cluster: {mode: existing, existing: {kubeconfig: /tmp/kubeconfig}}
  shoestring:commonEnv: {APP_ENV: test, DB_HOST: mysql}
  shoestring:backing:
    - {name: mysql, engine: mysql, secretEnv: [MYSQL_ROOT_PASSWORD], env: {MYSQL_DATABASE: app}}
  shoestring:services:
    - name: api
      image: acme/api:1.0.0
      ports: [{name: http, port: 8080}]
      readiness: {path: /healthz}
      env: {APP_MODE: api}
      secretEnv: [DB_PASSWORD]
      waitFor: [mysql]
      resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
      workers: [{name: queue, command: [bin/worker]}]
      cronJobs:
        - {name: hourly, schedule: "@hourly", command: [bin/hourly]}
        - {name: quarter, schedule: "*/15 * * * *", command: [bin/quarter], timeZone: Europe/Berlin, startingDeadlineSeconds: 120, suspend: true}
        - {name: big, schedule: "0 3 * * *", command: [bin/big], resources: {requests: {cpu: 500m, memory: 512Mi}}}
      releaseJobs:
        - {name: migrate, command: [bin/migrate], when: before, order: 2}
        - {name: warm, command: [bin/warm], when: after}
    - name: web
      image: acme/web:2.0.0
      ports: [{name: http, port: 3000}]
      env: {APP_MODE: web}
      releaseJobs:
        - {name: schema, command: [bin/schema], when: before, order: 1}
        - {name: seed, command: [bin/seed], when: never}
  shoestring:secrets:
    api: {DB_PASSWORD: pw-api-1234567}
    mysql: {MYSQL_ROOT_PASSWORD: pw-root-7654321}
    checksum: {HMAC_KEY: 3f9a1c2e7b6d4a5f8e0c1b2a3d4e5f60}
`

var testSecretValues = []string{"pw-api-1234567", "pw-root-7654321", "3f9a1c2e7b6d4a5f8e0c1b2a3d4e5f60"}

func workloadsConfig(t *testing.T, yaml string) *stacks.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	raw, _, err := stacks.ReadStackFile(path)
	require.NoError(t, err)
	// The test sets secrets in plain text; the engine would hand them over as secret keys.
	cfg, err := stacks.Parse(raw, []string{"shoestring:secrets"})
	require.NoError(t, err)
	return cfg
}

func renderWorkloads(t *testing.T, mutate func(*stacks.Config)) *pulumimock.Record {
	t.Helper()
	return renderStack(t, workloadsStack, mutate)
}

// renderStack evaluates the program with mocks on a stack file's text, changed by mutate.
func renderStack(t *testing.T, stackFile string, mutate func(*stacks.Config)) *pulumimock.Record {
	t.Helper()
	cfg := workloadsConfig(t, stackFile)
	if mutate != nil {
		mutate(cfg)
	}
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	return rec
}

func resOf(t *testing.T, rec *pulumimock.Record, typ, name string) pulumimock.Resource {
	t.Helper()
	r, err := rec.One(typ, name)
	require.NoError(t, err)
	return r
}

// at walks plain values by map keys and list indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// podTemplate finds the pod template of a Deployment, StatefulSet, Job or CronJob.
func podTemplate(r pulumimock.Resource) map[string]any {
	p := r.Plain()
	var tmpl any
	if strings.HasSuffix(r.Type, ":CronJob") {
		tmpl = at(p, "spec", "jobTemplate", "spec", "template")
	} else {
		tmpl = at(p, "spec", "template")
	}
	m, _ := tmpl.(map[string]any)
	return m
}

func appContainer(r pulumimock.Resource) map[string]any {
	c, _ := at(podTemplate(r), "spec", "containers", 0).(map[string]any)
	return c
}

func envFromNames(c map[string]any) []string {
	var out []string
	for _, e := range c["envFrom"].([]any) {
		m := e.(map[string]any)
		if ref, ok := m["configMapRef"]; ok {
			out = append(out, "ConfigMap/"+at(ref, "name").(string))
		}
		if ref, ok := m["secretRef"]; ok {
			out = append(out, "Secret/"+at(ref, "name").(string))
		}
	}
	return out
}

func checksumOf(r pulumimock.Resource) string {
	s, _ := at(podTemplate(r), "metadata", "annotations", "shoestring.dev/config-checksum").(string)
	return s
}

// dependsOn says whether r depends on the resource of type typ and name.
func dependsOn(r pulumimock.Resource, rec *pulumimock.Record, typ, name string) bool {
	target, err := rec.One(typ, name)
	if err != nil {
		return false
	}
	for _, d := range r.DependsOn {
		if d == target.URN {
			return true
		}
	}
	return false
}

// podWorkloads is every object with a pod template, by "type/name".
func podWorkloads(rec *pulumimock.Record) map[string]pulumimock.Resource {
	out := map[string]pulumimock.Resource{}
	for _, typ := range []string{tDeployment, tStatefulSet, tCronJob, tCronJobBeta, tJob} {
		for _, r := range rec.ByType(typ) {
			out[typ+"/"+r.Name] = r
		}
	}
	return out
}

func TestEnvFromWiring(t *testing.T) {
	rec := renderWorkloads(t, nil)
	api := []string{"ConfigMap/common-config", "ConfigMap/api-config", "Secret/api-secrets"}
	for _, r := range []pulumimock.Resource{
		resOf(t, rec, tDeployment, "api"), resOf(t, rec, tDeployment, "api-queue"),
		resOf(t, rec, tCronJob, "api-hourly"), resOf(t, rec, tCronJob, "api-quarter"), resOf(t, rec, tCronJob, "api-big"),
		resOf(t, rec, tJob, "api-migrate"), resOf(t, rec, tJob, "api-warm"),
	} {
		assert.Equal(t, api, envFromNames(appContainer(r)), "%s %s", r.Type, r.Name)
	}
	web := []string{"ConfigMap/common-config", "ConfigMap/web-config"}
	assert.Equal(t, web, envFromNames(appContainer(resOf(t, rec, tDeployment, "web"))), "no secretEnv: no Secret")
	assert.Equal(t, web, envFromNames(appContainer(resOf(t, rec, tJob, "web-schema"))))
	assert.Equal(t, []string{"ConfigMap/mysql-config", "Secret/mysql-secrets"}, envFromNames(appContainer(resOf(t, rec, tStatefulSet, "mysql"))),
		"a backing service reads only its own configuration")

	assert.Equal(t, map[string]any{"APP_ENV": "test", "DB_HOST": "mysql"}, resOf(t, rec, tConfigMap, "common-config").Plain()["data"])
	assert.Equal(t, map[string]any{"APP_MODE": "api"}, resOf(t, rec, tConfigMap, "api-config").Plain()["data"])
	_, err := rec.One(tSecret, "web-secrets")
	assert.Error(t, err, "no Secret for a service without secretEnv")
	for _, r := range rec.Resources {
		if !isWorkload(r) {
			continue
		}
		if r.Type != tNamespace {
			assert.Equal(t, "apps", at(r.Plain(), "metadata", "namespace"), "%s %s is in the namespace explicitly", r.Type, r.Name)
		}
		{
			assert.NotEmpty(t, at(r.Plain(), "metadata", "name"), "%s %s is named explicitly", r.Type, r.Name)
		}
	}
}

// isWorkload says whether r is a Kubernetes object of the workloads components.
func isWorkload(r pulumimock.Resource) bool {
	for _, c := range []string{"shoestring:environment:", "shoestring:service:", "shoestring:release:", "shoestring:backing:"} {
		if strings.Contains(r.Parent, c) {
			return r.Custom
		}
	}
	return false
}

// plainStrings lists every string in a property value except inside secrets.
func plainStrings(v resource.PropertyValue, out *[]string) {
	switch {
	case v.IsSecret():
		return
	case v.IsOutput():
		if v.OutputValue().Secret {
			return
		}
		plainStrings(v.OutputValue().Element, out)
	case v.IsString():
		*out = append(*out, v.StringValue())
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			plainStrings(e, out)
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			plainStrings(e, out)
		}
	}
}

func TestSecretValuesStaySecret(t *testing.T) {
	rec := renderWorkloads(t, nil)
	s := resOf(t, rec, tSecret, "api-secrets")
	assert.True(t, pulumimock.IsSecret(s.Inputs, "stringData"), "the Secret's data is a Pulumi secret")
	assert.True(t, pulumimock.IsSecret(s.Inputs, "stringData.DB_PASSWORD"))
	assert.Equal(t, "pw-api-1234567", at(s.Plain(), "stringData", "DB_PASSWORD"))
	assert.True(t, pulumimock.IsSecret(resOf(t, rec, tSecret, "mysql-secrets").Inputs, "stringData.MYSQL_ROOT_PASSWORD"))

	// No secret value appears anywhere in plain text: not in another object, an annotation, a Job name.
	for _, r := range rec.Resources {
		var strs []string
		plainStrings(resource.NewObjectProperty(r.Inputs), &strs)
		for _, s := range strs {
			for _, secret := range testSecretValues {
				assert.NotContains(t, s, secret, "%s %s holds a secret value in plain text", r.Type, r.Name)
			}
		}
	}
}

func TestCronJobsInheritTheService(t *testing.T) {
	rec := renderWorkloads(t, nil)
	d := resOf(t, rec, tDeployment, "api")
	app := appContainer(d)
	for _, name := range []string{"api-hourly", "api-quarter", "api-big"} {
		cj := resOf(t, rec, tCronJob, name)
		c := appContainer(cj)
		assert.Equal(t, app["image"], c["image"], name)
		assert.Equal(t, app["envFrom"], c["envFrom"], name)
		assert.Equal(t, app["securityContext"], c["securityContext"], name)
		assert.Equal(t, checksumOf(d), checksumOf(cj), "%s reads the same configuration", name)
		assert.Equal(t, at(podTemplate(d), "spec", "initContainers"), at(podTemplate(cj), "spec", "initContainers"), name)
		assert.Nil(t, c["ports"], "CronJobs serve nothing")
		assert.Nil(t, c["readinessProbe"])
		assert.Equal(t, "Never", at(podTemplate(cj), "spec", "restartPolicy"))
		if name == "api-big" {
			assert.Equal(t, map[string]any{"cpu": "500m", "memory": "512Mi"}, at(c, "resources", "requests"), "its own resources")
		} else {
			assert.Equal(t, app["resources"], c["resources"], name)
		}
	}
	q := resOf(t, rec, tCronJob, "api-quarter").Plain()
	assert.Equal(t, "*/15 * * * *", at(q, "spec", "schedule"))
	assert.Equal(t, "Europe/Berlin", at(q, "spec", "timeZone"))
	assert.Equal(t, "Forbid", at(q, "spec", "concurrencyPolicy"))
	assert.Equal(t, 120.0, at(q, "spec", "startingDeadlineSeconds"))
	assert.Equal(t, true, at(q, "spec", "suspend"))
	assert.Equal(t, 3.0, at(q, "spec", "successfulJobsHistoryLimit"))
	assert.Equal(t, 1.0, at(q, "spec", "failedJobsHistoryLimit"))
	assert.Equal(t, []any{"bin/quarter"}, appContainer(resOf(t, rec, tCronJob, "api-quarter"))["command"])

	// The worker is the same container with its own command.
	w := appContainer(resOf(t, rec, tDeployment, "api-queue"))
	assert.Equal(t, app["image"], w["image"])
	assert.Equal(t, app["resources"], w["resources"])
	assert.Equal(t, []any{"bin/worker"}, w["command"])
	assert.Nil(t, w["ports"])

	// The batch API version is configuration.
	old := renderWorkloads(t, func(c *stacks.Config) {
		c.BatchAPIVersion = "batch/v1beta1"
		for i := range c.Services[0].CronJobs {
			c.Services[0].CronJobs[i].TimeZone = "" // validation refuses timeZone with v1beta1
		}
	})
	assert.Empty(t, old.ByType(tCronJob))
	require.Len(t, old.ByType(tCronJobBeta), 3)
	assert.Equal(t, app["envFrom"], appContainer(resOf(t, old, tCronJobBeta, "api-hourly"))["envFrom"])
}

func TestReleaseJobOrdering(t *testing.T) {
	rec := renderWorkloads(t, nil)
	schema, migrate := resOf(t, rec, tJob, "web-schema"), resOf(t, rec, tJob, "api-migrate")
	// Explicit order across services: web-schema (order 1) before api-migrate (order 2).
	assert.True(t, dependsOn(migrate, rec, tJob, "web-schema"), "api-migrate waits for web-schema")
	assert.False(t, dependsOn(schema, rec, tJob, "api-migrate"))
	// The first before-Job waits for configuration and backing services.
	for _, dep := range []struct{ typ, name string }{{tNamespace, "apps"}, {tConfigMap, "web-config"}, {tConfigMap, "common-config"}, {tStatefulSet, "mysql"}} {
		assert.True(t, dependsOn(schema, rec, dep.typ, dep.name), "web-schema waits for %s %s", dep.typ, dep.name)
	}
	// Every Deployment and CronJob waits for every before-Job.
	for _, r := range append(rec.ByType(tDeployment), rec.ByType(tCronJob)...) {
		assert.True(t, dependsOn(r, rec, tJob, "web-schema"), "%s waits for web-schema", r.Name)
		assert.True(t, dependsOn(r, rec, tJob, "api-migrate"), "%s waits for api-migrate", r.Name)
	}
	// After-Jobs wait for every Deployment.
	warm := resOf(t, rec, tJob, "api-warm")
	for _, d := range rec.ByType(tDeployment) {
		assert.True(t, dependsOn(warm, rec, tDeployment, d.Name), "api-warm waits for %s", d.Name)
	}
	_, err := rec.One(tJob, "web-seed")
	assert.Error(t, err, "when: never creates no Job")

	// A release Job: no retries unless asked, a deadline, never restarted, waits for the database.
	m := migrate.Plain()
	assert.Equal(t, 0.0, at(m, "spec", "backoffLimit"))
	assert.Equal(t, 600.0, at(m, "spec", "activeDeadlineSeconds"))
	assert.Equal(t, "Never", at(podTemplate(migrate), "spec", "restartPolicy"))
	init := at(podTemplate(migrate), "spec", "initContainers", 0)
	assert.Equal(t, "wait-for-mysql", at(init, "name"))
	assert.Equal(t, []any{map[string]any{"name": "WAIT_HOST", "value": "mysql"}, map[string]any{"name": "WAIT_PORT", "value": "3306"}}, at(init, "env"))
	assert.Equal(t, "wait-for-mysql", at(podTemplate(resOf(t, rec, tDeployment, "api")), "spec", "initContainers", 0, "name"))
	assert.Nil(t, at(podTemplate(resOf(t, rec, tDeployment, "web")), "spec", "initContainers"), "web waits for nothing")
}

func jobNames(rec *pulumimock.Record) map[string]string {
	out := map[string]string{}
	for _, j := range rec.ByType(tJob) {
		out[j.Name] = at(j.Plain(), "metadata", "name").(string)
	}
	return out
}

func TestFreshJobPerRelease(t *testing.T) {
	base := renderWorkloads(t, nil)
	names := jobNames(base)
	assert.Regexp(t, `^api-migrate-[0-9a-f]{10}$`, names["api-migrate"])
	assert.Equal(t, names, jobNames(renderWorkloads(t, nil)), "the same release renders the same Jobs")

	// A release (new image, command or configuration) makes a new Job of the services it touches.
	for _, change := range []struct {
		name    string
		mutate  func(*stacks.Config)
		changed []string
	}{
		{"api image", func(c *stacks.Config) { c.Services[0].Image = "acme/api:1.0.1" }, []string{"api-migrate", "api-warm"}},
		{"migrate command", func(c *stacks.Config) { c.Services[0].ReleaseJobs[0].Command = []string{"bin/migrate", "--force"} }, []string{"api-migrate"}},
		{"api env", func(c *stacks.Config) { c.Services[0].Env["APP_MODE"] = "api2" }, []string{"api-migrate", "api-warm"}},
		{"api secret", func(c *stacks.Config) { c.Secrets["api"]["DB_PASSWORD"] = stacks.NewSecret("rotated") }, []string{"api-migrate", "api-warm"}},
		{"common env", func(c *stacks.Config) { c.CommonEnv["APP_ENV"] = "other" }, []string{"api-migrate", "api-warm", "web-schema"}},
		{"web image", func(c *stacks.Config) { c.Services[1].Image = "acme/web:2.1.0" }, []string{"web-schema"}},
	} {
		got := jobNames(renderWorkloads(t, change.mutate))
		for logical, name := range names {
			if slices.Contains(change.changed, logical) {
				assert.NotEqual(t, name, got[logical], "%s: %s gets a new Job", change.name, logical)
			} else {
				assert.Equal(t, name, got[logical], "%s: %s is unchanged", change.name, logical)
			}
		}
	}

	// Without a release nothing about a Job changes: scaling, a CronJob, another service's route.
	same := renderWorkloads(t, func(c *stacks.Config) {
		c.Services[0].Replicas = intp(5)
		c.Services[0].CronJobs[0].Schedule = "@daily"
		c.Services[1].Routes = append(c.Services[1].Routes, stacks.Route{Host: "web.example.com"})
	})
	for _, j := range base.ByType(tJob) {
		assert.Equal(t, j.Plain(), resOf(t, same, tJob, j.Name).Plain(), "Job %s unchanged", j.Name)
	}
}

func TestConfigChangeRollsOnlyItsUsers(t *testing.T) {
	base := podWorkloads(renderWorkloads(t, nil))
	users := func(objs map[string]pulumimock.Resource, keys ...string) []string { return keys }
	for _, change := range []struct {
		name   string
		mutate func(*stacks.Config)
		rolls  []string
	}{
		{"api's ConfigMap", func(c *stacks.Config) { c.Services[0].Env["FEATURE"] = "on" },
			users(base, tDeployment+"/api", tDeployment+"/api-queue", tCronJob+"/api-hourly", tCronJob+"/api-quarter", tCronJob+"/api-big", tJob+"/api-migrate", tJob+"/api-warm")},
		{"api's Secret", func(c *stacks.Config) { c.Secrets["api"]["DB_PASSWORD"] = stacks.NewSecret("rotated") },
			users(base, tDeployment+"/api", tDeployment+"/api-queue", tCronJob+"/api-hourly", tCronJob+"/api-quarter", tCronJob+"/api-big", tJob+"/api-migrate", tJob+"/api-warm")},
		{"web's ConfigMap", func(c *stacks.Config) { c.Services[1].Env["APP_MODE"] = "web2" },
			users(base, tDeployment+"/web", tJob+"/web-schema")},
		{"mysql's Secret", func(c *stacks.Config) { c.Secrets["mysql"]["MYSQL_ROOT_PASSWORD"] = stacks.NewSecret("rotated") },
			users(base, tStatefulSet+"/mysql")},
	} {
		after := podWorkloads(renderWorkloads(t, change.mutate))
		var rolled []string
		for key, r := range base {
			if checksumOf(r) != checksumOf(after[key]) {
				rolled = append(rolled, key)
			}
			if !slices.Contains(change.rolls, key) {
				assert.Equal(t, podTemplate(r), podTemplate(after[key]), "%s: %s's pod template is unchanged", change.name, key)
			}
		}
		sort.Strings(rolled)
		want := append([]string{}, change.rolls...)
		sort.Strings(want)
		assert.Equal(t, want, rolled, "%s changes the pod templates of exactly its users", change.name)
	}
}

func TestRestrictedPodSecurity(t *testing.T) {
	rec := renderWorkloads(t, nil)
	labels := resOf(t, rec, tNamespace, "apps").Plain()["metadata"].(map[string]any)["labels"].(map[string]any)
	assert.Equal(t, "restricted", labels["pod-security.kubernetes.io/enforce"])
	assert.Equal(t, "latest", labels["pod-security.kubernetes.io/enforce-version"])
	for key, r := range podWorkloads(rec) {
		spec := at(podTemplate(r), "spec")
		assert.Equal(t, true, at(spec, "securityContext", "runAsNonRoot"), key)
		assert.Equal(t, "RuntimeDefault", at(spec, "securityContext", "seccompProfile", "type"), key)
		assert.Equal(t, false, at(spec, "automountServiceAccountToken"), key)
		var containers []any
		for _, f := range []string{"initContainers", "containers"} {
			if l, ok := at(spec, f).([]any); ok {
				containers = append(containers, l...)
			}
		}
		require.NotEmpty(t, containers, key)
		for _, c := range containers {
			assert.Equal(t, false, at(c, "securityContext", "allowPrivilegeEscalation"), "%s %s", key, at(c, "name"))
			assert.Equal(t, []any{"ALL"}, at(c, "securityContext", "capabilities", "drop"), "%s %s", key, at(c, "name"))
		}
	}
	// Config may relax it, for a namespace that allows it.
	relaxed := renderWorkloads(t, func(c *stacks.Config) {
		c.PodSecurity.Enforce = stacks.PodSecurityBaseline
		c.Services[1].Security.Restricted = new(bool)
	})
	assert.Nil(t, at(podTemplate(resOf(t, relaxed, tDeployment, "web")), "spec", "securityContext"))
	assert.Equal(t, "baseline", at(resOf(t, relaxed, tNamespace, "apps").Plain(), "metadata", "labels", "pod-security.kubernetes.io/enforce"))
}

func TestBackingModes(t *testing.T) {
	rec := renderWorkloads(t, nil)
	ss := resOf(t, rec, tStatefulSet, "mysql").Plain()
	assert.Equal(t, "mysql:8.4.4", at(ss, "spec", "template", "spec", "containers", 0, "image"))
	assert.Equal(t, "1Gi", at(ss, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"))
	assert.Equal(t, "/var/lib/mysql", at(ss, "spec", "template", "spec", "containers", 0, "volumeMounts", 0, "mountPath"))
	assert.Equal(t, 999.0, at(ss, "spec", "template", "spec", "securityContext", "fsGroup"))
	svc := resOf(t, rec, tService, "mysql").Plain()
	assert.Equal(t, "ClusterIP", at(svc, "spec", "type"))
	assert.Equal(t, 3306.0, at(svc, "spec", "ports", 0, "port"))

	ip := renderWorkloads(t, func(c *stacks.Config) {
		c.Backing[0] = stacks.Backing{Name: "mysql", Engine: "mysql", Mode: stacks.BackingExternal, Host: "10.20.0.3", Port: 3306}
	})
	assert.Empty(t, ip.ByType(tStatefulSet), "external: nothing runs in the cluster")
	assert.Nil(t, at(resOf(t, ip, tService, "mysql").Plain(), "spec", "selector"))
	assert.Equal(t, []any{"10.20.0.3"}, at(resOf(t, ip, tSlice, "mysql-external").Plain(), "endpoints", 0, "addresses"))
	assert.Equal(t, "mysql", at(resOf(t, ip, tSlice, "mysql-external").Plain(), "metadata", "labels", "kubernetes.io/service-name"))
	// Dependents still wait for mysql:3306, the same name in every environment.
	assert.Equal(t, "wait-for-mysql", at(podTemplate(resOf(t, ip, tJob, "api-migrate")), "spec", "initContainers", 0, "name"))

	host := renderWorkloads(t, func(c *stacks.Config) {
		c.Backing[0] = stacks.Backing{Name: "mysql", Engine: "mysql", Mode: stacks.BackingExternal, Host: "db.example.com", Port: 3306}
	})
	assert.Equal(t, "ExternalName", at(resOf(t, host, tService, "mysql").Plain(), "spec", "type"))
	assert.Equal(t, "db.example.com", at(resOf(t, host, tService, "mysql").Plain(), "spec", "externalName"))
	assert.Empty(t, host.ByType(tSlice))
}

// TestShippedSandboxAndProdWorkloads: both environments render the same workloads from the same
// code. Objects exist in one and not the other only where their YAML says so (a backing service's
// mode, a release Job's `when`), and every field that differs changes with one config key (the
// program-wide key-swap test in environments_test.go); here the object sets are checked against
// what the YAML predicts.
func TestShippedSandboxAndProdWorkloads(t *testing.T) {
	load := func(stack string) (*stacks.Config, map[string]bool) {
		cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
		require.NoError(t, err)
		rec, err := pulumimock.Run(stack, func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
		require.NoError(t, err)
		set := map[string]bool{}
		for _, r := range rec.Resources {
			if strings.HasPrefix(r.Type, "kubernetes:") && r.Custom && at(r.Plain(), "metadata", "namespace") == cfg.Namespace {
				set[r.Type+"/"+r.Name] = true
			}
		}
		return cfg, set
	}
	sandbox, sObjs := load("sandbox")
	prod, pObjs := load("prod")

	// What each config predicts exists only because of its own YAML values.
	predicted := func(c *stacks.Config) map[string]string {
		out := map[string]string{}
		for i, b := range c.Backing {
			key := "backing[" + b.Name + "].mode=" + b.Mode
			_ = i
			if b.Mode == stacks.BackingInCluster {
				out[tStatefulSet+"/"+b.Name] = key
				// its ingress policy: api waits for every backing service of the shipped stacks
				out["kubernetes:networking.k8s.io/v1:NetworkPolicy/network-policies-"+b.Name+"-ingress"] = key
				if len(b.Env) > 0 {
					out[tConfigMap+"/"+b.Name+"-config"] = key
				}
				if len(b.SecretEnv) > 0 {
					out[tSecret+"/"+b.Name+"-secrets"] = key
				}
			} else if b.Host != "" && strings.Count(b.Host, ".") == 3 {
				out[tSlice+"/"+b.Name+"-external"] = key + ",host=" + b.Host
			}
		}
		for _, s := range c.Services {
			for _, j := range s.ReleaseJobs {
				if j.When != stacks.ReleaseNever {
					out[tJob+"/"+s.Name+"-"+j.Name] = "services[" + s.Name + "].releaseJobs[" + j.Name + "].when=" + j.When
				}
			}
		}
		return out
	}
	sPred, pPred := predicted(sandbox), predicted(prod)
	for obj := range sObjs {
		if !pObjs[obj] {
			reason, ok := sPred[obj]
			require.True(t, ok, "%s only in sandbox, and no config value says why", obj)
			_, inProd := pPred[obj]
			assert.False(t, inProd, "%s: prod's config predicts it too", obj)
			t.Logf("only in sandbox: %s <- %s", obj, reason)
		}
	}
	for obj := range pObjs {
		if !sObjs[obj] {
			reason, ok := pPred[obj]
			require.True(t, ok, "%s only in prod, and no config value says why", obj)
			t.Logf("only in prod: %s <- %s", obj, reason)
		}
	}
	// And the shipped configs do differ where the brief says: sandbox in-cluster, prod external.
	assert.True(t, sObjs[tStatefulSet+"/mysql"])
	assert.False(t, pObjs[tStatefulSet+"/mysql"])
	assert.True(t, sObjs[tDeployment+"/api"] && pObjs[tDeployment+"/api"])
}

func intp(v int) *int { return &v }

// A before-Job that waits for another service (here inherited from api's waitFor) gets that
// service rolled out first, and that service's own before-Job still runs before its rollout,
// although its order would put it last.
func TestAServicesOwnBeforeJobRunsBeforeItsRolloutWhenAnotherJobWaitsForIt(t *testing.T) {
	stack := strings.Replace(workloadsStack, "      waitFor: [mysql]\n", "      waitFor: [mysql, web]\n", 1)
	stack = strings.Replace(stack, "{name: schema, command: [bin/schema], when: before, order: 1}", "{name: schema, command: [bin/schema], when: before, order: 3}", 1)
	require.NotEqual(t, workloadsStack, stack)
	rec := renderStack(t, stack, nil)
	web, migrate := resOf(t, rec, tDeployment, "web"), resOf(t, rec, tJob, "api-migrate")
	assert.True(t, dependsOn(web, rec, tJob, "web-schema"), "web rolls out after its own schema Job")
	assert.False(t, dependsOn(web, rec, tJob, "api-migrate"), "web does not wait for api's migration")
	assert.True(t, dependsOn(migrate, rec, tDeployment, "web"), "api-migrate waits for web")
	assert.True(t, dependsOn(resOf(t, rec, tDeployment, "api"), rec, tJob, "api-migrate"))
}
