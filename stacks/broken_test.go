package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// Parts of the broken stack files below: a valid cluster and a valid service to add to.
const (
	clusterYAML = "  shoestring:cluster: {mode: existing, existing: {kubeconfig: /k}}\n"
	apiYAML     = clusterYAML + "  shoestring:services:\n    - name: api\n      image: ghcr.io/acme/api:1.0.0\n"
	gkeYAML     = "  shoestring:cluster:\n    gke:\n      zone: us-central1-a\n"
)

// brokenFiles are stack files (under config:) with their exact error, as LoadStackFile reports
// it. parse is the error of the same values given as the engine's PULUMI_CONFIG JSON to Parse:
// "" for the same message, "-" where that path cannot see the problem (a duplicate key, text as
// written) or the case is for files only.
var brokenFiles = []struct {
	name, yaml, want, parse string
}{
	// Namespaces that look like a typo of shoestring.
	{"namespace without an i", clusterYAML + "  shoestrng:namespace: apps\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestrng:namespace: is not in the shoestring namespace, so the program would never read it; did you mean \"shoestring:namespace\"? rename the key", ""},
	{"namespace with an underscore", clusterYAML + "  shoestring_:namespace: apps\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestring_:namespace: is not in the shoestring namespace, so the program would never read it; did you mean \"shoestring:namespace\"? rename the key", ""},
	{"namespace capitalised", clusterYAML + "  Shoestring:namespace: apps\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: Shoestring:namespace: is not in the shoestring namespace, so the program would never read it; did you mean \"shoestring:namespace\"? rename the key", ""},
	{"namespace in capitals and a key typo", clusterYAML + "  SHOESTRING:servics: []\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: SHOESTRING:servics: is not in the shoestring namespace, so the program would never read it; did you mean \"shoestring:services\"? rename the key", ""},
	{"namespace typo hides the services", clusterYAML + "  shoestrng:services:\n    - {name: api, image: \"ghcr.io/acme/api:1.0.0\"}\n  shoestring:backing:\n    - {name: db, engine: mysql}\n",
		"invalid stack configuration (2 problems):\n  - Pulumi.broken.yaml:3: shoestrng:services: is not in the shoestring namespace, so the program would never read it; did you mean \"shoestring:services\"? rename the key\n  - (may follow from the unknown key above) shoestring:services: is missing, but the stack deploys workloads: shoestring:backing set up what services use; declare the services, e.g. `- {name: api, image: ghcr.io/acme/api:1.4.2}`, or remove shoestring:backing for a stack without services", ""},

	// Services missing where the stack deploys workloads.
	{"backing without services", clusterYAML + "  shoestring:backing:\n    - {name: db, engine: mysql}\n",
		"invalid stack configuration: shoestring:services: is missing, but the stack deploys workloads: shoestring:backing set up what services use; declare the services, e.g. `- {name: api, image: ghcr.io/acme/api:1.4.2}`, or remove shoestring:backing for a stack without services", ""},
	{"commonEnv with an empty service list", clusterYAML + "  shoestring:commonEnv: {APP_ENV: prod}\n  shoestring:services: []\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:services: \"[]\" is empty, but the stack deploys workloads: shoestring:commonEnv set up what services use; declare the services, e.g. `- {name: api, image: ghcr.io/acme/api:1.4.2}`, or remove shoestring:commonEnv for a stack without services", ""},
	{"edge routes without services", clusterYAML + "  shoestring:edge:\n    routes:\n      - {service: api, host: api.example.com}\n",
		"invalid stack configuration (2 problems):\n  - Pulumi.broken.yaml:5: shoestring:edge.routes[0].service: \"api\" is not a service of this stack; name one of the services in shoestring:services: (none declared)\n  - shoestring:services: is missing, but the stack deploys workloads: shoestring:edge.routes set up what services use; declare the services, e.g. `- {name: api, image: ghcr.io/acme/api:1.4.2}`, or remove shoestring:edge.routes for a stack without services", ""},
	{"playgrounds without services", clusterYAML + "  shoestring:edge:\n    playgrounds: {domain: play.example.com}\n",
		"invalid stack configuration (2 problems):\n  - Pulumi.broken.yaml:4: shoestring:edge.playgrounds.gatewayService: \"gateway\" is not a service of this stack, so playgrounds would have no gateway; name the service <feature>.play.example.com should reach: one of (none declared)\n  - shoestring:services: is missing, but the stack deploys workloads: shoestring:edge.playgrounds.domain set up what services use; declare the services, e.g. `- {name: api, image: ghcr.io/acme/api:1.4.2}`, or remove shoestring:edge.playgrounds.domain for a stack without services", ""},

	// A key given twice.
	{"top-level key twice", clusterYAML + "  shoestring:namespace: apps\n  shoestring:namespace: web\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:namespace: is given twice in the same mapping (lines 3 and 4): YAML keeps only the last one; remove one of them", "-"},
	{"env key twice", apiYAML + "      env:\n        FLAG: a\n        FLAG: b\n",
		"invalid stack configuration: Pulumi.broken.yaml:8: shoestring:services[0].env.FLAG: is given twice in the same mapping (lines 7 and 8): YAML keeps only the last one; remove one of them", "-"},
	{"service key twice", apiYAML + "      image: ghcr.io/acme/api:2.0.0\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].image: is given twice in the same mapping (lines 5 and 6): YAML keeps only the last one; remove one of them", "-"},
	{"cluster key twice in a flow mapping", "  shoestring:cluster: {mode: gke, mode: existing, existing: {kubeconfig: /k}}\n",
		"invalid stack configuration: Pulumi.broken.yaml:2: shoestring:cluster.mode: is given twice in the same mapping (lines 2 and 2): YAML keeps only the last one; remove one of them", "-"},

	{"key without a namespace and with one", clusterYAML + "  namespace: apps\n  shoestring:namespace: web\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:namespace: is given twice, as namespace and as shoestring:namespace (line 4): Pulumi reads a key without a namespace as shoestring:namespace; remove one of them", "-"},
	{"key without a namespace is the project's", clusterYAML + "  namespace: default\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestring:namespace: \"default\" is a namespace Kubernetes owns: this program labels and deletes its namespace; name a namespace of its own, e.g. \"apps\" (the default)", "-"},

	// Values YAML does not read as the text written, where the schema expects text.
	{"YAML 1.1 boolean in commonEnv", apiYAML + "  shoestring:commonEnv: {FLAG: NO}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:commonEnv.FLAG: \"NO\" is read as a boolean by YAML 1.1 (kubectl and other YAML 1.1 readers); quote it: \"NO\"", "-"},
	{"octal in commonEnv", apiYAML + "  shoestring:commonEnv: {UMASK: 0755}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:commonEnv.UMASK: \"0755\" is read as the number 493 by YAML; quote it: \"0755\"", "invalid stack configuration: shoestring:commonEnv.UMASK: \"493\" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"version as a float in commonEnv", apiYAML + "  shoestring:commonEnv: {PHP_VERSION: 2.10}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:commonEnv.PHP_VERSION: \"2.10\" is read as the number 2.1 by YAML; quote it: \"2.10\"", "invalid stack configuration: shoestring:commonEnv.PHP_VERSION: \"2.1\" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"exponent in commonEnv", apiYAML + "  shoestring:commonEnv: {LIMIT: 1e3}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:commonEnv.LIMIT: \"1e3\" is read as the number 1000 by YAML; quote it: \"1e3\"", "invalid stack configuration: shoestring:commonEnv.LIMIT: \"1000\" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"tilde in commonEnv", apiYAML + "  shoestring:commonEnv: {HOME_DIR: ~}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:commonEnv.HOME_DIR: \"~\" is read as null by YAML; quote it: \"~\", or write \"\" for an empty value", "invalid stack configuration: shoestring:commonEnv.HOME_DIR: is null in YAML, not text; quote it in the stack file, or write \"\" for an empty value"},
	{"empty value in commonEnv", apiYAML + "  shoestring:commonEnv:\n    EMPTY:\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:commonEnv.EMPTY: is empty, which YAML reads as null; write \"\" for an empty value", "invalid stack configuration: shoestring:commonEnv.EMPTY: is null in YAML, not text; quote it in the stack file, or write \"\" for an empty value"},
	{"boolean in a service's env", apiYAML + "      env: {DEBUG: true}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].env.DEBUG: \"true\" is read as a boolean by YAML; quote it: \"true\"", "invalid stack configuration: shoestring:services[0].env.DEBUG: \"true\" is a boolean in YAML, not text; quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"port number in a service's env", apiYAML + "      env: {DB_PORT: 3306}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].env.DB_PORT: \"3306\" is read as a number by YAML; quote it: \"3306\"", "invalid stack configuration: shoestring:services[0].env.DB_PORT: \"3306\" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"yes in backing env", clusterYAML + "  shoestring:backing:\n    - name: db\n      engine: mysql\n      env: {MYSQL_RANDOM_ROOT: yes}\n" + strings.TrimPrefix(apiYAML, clusterYAML),
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:backing[0].env.MYSQL_RANDOM_ROOT: \"yes\" is read as a boolean by YAML 1.1 (kubectl and other YAML 1.1 readers); quote it: \"yes\"", "-"},
	{"octal in a worker's command", apiYAML + "      workers:\n        - name: fix\n          command: [chmod, 0755, /data]\n",
		"invalid stack configuration: Pulumi.broken.yaml:8: shoestring:services[0].workers[0].command[1]: \"0755\" is read as the number 493 by YAML; quote it: \"0755\"", "invalid stack configuration: shoestring:services[0].workers[0].command[1]: \"493\" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"on in a CronJob's args", apiYAML + "      cronJobs:\n        - name: report\n          schedule: \"@daily\"\n          command: [report]\n          args: [--verbose, on]\n",
		"invalid stack configuration: Pulumi.broken.yaml:10: shoestring:services[0].cronJobs[0].args[1]: \"on\" is read as a boolean by YAML 1.1 (kubectl and other YAML 1.1 readers); quote it: \"on\"", "-"},
	{"number in a release Job's command", apiYAML + "      releaseJobs:\n        - name: wait\n          command: [sleep, 10]\n          when: before\n",
		"invalid stack configuration: Pulumi.broken.yaml:8: shoestring:services[0].releaseJobs[0].command[1]: \"10\" is read as a number by YAML; quote it: \"10\"", "invalid stack configuration: shoestring:services[0].releaseJobs[0].command[1]: \"10\" is a number in YAML, not text (YAML reads an unquoted 0755 as 493 and 2.10 as 2.1); quote it in the stack file (`pulumi config set --path` needs `--type string` for it)"},
	{"octal in a probe port", apiYAML + "      ports: [{name: http, port: 8080}]\n      readiness: {port: 010}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].readiness.port: \"010\" is read as the number 8 by YAML; quote it: \"010\"", "-"},

	// Upper bounds.
	{"service replicas", apiYAML + "      replicas: 100000\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].replicas: \"100000\" is above 50 replicas, more than this product's cluster of at most 10 small nodes runs; use 0 to 50 (default 1)", ""},
	{"worker replicas", apiYAML + "      workers:\n        - {name: queue, command: [consume], replicas: 51}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].workers[0].replicas: \"51\" is above 50 replicas, more than this product's cluster of at most 10 small nodes runs; use 0 to 50 (default 1)", ""},
	{"node count", gkeYAML + "      nodeCount: 11\n",
		"invalid stack configuration: Pulumi.broken.yaml:5: shoestring:cluster.gke.nodeCount: \"11\" is out of range; use 1 to 10 nodes (3 is the default; more is not the cheap cluster this program makes)", ""},
	{"DNS-sync replicas", clusterYAML + "  shoestring:dnssync: {replicas: 6}\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestring:dnssync.replicas: \"6\" is out of range; use 1 to 5 (above 1 the replicas elect a leader)", ""},
	{"CronJob history", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"@daily\", command: [report], successfulJobsHistoryLimit: 11}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].successfulJobsHistoryLimit: \"11\" is above 10, the most this program allows; use 0 to 10", ""},
	{"CronJob retries", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"@daily\", command: [report], backoffLimit: 11}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].backoffLimit: \"11\" is above 10, the most this program allows; use 0 to 10", ""},
	{"CronJob starting deadline", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"@daily\", command: [report], startingDeadlineSeconds: 86401}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].startingDeadlineSeconds: \"86401\" is above 86400, the most this program allows; use 10 to 86400", ""},
	{"release Job deadline", apiYAML + "      releaseJobs:\n        - {name: migrate, command: [migrate], when: before, activeDeadlineSeconds: 90000}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].releaseJobs[0].activeDeadlineSeconds: \"90000\" is more than a day (86400 seconds), the longest a release Job may run; use 1 to 86400 seconds (default 600)", ""},
	{"release Job retries", apiYAML + "      releaseJobs:\n        - {name: migrate, command: [migrate], when: before, backoffLimit: 20}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].releaseJobs[0].backoffLimit: \"20\" is above 10 retries: more only delay the failure; use 0 (no retries, the default) to 10", ""},

	// Secrets.
	{"plain text next to an encrypted value", apiYAML + "      secretEnv: [DB_PASSWORD, API_TOKEN]\n  shoestring:secrets:\n    api:\n      DB_PASSWORD: {secure: v1:abc}\n      API_TOKEN: hunter2\n",
		"invalid stack configuration: Pulumi.broken.yaml:10: shoestring:secrets.api.API_TOKEN: is plain text (line 10, value withheld) next to encrypted values: it would be stored and passed unencrypted; remove it from the stack file and set it with `pulumi config set --secret --path 'secrets.api.API_TOKEN' <value>`", "-"},
	{"secrets all in plain text", apiYAML + "  shoestring:secrets:\n    api: {DB_PASSWORD: hunter2}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:secrets: holds secrets but is stored in plain text; remove it from the stack file and set each value with `pulumi config set --secret --path 'secrets.<name>' <value>`", ""},
	{"secret group with a typo", apiYAML + "  shoestring:secrets:\n    apii: {DB_PASSWORD: {secure: v1:abc}}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:secrets.apii: matches no service, backing service or other section's group, so no pod would receive its values; did you mean \"api\"? the groups that exist: \"api\", \"dns-sync\", \"edge\"", ""},
	{"secret group of nothing", apiYAML + "  shoestring:secrets:\n    billing: {TOKEN: {secure: v1:abc}}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:secrets.billing: matches no service, backing service or other section's group, so no pod would receive its values; the groups that exist: \"api\", \"dns-sync\", \"edge\"", ""},

	// Checks that were there before.
	{"image on latest", clusterYAML + "  shoestring:services:\n    - {name: api, image: \"ghcr.io/acme/api:latest\"}\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:services[0].image: \"ghcr.io/acme/api:latest\" uses the moving tag latest: environments could run different code; pin a release tag or a digest", ""},
	{"image without a tag", clusterYAML + "  shoestring:services:\n    - {name: api, image: ghcr.io/acme/api}\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:services[0].image: \"ghcr.io/acme/api\" has no tag or digest: environments could run different code; pin a tag or digest, e.g. \"ghcr.io/acme/api:1.4.2\"", ""},
	{"image missing", clusterYAML + "  shoestring:services:\n    - {name: api}\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:services[0].image: is required; give an image with a tag or digest, e.g. \"ghcr.io/acme/api:1.4.2\"", ""},
	{"service name in capitals", clusterYAML + "  shoestring:services:\n    - {name: API, image: \"ghcr.io/acme/api:1.0.0\"}\n",
		"invalid stack configuration: Pulumi.broken.yaml:4: shoestring:services[0].name: \"API\" is not a valid name; use lowercase letters, digits and hyphens, starting and ending with a letter or digit (the object's full name \"API\" may have at most 40 characters)", ""},
	{"port out of range", apiYAML + "      ports: [{name: http, port: 70000}]\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].ports[0].port: \"70000\" is not a port; use 1-65535", ""},
	{"port name too long", apiYAML + "      ports: [{name: http-for-the-public, port: 8080}]\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].ports[0].name: \"http-for-the-public\" is not a port name; use at most 15 lowercase letters, digits and single hyphens, with at least one letter, e.g. \"http\"", ""},
	{"negative replicas", apiYAML + "      replicas: -1\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].replicas: \"-1\" is negative; use 0 or more (default 1)", ""},
	{"replicas as a word", apiYAML + "      replicas: three\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].replicas: \"three\" is not a whole number; write a number such as 3", ""},
	{"relative probe path", apiYAML + "      ports: [{name: http, port: 8080}]\n      readiness: {path: healthz}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].readiness.path: \"healthz\" is not an absolute path; start it with /, e.g. \"/healthz\"", ""},
	{"env name starting with a digit", apiYAML + "      env: {1BAD: x}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].env.1BAD: \"1BAD\" is not an environment variable name; use letters, digits, '_', '-' and '.', not starting with a digit", ""},
	{"secretEnv listed twice", apiYAML + "      secretEnv: [DB_PASSWORD, DB_PASSWORD]\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].secretEnv[1]: \"DB_PASSWORD\" is listed twice; list each secret once", "-"},
	{"waitFor an unknown name", apiYAML + "      waitFor: [mysql]\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].waitFor[0]: \"mysql\" is neither a known backing service or service, host:port, an http:// URL nor a cmd: command; name a backing service or a service with ports, or write \"host:port\", \"http://host[:port]/path\" or \"cmd: <shell command>\" (quoted in YAML)", ""},
	{"waitFor itself", apiYAML + "      ports: [{name: http, port: 8080}]\n      waitFor: [api]\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].waitFor[0]: \"api\" is the service itself: it would never start; remove it", ""},
	{"CronJob schedule", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"61 * * * *\", command: [report]}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].schedule: \"61 * * * *\" has an invalid minute \"61\": end of range (61) above maximum (59): 61; write five fields (minute hour day-of-month month day-of-week), e.g. \"*/15 * * * *\", or a macro: @hourly, @daily, @weekly, @monthly, @yearly", ""},
	{"CronJob time zone", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"@daily\", timeZone: Mars/Olympus, command: [report]}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].timeZone: \"Mars/Olympus\" is not an IANA time zone; use a name such as \"Europe/Berlin\" or \"UTC\"", ""},
	{"CronJob concurrency policy", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"@daily\", concurrencyPolicy: forbid, command: [report]}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].concurrencyPolicy: \"forbid\" is not a concurrency policy; use one of \"Allow\", \"Forbid\", \"Replace\"", ""},
	{"CronJob without a command", apiYAML + "      cronJobs:\n        - {name: report, schedule: \"@daily\"}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].cronJobs[0].command: is empty; give the command to run, e.g. [\"bin/console\", \"app:report\"]", ""},
	{"release Job without when", apiYAML + "      releaseJobs:\n        - {name: migrate, command: [migrate]}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].releaseJobs[0].when: is required: each environment says when its release Jobs run; use one of \"before\", \"after\", \"never\"", ""},
	{"release Job with a wrong when", apiYAML + "      releaseJobs:\n        - {name: migrate, command: [migrate], when: first}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].releaseJobs[0].when: \"first\" is not a release phase; use one of \"before\", \"after\", \"never\"", ""},
	{"worker without a command", apiYAML + "      workers:\n        - {name: queue}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].workers[0].command: is empty: the worker would run the service's own process; give the worker's command, e.g. [\"bin/console\", \"messenger:consume\"]", ""},
	{"backing engine", apiYAML + "  shoestring:backing:\n    - {name: db, engine: oracle}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:backing[0].engine: \"oracle\" is not a supported engine; use one of \"mysql\", \"postgresql\", \"redis\", \"generic\" (generic: any image, with ports)", ""},
	{"external backing without host", apiYAML + "  shoestring:backing:\n    - {name: db, engine: mysql, mode: external}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:backing[0].host: is required when mode is \"external\"; give the database's host name or IP address", ""},
	{"in-cluster backing with a host", apiYAML + "  shoestring:backing:\n    - {name: db, engine: mysql, host: db.example.com}\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:backing[0].host: \"db.example.com\" is only for mode \"external\"; remove it, or set mode: external", ""},
	{"namespace default", apiYAML + "  shoestring:namespace: default\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:namespace: \"default\" is a namespace Kubernetes owns: this program labels and deletes its namespace; name a namespace of its own, e.g. \"apps\" (the default)", ""},
	{"pod security level", apiYAML + "  shoestring:podSecurity: {enforce: strict}\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:podSecurity.enforce: \"strict\" is not a Pod Security level; use one of \"restricted\", \"baseline\", \"privileged\"", ""},
	{"batch API version", apiYAML + "  shoestring:batchApiVersion: batch/v2\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:batchApiVersion: \"batch/v2\" is not a CronJob API version; use one of \"batch/v1\", \"batch/v1beta1\" (batch/v1beta1 only for clusters older than Kubernetes 1.21)", ""},
	{"nested key typo", apiYAML + "      replica: 2\n",
		"invalid stack configuration: Pulumi.broken.yaml:6: shoestring:services[0].replica: is not a known key; did you mean \"replicas\"? accepted keys here: args, autoscaling, command, cronJobs, disruptionBudget, env, image, liveness, name, networkPolicy, ports, readiness, releaseJobs, replicas, resources, routes, secretEnv, security, spread, waitFor, workers, writablePaths", ""},
	{"top-level key typo", clusterYAML + "  shoestring:service: []\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestring:service: is not a known key; did you mean \"shoestring:services\"? accepted keys here: shoestring:backing, shoestring:batchApiVersion, shoestring:billing, shoestring:cluster, shoestring:commonEnv, shoestring:commonSecretEnv, shoestring:devMode, shoestring:dns, shoestring:dnssync, shoestring:edge, shoestring:imagePullSecrets, shoestring:localDev, shoestring:namespace, shoestring:networkPolicy, shoestring:overrides, shoestring:playground, shoestring:podSecurity, shoestring:registry, shoestring:replace, shoestring:secrets, shoestring:services, shoestring:storageClass, shoestring:waitForImage", ""},
	{"route host in capitals", apiYAML + "      ports: [{name: http, port: 8080}]\n      routes: [{host: API.example.com}]\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:services[0].routes[0].host: \"API.example.com\" has upper-case letters; use a lowercase RFC 1123 host name such as \"shop.example.com\", or \"*.example.com\" for every subdomain", ""},
	{"DNS ttl", clusterYAML + "  shoestring:dns: {ttl: 30}\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestring:dns.ttl: \"30\" is out of range; use 60 to 86400 seconds, or 1 for automatic (default 120)", ""},
	{"dev mode not allowed", apiYAML + "  shoestring:devMode:\n    services: [{name: api}]\n",
		"invalid stack configuration: Pulumi.broken.yaml:7: shoestring:devMode.services: \"api\" dev mode is forbidden in this stack (devMode.allowed is false); remove devMode.services from this stack; dev mode runs only where the stack file sets devMode.allowed: true (dev, sandbox, playgrounds)", ""},
	{"cluster mode", "  shoestring:cluster: {mode: eks}\n",
		"invalid stack configuration: Pulumi.broken.yaml:2: shoestring:cluster.mode: \"eks\" is not a cluster mode; use one of \"gke\", \"existing\"", ""},
	{"services not a list", clusterYAML + "  shoestring:services: api\n",
		"invalid stack configuration: Pulumi.broken.yaml:3: shoestring:services: \"api\" is not a structured value; write it as a YAML mapping or list in the stack file", ""},
	{"machine type", gkeYAML + "      machineType: f1-micro\n",
		"invalid stack configuration: Pulumi.broken.yaml:5: shoestring:cluster.gke.machineType: \"f1-micro\" GKE rejects it for node pools: not supported due to insufficient memory; use \"e2-micro\", the cheapest type GKE accepts, or \"e2-small\" (the default)", ""},
}

