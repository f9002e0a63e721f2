package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedProject is a project file holding the shared definition, in the forms Pulumi accepts: a
// scalar shorthand, and mappings declared with default: and value:.
const sharedProject = `name: shoestring
runtime: go
config:
  shoestring:namespace: shop
  shoestring:cluster:
    default: {gke: {zone: us-central1-a}}
  shoestring:commonEnv:
    default: {APP_ENV: shared, DB_HOST: mysql}
  shoestring:waitForImage:
    value: busybox:1.36
  shoestring:services:
    default:
      - name: api
        image: example/api:1.0.0
        ports: [{name: http, port: 8080}]
        replicas: 1
        resources: {requests: {cpu: 50m, memory: 128Mi}, limits: {memory: 256Mi}}
        env: {MODE: api, DEBUG: "1"}
        workers:
          - {name: queue, command: [work], replicas: 1}
          - {name: mailer, command: [mail]}
        cronJobs:
          - {name: report, schedule: "0 * * * *", command: [report]}
          - {name: cleanup, schedule: "*/15 * * * *", command: [cleanup]}
        releaseJobs:
          - {name: migrate, command: [migrate], when: before}
          - {name: demo-data, command: [demo], when: after}
      - name: admin
        image: example/admin:1.0.0
        ports: [{name: http, port: 8080}]
`

// loadProject writes the shared project file and a stack file beside it and loads the stack.
func loadProject(t *testing.T, project, stack string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ProjectFile), []byte(project), 0o644))
	path := filepath.Join(dir, "Pulumi.test.yaml")
	require.NoError(t, os.WriteFile(path, []byte(stack), 0o644))
	return LoadStackFile(path)
}

func TestAStackWithoutOwnValuesGetsTheSharedDefinition(t *testing.T) {
	c, err := loadProject(t, sharedProject, "config: {}\n")
	require.NoError(t, err)
	assert.Equal(t, "shop", c.Namespace)
	assert.Equal(t, "busybox:1.36", c.WaitForImage)
	assert.Equal(t, map[string]string{"APP_ENV": "shared", "DB_HOST": "mysql"}, c.CommonEnv)
	require.Len(t, c.Services, 2)
	assert.Equal(t, "api", c.Services[0].Name)
	assert.Len(t, c.Services[0].CronJobs, 2)
}

