package stacks

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workloadsRaw is a valid stack's raw config with one service; tests change one value at a time.
func workloadsRaw(t *testing.T, mutate func(svc map[string]any, raw map[string]any)) (map[string]string, []string) {
	t.Helper()
	svc := map[string]any{
		"name":      "api",
		"image":     "ghcr.io/acme/api:1.4.2",
		"ports":     []any{map[string]any{"name": "http", "port": 8080}},
		"env":       map[string]any{"APP_MODE": "api"},
		"secretEnv": []any{"DB_PASSWORD"},
		"waitFor":   []any{"mysql"},
		"workers":   []any{map[string]any{"name": "queue", "command": []any{"bin/worker"}}},
		"cronJobs": []any{map[string]any{
			"name": "report", "schedule": "*/15 * * * *", "command": []any{"bin/report"},
		}},
		"releaseJobs": []any{map[string]any{"name": "migrate", "command": []any{"bin/migrate"}, "when": "before"}},
	}
	raw := map[string]any{
		"shoestring:cluster":   map[string]any{"mode": "existing", "existing": map[string]any{"kubeconfig": "/tmp/kc"}},
		"shoestring:commonEnv": map[string]any{"DB_HOST": "mysql"},
		"shoestring:backing":   []any{map[string]any{"name": "mysql", "engine": "mysql", "secretEnv": []any{"MYSQL_ROOT_PASSWORD"}}},
		"shoestring:services":  []any{svc},
		"shoestring:secrets": map[string]any{
			"api":               map[string]any{"DB_PASSWORD": "s3cret"},
			"mysql":             map[string]any{"MYSQL_ROOT_PASSWORD": "r00t"},
			ChecksumSecretGroup: map[string]any{ChecksumKeyName: "stack-key"},
		},
	}
	if mutate != nil {
		mutate(svc, raw)
	}
	out := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok { // the engine passes top-level scalars as they are
			out[k] = s
			continue
		}
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out[k] = string(b)
	}
	return out, []string{"shoestring:secrets"}
}

func TestWorkloadsValidConfigGetsDefaults(t *testing.T) {
	raw, secret := workloadsRaw(t, nil)
	cfg, err := Parse(raw, secret)
	require.NoError(t, err)
	assert.Equal(t, "apps", cfg.Namespace)
	assert.Equal(t, PodSecurityRestricted, cfg.PodSecurity.Enforce)
	assert.Equal(t, "batch/v1", cfg.BatchAPIVersion)
	s := cfg.Services[0]
	assert.Equal(t, 1, *s.Replicas)
	assert.Equal(t, "50m", s.Resources.Requests.CPU)
	assert.Equal(t, 1, *s.Workers[0].Replicas)
	cj := s.CronJobs[0]
	assert.Equal(t, ConcurrencyForbid, cj.ConcurrencyPolicy)
	assert.Equal(t, 3, *cj.SuccessfulJobsHistoryLimit)
	assert.Equal(t, 1, *cj.FailedJobsHistoryLimit)
	assert.Nil(t, cj.StartingDeadlineSeconds)
	rj := s.ReleaseJobs[0]
	assert.Equal(t, 0, *rj.BackoffLimit, "no retries unless asked")
	assert.Equal(t, 600, *rj.ActiveDeadlineSeconds)
	assert.Equal(t, []string{"mysql"}, rj.WaitFor, "release Jobs wait for what their service waits for")
	b := cfg.Backing[0]
	assert.Equal(t, BackingInCluster, b.Mode)
	assert.Equal(t, 3306, b.Port)
	assert.Equal(t, "mysql:8.4.4", b.Image)
	assert.Equal(t, "s3cret", cfg.Secrets["api"]["DB_PASSWORD"].Reveal())
	assert.Equal(t, map[string]int{"mysql": 3306, "api": 8080}, cfg.Endpoints())
}

