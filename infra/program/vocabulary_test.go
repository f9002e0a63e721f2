package program

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// vocabularyStack uses every opt-in workloads key at once.
const vocabularyStack = `config:
  shoestring:cluster: {mode: existing, existing: {kubeconfig: /tmp/kubeconfig}}
  shoestring:commonEnv: {APP_ENV: test}
  shoestring:commonSecretEnv: [SHARED_TOKEN]
  shoestring:storageClass: standard-rwo
  shoestring:imagePullSecrets: [regcred]
  shoestring:registry: {server: ghcr.io, username: ci-bot}
  shoestring:backing:
    - {name: mysql, engine: mysql, env: {MYSQL_USER: app}, secretEnv: [MYSQL_ROOT_PASSWORD], databases: [app, app_test]}
    - {name: pg, engine: postgresql, databases: [reports], storageClass: fast}
    - name: beanstalkd
      engine: generic
      image: ghcr.io/acme/beanstalkd:1.13
      ports: [{name: beanstalk, port: 11300}]
      command: [beanstalkd, -b, /data]
      volume: {size: 2Gi, mountPath: /data}
    - {name: memcached, engine: generic, image: "memcached:1.6.38", ports: [{name: memcache, port: 11211}]}
  shoestring:services:
    - name: queue
      image: acme/queue:1.0.0
      ports: [{name: http, port: 8080}]
    - name: api
      image: acme/api:1.0.0
      ports: [{name: http, port: 8080}]
      replicas: 3
      resources: {requests: {cpu: 100m, memory: 128Mi}}
      writablePaths: [/tmp, /var/cache/app]
      security: {readOnlyRootFilesystem: true}
      waitFor: [mysql, "http://queue:8080/healthz", "cmd: test -n \"$APP_ENV\""]
      disruptionBudget: {minAvailable: 1}
      spread: {whenUnsatisfiable: DoNotSchedule}
      autoscaling: {minReplicas: 2, maxReplicas: 6, targetCPUUtilization: 60}
      workers: [{name: consume, command: [bin/consume]}]
      cronJobs:
        - {name: report, schedule: "@hourly", command: [bin/report], env: {REPORT_KIND: hourly, APP_ENV: cron}}
        - {name: other, schedule: "@daily", command: [bin/other]}
      releaseJobs:
        - {name: migrate, command: [bin/migrate], when: before, waitFor: [mysql, queue], env: {MIGRATE_MODE: safe}}
  shoestring:secrets:
    common: {SHARED_TOKEN: t0k3n-shared}
    registry: {password: r3g-pass}
    mysql: {MYSQL_ROOT_PASSWORD: r00t-pass}
    checksum: {HMAC_KEY: 8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f}
`

func renderVocabulary(t *testing.T, mutate func(*stacks.Config)) *pulumimock.Record {
	t.Helper()
	return renderStack(t, vocabularyStack, mutate)
}