// engineConfig is what the Go language host passes for a stack file (PULUMI_CONFIG): the engine
// reads the file with yaml.v3, passes top-level scalars as strings and structured values as JSON,
// and decrypts secrets (here: placeholders).
func engineConfig(t *testing.T, body string) (map[string]string, []string) {
	var f struct {
		Config map[string]any `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal([]byte("config:\n"+body), &f))
	raw := map[string]string{}
	var secret []string
	for k, v := range f.Config {
		v, s := replaceSecureForTest(v)
		if s {
			secret = append(secret, k)
		}
		switch v.(type) {
		case map[string]any, []any, nil:
			b, err := json.Marshal(v)
			require.NoError(t, err)
			raw[k] = string(b)
		default:
			raw[k] = fmt.Sprint(v)
		}
	}
	return raw, secret
}

func replaceSecureForTest(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["secure"]; ok && len(t) == 1 {
			return SecretPlaceholder, true
		}
		found := false
		for k, item := range t {
			var s bool
			t[k], s = replaceSecureForTest(item)
			found = found || s
		}
		return t, found
	case []any:
		found := false
		for i, item := range t {
			var s bool
			t[i], s = replaceSecureForTest(item)
			found = found || s
		}
		return t, found
	}
	return v, false
}

// locationRe is the file and line a message from files starts a problem with.
var locationRe = regexp.MustCompile(`Pulumi(\.[\w-]+)?\.yaml:\d+: `)

// withoutLocations is a message without the files and lines of its problems: what the same values
// get from Parse, which sees no file.
func withoutLocations(msg string) string { return locationRe.ReplaceAllString(msg, "") }

func loadBroken(t *testing.T, body string) error {
	path := filepath.Join(t.TempDir(), "Pulumi.broken.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n"+body), 0o644))
	_, err := LoadStackFile(path)
	return err
}

func TestBrokenStackFiles(t *testing.T) {
	require.GreaterOrEqual(t, len(brokenFiles), 60)
	parsed := 0
	for _, tc := range brokenFiles {
		t.Run(tc.name, func(t *testing.T) {
			err := loadBroken(t, tc.yaml)
			// PRINT_BROKEN shows every message (to write a new case's want); the checks still run.
			if os.Getenv("PRINT_BROKEN") != "" {
				fmt.Printf("FILE %s\n%v\n", tc.name, err)
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			if tc.parse == "-" {
				return
			}
			parsed++
			raw, secret := engineConfig(t, tc.yaml)
			_, _, err = ParseWithPlaceholders(raw, secret)
			want := tc.parse
			if want == "" {
				want = withoutLocations(tc.want)
			}
			if os.Getenv("PRINT_BROKEN") != "" {
				fmt.Printf("PARSE %s\n%v\n", tc.name, err)
			}
			require.Error(t, err)
			assert.Equal(t, want, err.Error())
		})
	}
	assert.GreaterOrEqual(t, parsed, 30, "a good share also goes through the language host's path")
}

func TestOneFileWithSeveralProblemsReportsThemAll(t *testing.T) {
	err := loadBroken(t, `  shoestring:cluster:
    gke:
      zone: us-central1
      nodeCount: 40
  shoestrng:namespace: apps
  shoestring:commonEnv:
    FLAG: NO
    FLAG: "yes"
  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:latest
      replicas: 100000
      imagee: x
      env: {UMASK: 0755}
  shoestring:secrets:
    ap: {DB_PASSWORD: {secure: v1:abc}}
`)
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (9 problems):
  - Pulumi.broken.yaml:14: shoestring:services[0].imagee: is not a known key; did you mean "image"? accepted keys here: args, autoscaling, command, cronJobs, disruptionBudget, env, image, liveness, name, networkPolicy, ports, readiness, releaseJobs, replicas, resources, routes, secretEnv, security, spread, waitFor, workers, writablePaths
  - Pulumi.broken.yaml:6: shoestrng:namespace: is not in the shoestring namespace, so the program would never read it; did you mean "shoestring:namespace"? rename the key
  - Pulumi.broken.yaml:5: shoestring:cluster.gke.nodeCount: "40" is out of range; use 1 to 10 nodes (3 is the default; more is not the cheap cluster this program makes)
  - Pulumi.broken.yaml:4: shoestring:cluster.gke.zone: "us-central1" is a region: a regional cluster's management fee is not covered by the free tier; name one zone of it, such as "us-central1-a"
  - Pulumi.broken.yaml:9: shoestring:commonEnv.FLAG: is given twice in the same mapping (lines 8 and 9): YAML keeps only the last one; remove one of them
  - Pulumi.broken.yaml:17: shoestring:secrets.ap: matches no service, backing service or other section's group, so no pod would receive its values; did you mean "api"? the groups that exist: "api", "dns-sync", "edge"
  - Pulumi.broken.yaml:15: shoestring:services[0].env.UMASK: "0755" is read as the number 493 by YAML; quote it: "0755"
  - Pulumi.broken.yaml:12: shoestring:services[0].image: "ghcr.io/acme/api:latest" uses the moving tag latest: environments could run different code; pin a release tag or a digest
  - Pulumi.broken.yaml:13: shoestring:services[0].replicas: "100000" is above 50 replicas, more than this product's cluster of at most 10 small nodes runs; use 0 to 50 (default 1)`, err.Error())
}