func TestWorkloadsValidation(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(svc, raw map[string]any)
		key     string
		problem string
		fix     string
	}{
		{"missing secret names the command", func(svc, raw map[string]any) { svc["secretEnv"] = []any{"DB_PASSWORD", "API_TOKEN"} },
			"shoestring:secrets.api.API_TOKEN", "is referenced but not set", "pulumi config set --secret --path 'secrets.api.API_TOKEN' <value>"},
		{"image without tag", func(svc, raw map[string]any) { svc["image"] = "ghcr.io/acme/api" },
			"shoestring:services[0].image", "has no tag or digest", "pin a tag or digest"},
		{"image latest", func(svc, raw map[string]any) { svc["image"] = "acme/api:latest" },
			"shoestring:services[0].image", "moving tag latest", ""},
		{"bad cron field count", func(svc, raw map[string]any) { svc["cronJobs"].([]any)[0].(map[string]any)["schedule"] = "*/5 * * *" },
			"shoestring:services[0].cronJobs[0].schedule", "expected exactly 5 fields, found 4", "five fields"},
		{"cron minute out of range", func(svc, raw map[string]any) { svc["cronJobs"].([]any)[0].(map[string]any)["schedule"] = "61 * * * *" },
			"shoestring:services[0].cronJobs[0].schedule", `has an invalid minute "61": end of range (61) above maximum (59)`, ""},
		{"cron unknown macro", func(svc, raw map[string]any) {
			svc["cronJobs"].([]any)[0].(map[string]any)["schedule"] = "@fortnightly"
		},
			"shoestring:services[0].cronJobs[0].schedule", "unrecognized descriptor: @fortnightly", "@hourly"},
		{"cron TZ prefix", func(svc, raw map[string]any) {
			svc["cronJobs"].([]any)[0].(map[string]any)["schedule"] = "TZ=UTC 0 * * * *"
		}, "shoestring:services[0].cronJobs[0].schedule", "use the timeZone field", ""},
		{"bad time zone", func(svc, raw map[string]any) {
			svc["cronJobs"].([]any)[0].(map[string]any)["timeZone"] = "Mars/Olympus"
		},
			"shoestring:services[0].cronJobs[0].timeZone", "not an IANA time zone", "Europe/Berlin"},
		{"time zone needs batch/v1", func(svc, raw map[string]any) {
			raw["shoestring:batchApiVersion"] = "batch/v1beta1"
			svc["cronJobs"].([]any)[0].(map[string]any)["timeZone"] = "Europe/Berlin"
		}, "shoestring:services[0].cronJobs[0].timeZone", "needs batch/v1", ""},
		{"unknown batch version", func(svc, raw map[string]any) { raw["shoestring:batchApiVersion"] = "batch/v2" },
			"shoestring:batchApiVersion", "is not a CronJob API version", "batch/v1beta1"},
		{"bad concurrency", func(svc, raw map[string]any) {
			svc["cronJobs"].([]any)[0].(map[string]any)["concurrencyPolicy"] = "forbid"
		},
			"shoestring:services[0].cronJobs[0].concurrencyPolicy", "not a concurrency policy", "\"Forbid\""},
		{"release when missing", func(svc, raw map[string]any) { delete(svc["releaseJobs"].([]any)[0].(map[string]any), "when") },
			"shoestring:services[0].releaseJobs[0].when", "is required", "\"before\""},
		{"release when invalid", func(svc, raw map[string]any) { svc["releaseJobs"].([]any)[0].(map[string]any)["when"] = "pre-upgrade" },
			"shoestring:services[0].releaseJobs[0].when", "not a release phase", "\"after\""},
		{"wait for unknown", func(svc, raw map[string]any) { svc["waitFor"] = []any{"postgres"} },
			"shoestring:services[0].waitFor[0]", "neither a known backing service", "host:port"},
		{"wait for itself", func(svc, raw map[string]any) { svc["waitFor"] = []any{"api"} },
			"shoestring:services[0].waitFor[0]", "the service itself", ""},
		{"unrestricted in restricted namespace", func(svc, raw map[string]any) { svc["security"] = map[string]any{"restricted": false} },
			"shoestring:services[0].security.restricted", "enforces the restricted Pod Security level", "shoestring:podSecurity.enforce"},
		{"root user", func(svc, raw map[string]any) { svc["security"] = map[string]any{"runAsUser": 0} },
			"shoestring:services[0].security.runAsUser", "is root", ""},
		{"bad pod security level", func(svc, raw map[string]any) { raw["shoestring:podSecurity"] = map[string]any{"enforce": "strict"} },
			"shoestring:podSecurity.enforce", "not a Pod Security level", "\"baseline\""},
		{"namespace default refused", func(svc, raw map[string]any) { raw["shoestring:namespace"] = "default" },
			"shoestring:namespace", "namespace Kubernetes owns", ""},
		{"duplicate service", func(svc, raw map[string]any) {
			raw["shoestring:services"] = append(raw["shoestring:services"].([]any), map[string]any{"name": "api", "image": "a/b:1"})
		}, "shoestring:services[1].name", "which shoestring:services[0].name also makes", ""},
		{"worker collides with service", func(svc, raw map[string]any) {
			raw["shoestring:services"] = append(raw["shoestring:services"].([]any), map[string]any{"name": "api-queue", "image": "a/b:1"})
		}, "shoestring:services[1].name", `makes the Deployment "api-queue", which shoestring:services[0].workers[0].name also makes`, ""},
		{"service named common", func(svc, raw map[string]any) {
			raw["shoestring:services"] = append(raw["shoestring:services"].([]any), map[string]any{"name": "common", "image": "a/b:1"})
		}, "shoestring:services[1].name", `makes the ConfigMap "common-config", which the common ConfigMap also makes`, ""},
		{"CronJobs of two services collide", func(svc, raw map[string]any) {
			raw["shoestring:services"] = append(raw["shoestring:services"].([]any), map[string]any{"name": "api-x", "image": "a/b:1",
				"cronJobs": []any{map[string]any{"name": "y", "schedule": "@daily", "command": []any{"y"}}}})
			svc["cronJobs"] = append(svc["cronJobs"].([]any), map[string]any{"name": "x-y", "schedule": "@daily", "command": []any{"y"}})
		}, "shoestring:services[1].cronJobs[0].name", `makes the CronJob "api-x-y"`, ""},
		{"backing and service share a name", func(svc, raw map[string]any) {
			raw["shoestring:services"] = append(raw["shoestring:services"].([]any), map[string]any{"name": "mysql", "image": "a/b:1"})
		}, "shoestring:services[1].name", `makes the Service "mysql", which shoestring:backing[0].name also makes`, ""},
		{"cron job name too long", func(svc, raw map[string]any) {
			svc["cronJobs"].([]any)[0].(map[string]any)["name"] = strings.Repeat("x", 50)
		}, "shoestring:services[0].cronJobs[0].name", "is not a valid name", "at most 52"},
		{"bad quantity", func(svc, raw map[string]any) {
			svc["resources"] = map[string]any{"requests": map[string]any{"memory": "128MB"}}
		}, "shoestring:services[0].resources.requests.memory", "not a Kubernetes quantity", "128Mi"},
		{"external backing needs host", func(svc, raw map[string]any) {
			raw["shoestring:backing"] = []any{map[string]any{"name": "mysql", "engine": "mysql", "mode": "external"}}
		}, "shoestring:backing[0].host", "is required when mode is \"external\"", ""},
		{"in-cluster settings on external", func(svc, raw map[string]any) {
			raw["shoestring:backing"] = []any{map[string]any{"name": "mysql", "engine": "mysql", "mode": "external", "host": "10.0.0.3", "storageSize": "5Gi"}}
		}, "shoestring:backing[0].storageSize", "only for mode \"in-cluster\"", ""},
		{"unknown engine", func(svc, raw map[string]any) {
			raw["shoestring:backing"] = []any{map[string]any{"name": "mysql", "engine": "mongodb"}}
		}, "shoestring:backing[0].engine", "not a supported engine", "\"postgresql\""},
		{"port name with a double hyphen", func(svc, raw map[string]any) { svc["ports"] = []any{map[string]any{"name": "web--1", "port": 8080}} },
			"shoestring:services[0].ports[0].name", "is not a port name", "single hyphens"},
		{"image that is no reference", func(svc, raw map[string]any) { svc["image"] = "ghcr.io/acme//api:1.0" },
			"shoestring:services[0].image", "is not an image reference (invalid reference format)", "ghcr.io/acme/api:1.4.2"},
		{"backing image", func(svc, raw map[string]any) {
			raw["shoestring:backing"] = []any{map[string]any{"name": "mysql", "engine": "mysql", "image": "MySQL:8", "secretEnv": []any{"MYSQL_ROOT_PASSWORD"}}}
		}, "shoestring:backing[0].image", "must be lowercase", "mysql:8.4"},
		{"cron time zone inside the schedule anywhere", func(svc, raw map[string]any) {
			svc["cronJobs"].([]any)[0].(map[string]any)["schedule"] = "0 * * * * TZ=UTC"
		}, "shoestring:services[0].cronJobs[0].schedule", "use the timeZone field", ""},
		{"probe port unknown", func(svc, raw map[string]any) { svc["readiness"] = map[string]any{"path": "/healthz", "port": "admin"} },
			"shoestring:services[0].readiness.port", "not a port name of the service", ""},
		{"unknown key", func(svc, raw map[string]any) { svc["cronjobs"] = []any{} },
			"shoestring:services[0].cronjobs", "is not a known key", "did you mean \"cronJobs\"?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := errorAt(t, tc.mutate, tc.key)
			assert.Contains(t, e.Problem, tc.problem)
			assert.Contains(t, e.Fix, tc.fix)
		})
	}
}