func names(list any, field string) []string {
	var out []string
	l, _ := list.([]any)
	for _, e := range l {
		if s, ok := at(e, field).(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestGenericBackingAndDatabases(t *testing.T) {
	rec := renderVocabulary(t, nil)
	bs := resOf(t, rec, tStatefulSet, "beanstalkd").Plain()
	c := at(bs, "spec", "template", "spec", "containers", 0)
	assert.Equal(t, []any{"beanstalkd", "-b", "/data"}, at(c, "command"))
	assert.Equal(t, "beanstalk", at(c, "ports", 0, "name"))
	assert.Equal(t, "/data", at(c, "volumeMounts", 0, "mountPath"))
	assert.Equal(t, "2Gi", at(bs, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"))
	assert.Equal(t, "standard-rwo", at(bs, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName"), "the stack's storage class")
	assert.Equal(t, []string{"regcred", "registry-credentials"}, names(at(bs, "spec", "template", "spec", "imagePullSecrets"), "name"))
	svc := resOf(t, rec, tService, "beanstalkd").Plain()
	assert.Equal(t, float64(11300), at(svc, "spec", "ports", 0, "port"))
	assert.Equal(t, "beanstalk", at(svc, "spec", "ports", 0, "targetPort"))

	mc := resOf(t, rec, tStatefulSet, "memcached").Plain()
	assert.Nil(t, at(mc, "spec", "volumeClaimTemplates"), "no volume unless asked")
	assert.Nil(t, at(mc, "spec", "template", "spec", "containers", 0, "volumeMounts"))

	pg := resOf(t, rec, tStatefulSet, "pg").Plain()
	assert.Equal(t, "fast", at(pg, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName"), "an entry's own storage class wins")

	for _, db := range []struct{ name, want string }{
		{"mysql", "CREATE DATABASE IF NOT EXISTS `app_test`;"},
		{"pg", `SELECT 'CREATE DATABASE "reports" OWNER "$POSTGRES_USER"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'reports')\gexec`},
	} {
		cm := resOf(t, rec, tConfigMap, db.name+"-initdb").Plain()
		script, _ := at(cm, "data", "shoestring-databases.sh").(string)
		assert.Contains(t, script, db.want)
		ss := resOf(t, rec, tStatefulSet, db.name)
		assert.Contains(t, names(at(ss.Plain(), "spec", "template", "spec", "containers", 0, "volumeMounts"), "mountPath"), "/docker-entrypoint-initdb.d")
		assert.True(t, dependsOn(ss, rec, tConfigMap, db.name+"-initdb"), "the StatefulSet waits for its init script")
	}
	mysqlScript := at(resOf(t, rec, tConfigMap, "mysql-initdb").Plain(), "data", "shoestring-databases.sh").(string)
	assert.Contains(t, mysqlScript, "GRANT ALL PRIVILEGES ON \\`app\\`.* TO '$MYSQL_USER'@'%';")
}

func TestCommonSecretAndPullSecrets(t *testing.T) {
	rec := renderVocabulary(t, nil)
	common := resOf(t, rec, tSecret, "common-secrets")
	assert.True(t, pulumimock.IsSecret(common.Inputs, "stringData.SHARED_TOKEN"))
	reg := resOf(t, rec, tSecret, "registry-credentials")
	assert.Equal(t, "kubernetes.io/dockerconfigjson", reg.Plain()["type"])
	assert.True(t, pulumimock.IsSecret(reg.Inputs, "stringData..dockerconfigjson") || pulumimock.IsSecret(reg.Inputs, "stringData"))
	var plain []string
	plainStrings(resource.NewObjectProperty(reg.Inputs), &plain)
	for _, s := range plain {
		assert.NotContains(t, s, "r3g-pass", "the registry password in plain text")
	}
	for key, r := range podWorkloads(rec) {
		spec := at(podTemplate(r), "spec")
		assert.Equal(t, []string{"regcred", "registry-credentials"}, names(at(spec, "imagePullSecrets"), "name"), "%s pulls with the pull secrets", key)
		if strings.Contains(key, "StatefulSet") {
			continue // backing services read no common configuration
		}
		refs := envFromNames(appContainer(r))
		require.GreaterOrEqual(t, len(refs), 2, key)
		assert.Equal(t, []string{"ConfigMap/common-config", "Secret/common-secrets"}, refs[:2], "%s reads the common Secret right after common-config", key)
	}
	// A common secret value changes every service pod's checksum.
	before := checksumOf(resOf(t, rec, tDeployment, "queue"))
	changed := renderVocabulary(t, func(c *stacks.Config) { c.Secrets["common"]["SHARED_TOKEN"] = stacks.NewSecret("other") })
	assert.NotEqual(t, before, checksumOf(resOf(t, changed, tDeployment, "queue")))
}

func TestJobEnvWritablePathsAndWaitFor(t *testing.T) {
	rec := renderVocabulary(t, nil)
	report := appContainer(resOf(t, rec, tCronJob, "api-report"))
	assert.Equal(t, []any{map[string]any{"name": "APP_ENV", "value": "cron"}, map[string]any{"name": "REPORT_KIND", "value": "hourly"}}, report["env"])
	assert.Nil(t, appContainer(resOf(t, rec, tCronJob, "api-other"))["env"], "another CronJob has no env of its own")
	jobs := rec.ByType(tJob)
	require.Len(t, jobs, 1)
	job := appContainer(jobs[0])
	assert.Equal(t, []any{map[string]any{"name": "MIGRATE_MODE", "value": "safe"}}, job["env"])

	// Writable folders in every pod of the service.
	for _, r := range []string{tDeployment + "/api", tDeployment + "/api-consume", tCronJob + "/api-report", tJob + "/" + jobs[0].Name} {
		w := podWorkloads(rec)[r]
		assert.Equal(t, []string{"/tmp", "/var/cache/app"}, names(appContainer(w)["volumeMounts"], "mountPath"), r)
		vols := at(podTemplate(w), "spec", "volumes").([]any)
		assert.Equal(t, map[string]any{}, at(vols[0], "emptyDir"), r)
	}
	// Wait-for by URL and by command: values in env, never in the script.
	inits := at(podTemplate(resOf(t, rec, tDeployment, "api")), "spec", "initContainers").([]any)
	assert.Equal(t, []string{"wait-for-mysql", "wait-for-http-queue", "wait-for-cmd-2"}, names(inits, "name"))
	assert.Equal(t, []any{map[string]any{"name": "WAIT_URL", "value": "http://queue:8080/healthz"}}, at(inits[1], "env"))
	assert.Contains(t, at(inits[1], "command", 2), `wget -q -T 5 --spider "$WAIT_URL"`)
	assert.Equal(t, []any{map[string]any{"name": "WAIT_COMMAND", "value": `test -n "$APP_ENV"`}}, at(inits[2], "env"))

	// A Job's own env is part of its release id; a CronJob's changes only that CronJob.
	other := renderVocabulary(t, func(c *stacks.Config) {
		c.Services[1].ReleaseJobs[0].Env["MIGRATE_MODE"] = "fast"
		c.Services[1].CronJobs[0].Env["REPORT_KIND"] = "daily"
	})
	assert.NotEqual(t, jobNames(rec), jobNames(other), "a release Job's env change makes a new Job")
	assert.NotEqual(t, resOf(t, rec, tCronJob, "api-report").Plain(), resOf(t, other, tCronJob, "api-report").Plain())
	assert.Equal(t, resOf(t, rec, tCronJob, "api-other").Plain(), resOf(t, other, tCronJob, "api-other").Plain())
	assert.Equal(t, resOf(t, rec, tDeployment, "api").Plain(), resOf(t, other, tDeployment, "api").Plain())
}

func TestHardening(t *testing.T) {
	rec := renderVocabulary(t, nil)
	pdb := resOf(t, rec, "kubernetes:policy/v1:PodDisruptionBudget", "api").Plain()
	assert.Equal(t, float64(1), at(pdb, "spec", "minAvailable"))
	assert.Equal(t, map[string]any{"app.kubernetes.io/name": "api", "app.kubernetes.io/component": "server"}, at(pdb, "spec", "selector", "matchLabels"))
	hpa := resOf(t, rec, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "api").Plain()
	assert.Equal(t, float64(2), at(hpa, "spec", "minReplicas"))
	assert.Equal(t, float64(6), at(hpa, "spec", "maxReplicas"))
	assert.Equal(t, "api", at(hpa, "spec", "scaleTargetRef", "name"))
	assert.Equal(t, float64(60), at(hpa, "spec", "metrics", 0, "resource", "target", "averageUtilization"))
	d := resOf(t, rec, tDeployment, "api")
	assert.Equal(t, float64(2), at(d.Plain(), "spec", "replicas"), "with autoscaling the Deployment starts at minReplicas")
	tsc := at(podTemplate(d), "spec", "topologySpreadConstraints", 0)
	assert.Equal(t, "kubernetes.io/hostname", at(tsc, "topologyKey"))
	assert.Equal(t, "DoNotSchedule", at(tsc, "whenUnsatisfiable"))
	assert.Equal(t, float64(1), at(tsc, "maxSkew"))
	assert.Nil(t, at(podTemplate(resOf(t, rec, tDeployment, "api-consume")), "spec", "topologySpreadConstraints"), "workers are not spread")
	assert.Empty(t, rec.ByType("kubernetes:policy/v1:PodDisruptionBudget")[1:], "only the service that asks has a PDB")
}

func TestBeforeJobWaitsForServicesCreatedFirst(t *testing.T) {
	rec := renderVocabulary(t, nil)
	job := rec.ByType(tJob)[0]
	assert.True(t, dependsOn(job, rec, tDeployment, "queue"), "the before-Job depends on the service it waits for")
	assert.True(t, dependsOn(job, rec, tService, "queue"))
	for _, b := range []string{"mysql", "beanstalkd"} {
		assert.True(t, dependsOn(job, rec, tStatefulSet, b), "the before-Job depends on backing %s", b)
	}
	queue := resOf(t, rec, tDeployment, "queue")
	assert.False(t, dependsOn(queue, rec, tJob, job.Name), "the queue does not wait for the Job that waits for it")
	assert.True(t, dependsOn(resOf(t, rec, tDeployment, "api"), rec, tJob, job.Name), "other Deployments still roll out after the before-Jobs")
}

func TestSeveralPlaygroundGateways(t *testing.T) {
	cfg := workloadsConfig(t, vocabularyStack+`  shoestring:edge: {playgrounds: {domain: play.example.com, gatewayServices: [api, queue]}}
`)
	pg := EdgeArgs(cfg).Conf.Playgrounds
	require.NotNil(t, pg)
	assert.Equal(t, "api", pg.Service)
	assert.Equal(t, 8080, pg.Port)
	require.Len(t, pg.Extra, 1)
	assert.Equal(t, "queue", pg.Extra[0].Service)
	conf, err := edge.NginxConf(nil, EdgeArgs(cfg).Conf)
	require.NoError(t, err)
	assert.Contains(t, conf, `-queue\.play\.example\.com$"`)
	assert.Less(t, strings.Index(conf, "-queue\\.play"), strings.Index(conf, "# Playgrounds: <feature>.play.example.com"), "the extra gateway's server comes first")
}