func TestWhatStaysValid(t *testing.T) {
	for name, body := range map[string]string{
		"a cluster-only stack": gkeYAML + "  shoestring:dnssync: {enabled: false}\n",
		"providers' namespaces": gkeYAML + "  gcp:project: acme\n  kubernetes:context: kind\n  cloudflare:apiToken: {secure: v1:abc}\n" +
			"  pulumi:tags: {team: web}\n  shoestring-ops:owner: me\n",
		"quoted text and numbers where numbers may be": apiYAML + "      ports: [{name: http, port: 8080}]\n      readiness: {port: 8080}\n" +
			"      routes: [{host: api.example.com, port: 8080}]\n      env: {FLAG: \"NO\", UMASK: '0755', VERSION: \"2.10\", EMPTY: \"\", MODE: prod}\n" +
			"      command: [sleep, \"10\"]\n",
		"a merge key": apiYAML + "      env:\n        <<: {A: \"1\", B: \"2\"}\n        B: \"3\"\n",
		"an anchor":   apiYAML + "      env: &env {A: x}\n      workers:\n        - {name: queue, command: [consume], replicas: 2}\n  shoestring:commonEnv: *env\n",
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, loadBroken(t, body))
		})
	}
}

func TestMergeKeysAreReadLikeTheEngine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n"+apiYAML+"      env:\n        <<: {A: \"1\", B: \"2\"}\n        B: \"3\"\n"), 0o644))
	cfg, err := LoadStackFile(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1", "B": "3"}, cfg.Services[0].Env)
}