// errorAt parses the workloads stack changed by mutate and returns its error at key.
func errorAt(t *testing.T, mutate func(svc, raw map[string]any), key string) FieldError {
	t.Helper()
	raw, secret := workloadsRaw(t, mutate)
	_, err := Parse(raw, secret)
	require.Error(t, err)
	var errs Errors
	require.True(t, errors.As(err, &errs))
	for _, e := range errs {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("no error for %s in:\n%v", key, err)
	return FieldError{}
}

func TestSecretGroupsOfOtherSectionsAreAccepted(t *testing.T) {
	raw, secret := workloadsRaw(t, func(svc, raw map[string]any) {
		raw["shoestring:secrets"].(map[string]any)["dns-sync"] = map[string]any{"CLOUDFLARE_API_TOKEN": "x"}
	})
	cfg, err := Parse(raw, secret)
	require.NoError(t, err)
	assert.Equal(t, "x", cfg.Secrets["dns-sync"]["CLOUDFLARE_API_TOKEN"].Reveal())
}

// TestCheckSchedule: the schedules Kubernetes' CronJob validation (robfig/cron's standard parser)
// accepts and refuses. "? * * * *" is accepted and "0 0 * * 7" refused there (day of week is 0-6),
// so here too.
func TestCheckSchedule(t *testing.T) {
	for _, ok := range []string{"* * * * *", "*/15 * * * *", "0 3 * * 1-5", "0 0 1 jan,jul *", "30 2 ? * SUN", "5,35 8-18/2 * * MON-FRI",
		"@hourly", "@daily", "@every 90m", "0 0 * * 6", "? * * * *"} {
		assert.Empty(t, CheckSchedule(ok), ok)
	}
	for _, bad := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
		"5-1 * * * *", "@often", "abc * * * *", "0 0 * * 7", "@every 5x", "TZ=UTC 0 * * * *", "CRON_TZ=Europe/Berlin 0 * * * *", "TZ=0"} {
		assert.NotEmpty(t, CheckSchedule(bad), bad)
	}
	assert.Equal(t, `has an invalid day of week "7": end of range (7) above maximum (6): 7`, CheckSchedule("0 0 * * 7"), "names the field")
	assert.Equal(t, `has an invalid month "jun-jan": beginning of range (6) beyond end of range (1): jun-jan`, CheckSchedule("0 0 1 jun-jan *"))
	assert.Contains(t, CheckSchedule("TZ=0"), "use the timeZone field", "refused before the parser sees it")
}