func TestAStackKeyThatLeavesOutSharedItemsIsRefusedWithWhatItDrops(t *testing.T) {
	stack := `config:
  shoestring:commonEnv: {APP_ENV: prod}
  shoestring:services:
    - {name: solo, image: example/solo:2.0.0}
`
	_, err := loadProject(t, sharedProject, stack)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (2 problems):
  - Pulumi.test.yaml:2: shoestring:commonEnv: replaces the value Pulumi.yaml shares as a whole, and leaves out DB_HOST; to change parts of it, remove shoestring:commonEnv from the stack file and write only what differs under shoestring:overrides.commonEnv (named items by name); to mean the whole value, add commonEnv to shoestring:replace
  - Pulumi.test.yaml:3: shoestring:services: replaces the value Pulumi.yaml shares as a whole, and leaves out api, admin; to change parts of it, remove shoestring:services from the stack file and write only what differs under shoestring:overrides.services (named items by name); to mean the whole value, add services to shoestring:replace`, err.Error())

	// With overrides of the same key in the file, the whole value is still named at its own line,
	// not at the override's.
	_, err = loadProject(t, sharedProject, `config:
  shoestring:overrides:
    services:
      api: {replicas: 2}
  shoestring:services:
    - {name: api, image: example/api:2.0.0}
`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Pulumi.test.yaml:5: shoestring:services: replaces the value Pulumi.yaml shares as a whole")

	c, err := loadProject(t, sharedProject, stack+"  shoestring:replace: [commonEnv, services]\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"APP_ENV": "prod"}, c.CommonEnv, "marked: the stack's key wins as a whole")
	require.Len(t, c.Services, 1)
	assert.Equal(t, "solo", c.Services[0].Name)
}

func TestAStackKeyThatKeepsEverythingSharedNeedsNoMarker(t *testing.T) {
	c, err := loadProject(t, sharedProject, `config:
  shoestring:commonEnv: {APP_ENV: prod, DB_HOST: db.internal, EXTRA: "1"}
`)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"APP_ENV": "prod", "DB_HOST": "db.internal", "EXTRA": "1"}, c.CommonEnv)
}

func TestAnOldCopyOfTheServicesNamesTheSharedFieldsItMisses(t *testing.T) {
	// The stack kept a copy of the list from before DEBUG, the mailer worker and the cleanup
	// CronJob were added to Pulumi.yaml.
	_, err := loadProject(t, sharedProject, `config:
  shoestring:services:
    - name: api
      image: example/api:1.0.0
      ports: [{name: http, port: 8080}]
      replicas: 1
      resources: {requests: {cpu: 50m, memory: 128Mi}, limits: {memory: 256Mi}}
      env: {MODE: api}
      workers: [{name: queue, command: [work], replicas: 1}]
      cronJobs: [{name: report, schedule: "0 * * * *", command: [report]}]
      releaseJobs:
        - {name: migrate, command: [migrate], when: before}
        - {name: demo-data, command: [demo], when: after}
    - {name: admin, image: example/admin:1.0.0, ports: [{name: http, port: 8080}]}
`)
	require.Error(t, err)
	assert.Equal(t, "invalid stack configuration: Pulumi.test.yaml:2: shoestring:services: replaces the value Pulumi.yaml shares as a whole, and leaves out api.cronJobs.cleanup, api.env.DEBUG, api.workers.mailer; to change parts of it, remove shoestring:services from the stack file and write only what differs under shoestring:overrides.services (named items by name); to mean the whole value, add services to shoestring:replace", err.Error())
}

func TestANamedListGivenWholeInAnOverrideIsRefusedWithWhatItDrops(t *testing.T) {
	stack := `config:
  shoestring:overrides:
    services:
      api:
        cronJobs: [{name: report, schedule: "0 2 * * *", command: [report]}]
        workers: [{name: queue, command: [work], replicas: 3}]
`
	_, err := loadProject(t, sharedProject, stack)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (2 problems):
  - Pulumi.test.yaml:5: shoestring:overrides.services.api.cronJobs: is a list, which replaces shoestring:services[0].cronJobs as a whole and leaves out cleanup; to change items, write a mapping from name to what changes, e.g. {report: {<field>: <value>}}; to mean the whole list, add services.api.cronJobs to shoestring:replace
  - Pulumi.test.yaml:6: shoestring:overrides.services.api.workers: is a list, which replaces shoestring:services[0].workers as a whole and leaves out mailer; to change items, write a mapping from name to what changes, e.g. {queue: {<field>: <value>}}; to mean the whole list, add services.api.workers to shoestring:replace`, err.Error())

	c, err := loadProject(t, sharedProject, stack+"  shoestring:replace: [services.api.cronJobs, services.api.workers]\n")
	require.NoError(t, err)
	require.Len(t, c.Services[0].CronJobs, 1)
	assert.Equal(t, "0 2 * * *", c.Services[0].CronJobs[0].Schedule)
	require.Len(t, c.Services[0].Workers, 1)
	assert.Equal(t, 3, *c.Services[0].Workers[0].Replicas)
}