func TestSecretLookingNamesUnderPlainEnvAreWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n"+clusterYAML+`  shoestring:commonEnv: {APP_SECRET: x, KEYBOARD_LAYOUT: de, TOKENIZER: z}
  shoestring:backing:
    - {name: db, engine: mysql, env: {MYSQL_PASSWORD: x}}
  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:1.0.0
      env: {stripe-api-key: x, DB_PASSWORD_FILE: /run/db, AWS_ACCESS_KEY_ID: AKIA, GITHUB_TOKEN: x}
`), 0o644))
	cfg, err := LoadStackFile(path)
	require.NoError(t, err)
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.Error())
	}
	assert.Equal(t, []string{
		"Pulumi.x.yaml:5: shoestring:backing[0].env.MYSQL_PASSWORD: looks like a secret (PASSWORD) but is plain env, stored in clear in the stack file and a ConfigMap; move it to shoestring:backing[0].secretEnv and set it with `pulumi config set --secret --path 'secrets.db.MYSQL_PASSWORD' <value>`",
		"Pulumi.x.yaml:3: shoestring:commonEnv.APP_SECRET: looks like a secret (SECRET) but is plain env, stored in clear in the stack file and a ConfigMap; move it to the secretEnv of each service that needs it, e.g. shoestring:services[0].secretEnv, and set it with `pulumi config set --secret --path 'secrets.api.APP_SECRET' <value>`",
		"Pulumi.x.yaml:9: shoestring:services[0].env.GITHUB_TOKEN: looks like a secret (TOKEN) but is plain env, stored in clear in the stack file and a ConfigMap; move it to shoestring:services[0].secretEnv and set it with `pulumi config set --secret --path 'secrets.api.GITHUB_TOKEN' <value>`",
		"Pulumi.x.yaml:9: shoestring:services[0].env.stripe-api-key: looks like a secret (KEY) but is plain env, stored in clear in the stack file and a ConfigMap; move it to shoestring:services[0].secretEnv and set it with `pulumi config set --secret --path 'secrets.api.stripe-api-key' <value>`",
	}, got)
	for _, w := range cfg.Warnings {
		assert.Empty(t, w.Value, "a value that may be a secret is never printed")
	}
}

func TestReadStackFileRefusesWhatOnlyTheFileShows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n"+clusterYAML+"  gcp:project: a\n  gcp:project: b\n"), 0o644))
	_, _, err := ReadStackFile(path)
	require.Error(t, err)
	assert.Equal(t, "invalid stack configuration: gcp:project: is given twice in the same mapping (lines 3 and 4): YAML keeps only the last one; remove one of them", err.Error())
}

func TestTheLastOfTwoKeysIsTheOneChecked(t *testing.T) {
	err := loadBroken(t, apiYAML+"      env: {FLAG: NO}\n      env: {FLAG: \"NO\"}\n      replicas: 0755\n      replicas: 2\n")
	require.Error(t, err)
	assert.Equal(t, `invalid stack configuration (2 problems):
  - Pulumi.broken.yaml:7: shoestring:services[0].env: is given twice in the same mapping (lines 6 and 7): YAML keeps only the last one; remove one of them
  - Pulumi.broken.yaml:9: shoestring:services[0].replicas: is given twice in the same mapping (lines 8 and 9): YAML keeps only the last one; remove one of them`, err.Error())
}