// Committed stack files hold no secret values; tools that evaluate them without the engine get a
// placeholder for each referenced one, and are told which.
func TestLoadStackFileWithPlaceholders(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.x.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`config:
  shoestring:cluster: {mode: existing, existing: {kubeconfig: /tmp/kc}}
  shoestring:services:
    - name: api
      image: acme/api:1.0.0
      secretEnv: [DB_PASSWORD, API_TOKEN]
  shoestring:secrets:
    api:
      API_TOKEN: {secure: v1:abcdef}
`), 0o644))
	raw, secretKeys, err := ReadStackFile(path)
	require.NoError(t, err)
	_, err = Parse(raw, secretKeys)
	require.Error(t, err, "the engine's path (Load -> Parse) refuses a missing secret")
	assert.Contains(t, err.Error(), "pulumi config set --secret --path 'secrets.api.DB_PASSWORD' <value>")

	cfg, filled, err := LoadStackFileWithPlaceholders(path)
	require.NoError(t, err)
	_, err = LoadStackFile(path)
	require.NoError(t, err, "tools without the engine get placeholders")
	assert.Equal(t, []string{"shoestring:secrets.api.DB_PASSWORD", "shoestring:secrets.checksum.HMAC_KEY"}, filled,
		"the checksum key is a secret like the others: tools and local runs stand in for it")
	assert.Equal(t, SecretPlaceholder, cfg.Secrets["api"]["DB_PASSWORD"].Reveal())
	assert.Equal(t, SecretPlaceholder, cfg.Secrets["api"]["API_TOKEN"].Reveal(), "encrypted values are placeholders too")

	// Other problems are still errors.
	require.NoError(t, os.WriteFile(path, []byte(`config:
  shoestring:cluster: {mode: existing, existing: {kubeconfig: /tmp/kc}}
  shoestring:services:
    - name: api
      image: acme/api
      secretEnv: [DB_PASSWORD]
`), 0o644))
	_, _, err = LoadStackFileWithPlaceholders(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no tag or digest")
}