func TestAReplaceEntryThatNamesNothingIsRefused(t *testing.T) {
	_, err := loadProject(t, sharedProject, `config:
  shoestring:replace: [servics, services.api.cronJobs]
`)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (2 problems):
  - Pulumi.test.yaml:2: shoestring:replace[0]: "servics" names nothing this stack replaces; name a key the stack file sets and Pulumi.yaml shares (e.g. backing), or the path of a list given whole in shoestring:overrides (e.g. services.api.cronJobs); remove it otherwise
  - Pulumi.test.yaml:2: shoestring:replace[1]: "services.api.cronJobs" names nothing this stack replaces; name a key the stack file sets and Pulumi.yaml shares (e.g. backing), or the path of a list given whole in shoestring:overrides (e.g. services.api.cronJobs); remove it otherwise`, err.Error())
}

func TestAnOverrideCannotRenameAnItem(t *testing.T) {
	_, err := loadProject(t, sharedProject, `config:
  shoestring:overrides:
    services: {api: {name: api-v2, workers: {queue: {name: jobs}}}}
`)
	require.Error(t, err)
	assert.Equal(t, "invalid stack configuration: Pulumi.test.yaml:3: shoestring:overrides.services.api.name: \"api-v2\" renames api, which an override cannot do; remove name: here (the key api is the item's name); to deploy it under another name, rename it in Pulumi.yaml, or give the whole list in this stack with its path in shoestring:replace", err.Error())
}

func TestPerStackKeysInTheProjectFileAreRefused(t *testing.T) {
	project := sharedProject + "  shoestring:overrides:\n    default: {commonEnv: {APP_ENV: x}}\n  shoestring:secrets:\n    default: {api: {DB_PASSWORD: hunter2}}\n"
	_, err := loadProject(t, project, "config:\n  shoestring:overrides: {commonEnv: {APP_ENV: prod}}\n")
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "shoestring:overrides: is set in Pulumi.yaml, where it would be shadowed by each stack file that sets its own; write the shared value itself in Pulumi.yaml, and shoestring:overrides in each stack file that differs")
	assert.Contains(t, msg, "shoestring:secrets: is set in Pulumi.yaml (value withheld)")
	assert.NotContains(t, msg, "hunter2")
}

func TestOverridesChangeOnlyWhatTheyName(t *testing.T) {
	c, err := loadProject(t, sharedProject, `config:
  shoestring:overrides:
    commonEnv: {APP_ENV: prod, DEBUG_SQL: null}
    services:
      api:
        replicas: 3
        resources: {requests: {cpu: 100m}}
        env: {DEBUG: null, EXTRA: "yes"}
        routes: [{host: api.example.com}]
        workers: {queue: {replicas: 2}}
        cronJobs: {cleanup: {schedule: "0 3 * * *"}}
        releaseJobs: {demo-data: {when: never}}
      admin: null
`)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"APP_ENV": "prod", "DB_HOST": "mysql"}, c.CommonEnv)
	require.Len(t, c.Services, 1, "null leaves admin out of this stack")
	api := c.Services[0]
	assert.Equal(t, 3, *api.Replicas)
	assert.Equal(t, "100m", api.Resources.Requests.CPU)
	assert.Equal(t, "128Mi", api.Resources.Requests.Memory, "a mapping merges: the memory request stays")
	assert.Equal(t, "256Mi", api.Resources.Limits.Memory)
	assert.Equal(t, map[string]string{"MODE": "api", "EXTRA": "yes"}, api.Env, "null removes one variable")
	require.Len(t, api.Routes, 1)
	assert.Equal(t, "api.example.com", api.Routes[0].Host)

	require.Len(t, api.Workers, 2, "the list keeps its items and order")
	assert.Equal(t, "queue", api.Workers[0].Name)
	assert.Equal(t, 2, *api.Workers[0].Replicas)
	assert.Equal(t, []string{"work"}, api.Workers[0].Command)
	assert.Equal(t, "mailer", api.Workers[1].Name)
	assert.Equal(t, "0 * * * *", api.CronJobs[0].Schedule)
	assert.Equal(t, "0 3 * * *", api.CronJobs[1].Schedule)
	assert.Equal(t, []string{"cleanup"}, api.CronJobs[1].Command)
	assert.Equal(t, ReleaseBefore, api.ReleaseJobs[0].When)
	assert.Equal(t, ReleaseNever, api.ReleaseJobs[1].When)
}

func TestOverridesAlsoApplyToTheStacksOwnValue(t *testing.T) {
	c, err := loadProject(t, sharedProject, `config:
  shoestring:namespace: shop-eu
  shoestring:overrides:
    namespace: shop-us
`)
	require.NoError(t, err)
	assert.Equal(t, "shop-us", c.Namespace, "a scalar override replaces the value, wherever it came from")
}

func TestBadOverridesAreRefusedWithTheirKey(t *testing.T) {
	for name, tc := range map[string]struct{ stack, want string }{
		"unknown service": {`config:
  shoestring:overrides:
    services: {apii: {replicas: 2}}
`, `invalid stack configuration: Pulumi.test.yaml:3: shoestring:overrides.services.apii: names no item of shoestring:services; did you mean "api"? name one of: api, admin (an override changes a shared item; a stack that needs a list of its own gives it whole and names it in shoestring:replace)`},
		"unknown worker": {`config:
  shoestring:overrides:
    services: {api: {workers: {mailr: {replicas: 2}}}}
`, `invalid stack configuration: Pulumi.test.yaml:3: shoestring:overrides.services.api.workers.mailr: names no item of shoestring:services[0].workers; did you mean "mailer"? name one of: queue, mailer (an override changes a shared item; a stack that needs a list of its own gives it whole and names it in shoestring:replace)`},
		"unknown key": {`config:
  shoestring:overrides:
    servces: {api: {replicas: 2}}
`, `invalid stack configuration: Pulumi.test.yaml:3: shoestring:overrides.servces: is not a known key; did you mean "services"? accepted keys here: backing, batchApiVersion, billing, cluster, commonEnv, commonSecretEnv, devMode, dns, dnssync, edge, imagePullSecrets, localDev, namespace, networkPolicy, playground, podSecurity, registry, services, storageClass, waitForImage`},
		"secrets": {`config:
  shoestring:overrides:
    secrets: {api: {DB_PASSWORD: x}}
`, "invalid stack configuration: Pulumi.test.yaml:3: shoestring:overrides.secrets: overrides secret values; set each secret in this stack with `pulumi config set --secret --path 'secrets.<group>.<NAME>' <value>`"},
		"not a mapping": {`config:
  shoestring:overrides: [services]
`, `invalid stack configuration: Pulumi.test.yaml:2: shoestring:overrides: "[\"services\"]" is not a mapping; write a YAML mapping from a key of this namespace (services, commonEnv, ...) to what this stack changes in it`},
		"item not a mapping": {`config:
  shoestring:overrides:
    services: {api: 2}
`, `invalid stack configuration: Pulumi.test.yaml:3: shoestring:overrides.services.api: "2" is not a mapping; write the fields of api this stack changes, e.g. {replicas: 2}, or null to leave it out`},
		"a value the schema refuses": {`config:
  shoestring:overrides:
    services: {api: {cronJobs: {report: {schedule: "61 * * * *"}}}}
`, "shoestring:services[0].cronJobs[0].schedule"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadProject(t, sharedProject, tc.stack)
			require.Error(t, err)
			if name == "a value the schema refuses" {
				assert.Contains(t, err.Error(), tc.want, "the merged value is checked like any other")
				return
			}
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestABrokenProjectFileIsNamed(t *testing.T) {
	_, err := loadProject(t, "name: shoestring\nruntime: go\nconfig:\n  shoestring:commonEnv:\n    defualt: {A: b}\n", "config: {}\n")
	require.Error(t, err)
	assert.Contains(t, err.Error(), ProjectFile)
	assert.Contains(t, err.Error(), "defualt")
}

func TestTheShippedStacksShareOneDefinition(t *testing.T) {
	// Every shipped stack deploys the shared services; each file says only what differs.
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		c, err := LoadStackFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
		require.NoError(t, err, stack)
		require.NotEmpty(t, c.Services, stack)
		assert.Equal(t, stack, c.CommonEnv["APP_ENV"], stack)
		raw, _, err := ReadStackFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
		require.NoError(t, err)
		assert.NotContains(t, stackFileKeys(t, stack), "shoestring:services", "%s repeats the shared services", stack)
		assert.Contains(t, raw, "shoestring:services")
	}
}

// stackFileKeys are the keys a shipped stack file itself sets.
func stackFileKeys(t *testing.T, stack string) []string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), b, 0o644))
	raw, _, err := ReadStackFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	return keys
}

func TestWhatTheFileShowsOfAnOverriddenValueIsChecked(t *testing.T) {
	_, err := loadProject(t, sharedProject, `config:
  shoestring:overrides:
    commonEnv: {FEATURE_X: NO}
    services: {api: {env: {PORT: 0755}}}
`)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (2 problems):
  - Pulumi.test.yaml:3: shoestring:commonEnv.FEATURE_X: "NO" is read as a boolean by YAML 1.1 (kubectl and other YAML 1.1 readers); quote it: "NO"
  - Pulumi.test.yaml:4: shoestring:services[0].env.PORT: "0755" is read as the number 493 by YAML; quote it: "0755"`, err.Error())
}

func TestYAMLSyntaxErrorsNameTheFileTheLineAndTheFix(t *testing.T) {
	for name, tc := range map[string]struct{ project, stack, want string }{
		"an unquoted schedule in the stack file": {sharedProject,
			"config:\n  shoestring:overrides:\n    services:\n      api:\n        cronJobs: {report: {schedule: */5 * * * *}}\n",
			`Pulumi.test.yaml:5: */5 * * * *: YAML reads a value starting with * as an alias (a reference to an &anchor); quote it: "*/5 * * * *"`},
		"an unquoted schedule in a block": {sharedProject,
			"config:\n  shoestring:commonEnv:\n    CRON: */5 * * * *\n",
			`Pulumi.test.yaml:3: */5 * * * *: YAML reads a value starting with * as an alias (a reference to an &anchor); quote it: "*/5 * * * *"`},
		"a key twice in the project file": {"name: shoestring\nruntime: go\nconfig:\n  shoestring:namespace: a\n  shoestring:namespace: b\n", "config: {}\n",
			`Pulumi.yaml:5: "shoestring:namespace" is given twice (first at line 4): YAML keeps one value per key; remove the second one`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadProject(t, tc.project, tc.stack)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestADidYouMeanComesBeforeWhatFollowsFromIt(t *testing.T) {
	_, err := loadProject(t, "name: shoestring\nruntime: go\n", `config:
  shoestring:cluster: {mode: existing, existing: {kubeconfig: /k}}
  shoestring:backing:
    - {name: db, engine: mysql}
  shoestring:servics:
    - {name: api, image: "ghcr.io/acme/api:1.0.0"}
  shoestring:edge:
    routes: [{service: api, host: api.example.com}]
`)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (3 problems):
  - Pulumi.test.yaml:5: shoestring:servics: is not a known key; did you mean "shoestring:services"? accepted keys here: `+strings.Join(acceptedTopLevel(), ", ")+`
  - (may follow from the unknown key above) Pulumi.test.yaml:8: shoestring:edge.routes[0].service: "api" is not a service of this stack; name one of the services in shoestring:services: (none declared)
  - (may follow from the unknown key above) shoestring:services: is missing, but the stack deploys workloads: shoestring:backing, shoestring:edge.routes set up what services use; declare the services, e.g. `+"`- {name: api, image: ghcr.io/acme/api:1.4.2}`"+`, or remove shoestring:backing, shoestring:edge.routes for a stack without services`, err.Error())
}