// Every command's check: a GKE stack must set each secret it refers to; a stack on an existing
// (local) cluster is told which ones will be generated.
func TestCheckStackFileRefusesMissingSecretsOfAGKEStack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.x.yaml")
	services := `  shoestring:services:
    - name: api
      image: acme/api:1.0.0
      secretEnv: [DB_PASSWORD, API_TOKEN]
  shoestring:secrets:
    api:
      API_TOKEN: {secure: v1:abcdef}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte("name: shoestring\nruntime: go\n"), 0o644))
	require.NoError(t, os.WriteFile(path, []byte("config:\n  shoestring:cluster: {gke: {zone: us-central1-a}}\n"+services), 0o644))
	_, _, err := CheckStackFile(path)
	require.Error(t, err)
	assert.Equal(t, "Pulumi.x.yaml: invalid stack configuration (2 problems):\n  - Pulumi.x.yaml:8: shoestring:secrets.api.DB_PASSWORD: is referenced but not set; set it with `pulumi config set --secret --path 'secrets.api.DB_PASSWORD' <value>`\n  - Pulumi.x.yaml:7: shoestring:secrets.checksum.HMAC_KEY: is referenced but not set; set a random key once, e.g. `pulumi config set --secret --path 'secrets.checksum.HMAC_KEY' \"$(openssl rand -hex 32)\"`: it keys the hashes of secret values in pod annotations and release Job names", err.Error())

	require.NoError(t, os.WriteFile(path, []byte("config:\n  shoestring:cluster: {mode: existing, existing: {kubeconfig: /tmp/kc}}\n"+services), 0o644))
	cfg, generated, err := CheckStackFile(path)
	require.NoError(t, err)
	assert.True(t, cfg.GeneratesSecrets())
	assert.Equal(t, []string{"shoestring:secrets.api.DB_PASSWORD", "shoestring:secrets.checksum.HMAC_KEY"}, generated)
}
