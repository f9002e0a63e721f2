package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verdictProject is a shared definition for the broken stack files below.
const verdictProject = `name: shoestring
runtime: go
config:
  shoestring:commonEnv:
    default: {DB_HOST: mysql, REDIS_HOST: redis}
  shoestring:services:
    default:
      - name: api
        image: ghcr.io/acme/api:1.0.0
        secretEnv: [DB_PASSWORD]
        cronJobs:
          - {name: report, schedule: "0 * * * *", command: [report]}
          - {name: cleanup, schedule: "0 3 * * *", command: [cleanup]}
`

const verdictGKE = "  shoestring:cluster: {gke: {zone: us-central1-a}}\n  shoestring:secrets: {api: {DB_PASSWORD: " + encrypted + "}, checksum: {HMAC_KEY: " + encrypted + "}}\n"

// TestEveryCommandGivesABrokenFileTheSameVerdict runs each broken file through every command that
// reads a stack (cost, render, preview, up, playground up): all stop at the same check, before
// anything is touched, with the same message.
func TestEveryCommandGivesABrokenFileTheSameVerdict(t *testing.T) {
	for name, tc := range map[string]struct{ project, stack, want string }{
		"a stack key that drops shared values": {verdictProject, "config:\n" + verdictGKE + "  shoestring:commonEnv: {APP_ENV: prod}\n",
			"Pulumi.x.yaml: invalid stack configuration: Pulumi.x.yaml:4: shoestring:commonEnv: replaces the value Pulumi.yaml shares as a whole, and leaves out DB_HOST, REDIS_HOST; to change parts of it, remove shoestring:commonEnv from the stack file and write only what differs under shoestring:overrides.commonEnv (named items by name); to mean the whole value, add commonEnv to shoestring:replace"},
		"a named list given whole in an override": {verdictProject, "config:\n" + verdictGKE + "  shoestring:overrides:\n    services: {api: {cronJobs: [{name: report, schedule: \"0 2 * * *\", command: [report]}]}}\n",
			"Pulumi.x.yaml: invalid stack configuration: Pulumi.x.yaml:5: shoestring:overrides.services.api.cronJobs: is a list, which replaces shoestring:services[0].cronJobs as a whole and leaves out cleanup; to change items, write a mapping from name to what changes, e.g. {report: {<field>: <value>}}; to mean the whole list, add services.api.cronJobs to shoestring:replace"},
		"an override that renames": {verdictProject, "config:\n" + verdictGKE + "  shoestring:overrides:\n    services: {api: {cronJobs: {report: {name: kpis}}}}\n",
			"Pulumi.x.yaml: invalid stack configuration: Pulumi.x.yaml:5: shoestring:overrides.services.api.cronJobs.report.name: \"kpis\" renames report, which an override cannot do; remove name: here (the key report is the item's name); to deploy it under another name, rename it in Pulumi.yaml, or give the whole list in this stack with its path in shoestring:replace"},
		"a GKE stack without its secret": {verdictProject, "config:\n  shoestring:cluster: {gke: {zone: us-central1-a}}\n",
			"Pulumi.x.yaml: invalid stack configuration (2 problems):\n  - shoestring:secrets.api.DB_PASSWORD: is referenced but not set; set it with `pulumi config set --secret --path 'secrets.api.DB_PASSWORD' <value>`\n  - shoestring:secrets.checksum.HMAC_KEY: is referenced but not set; set a random key once, e.g. `pulumi config set --secret --path 'secrets.checksum.HMAC_KEY' \"$(openssl rand -hex 32)\"`: it keys the hashes of secret values in pod annotations and release Job names"},
		"a YAML 1.1 boolean in an override": {verdictProject, "config:\n" + verdictGKE + "  shoestring:overrides:\n    commonEnv: {FEATURE_X: NO}\n",
			"Pulumi.x.yaml: invalid stack configuration: Pulumi.x.yaml:5: shoestring:commonEnv.FEATURE_X: \"NO\" is read as a boolean by YAML 1.1 (kubectl and other YAML 1.1 readers); quote it: \"NO\""},
		"overrides in the project file": {verdictProject + "  shoestring:overrides:\n    default: {commonEnv: {APP_ENV: all}}\n", "config:\n" + verdictGKE,
			"Pulumi.x.yaml: invalid stack configuration: Pulumi.yaml:14: shoestring:overrides: is set in Pulumi.yaml, where it would be shadowed by each stack file that sets its own; write the shared value itself in Pulumi.yaml, and shoestring:overrides in each stack file that differs"},
		"secrets in the project file": {verdictProject + "  shoestring:secrets:\n    default: {api: {DB_PASSWORD: hunter2}}\n", "config:\n  shoestring:cluster: {gke: {zone: us-central1-a}}\n",
			"Pulumi.x.yaml: invalid stack configuration: Pulumi.yaml:14: shoestring:secrets: is set in Pulumi.yaml (value withheld), which holds no secret values: they would be committed in plain text and shared by every stack; remove it from Pulumi.yaml and set each value in each stack with `pulumi config set --secret --path 'secrets.<group>.<NAME>' <value>`"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(tc.project), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.x.yaml"), []byte(tc.stack), 0o644))
			for command, err := range everyCommand(t, dir, "x") {
				require.Error(t, err, command)
				assert.Equal(t, tc.want, err.Error(), command)
			}
		})
	}
}

// everyCommand runs each command that reads stack x of dir, with its error by command.
func everyCommand(t *testing.T, dir, stack string) map[string]error {
	t.Helper()
	state := t.TempDir()
	out := filepath.Join(t.TempDir(), "render")
	var discard bytes.Buffer
	return map[string]error{
		"cost":          costOne(io.Discard, filepath.Join(dir, "Pulumi."+stack+".yaml"), false),
		"render":        runRender([]string{"--project", dir, "--stack", stack, "--out", out, "--pulumi-root", t.TempDir()}),
		"preview":       runStack("preview", []string{"--project", dir, "--stack", stack, "--state", state, "--pulumi-root", t.TempDir()}, &discard),
		"up":            runStack("up", []string{"--project", dir, "--stack", stack, "--state", state, "--pulumi-root", t.TempDir()}, &discard),
		"playground up": runPlayground([]string{"up", "--branch", "play/x", "--base", stack, "--project", dir, "--pulumi-root", t.TempDir()}),
	}
}

func TestAMissingFileIsTheOnlyThingSaid(t *testing.T) {
	dir := t.TempDir()
	// The project file is missing: what the stack file lacks without it would be consequences.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.x.yaml"), []byte("config:\n  shoestring:overrides:\n    services: {api: {replicas: 2}}\n"), 0o644))
	err := costOne(io.Discard, filepath.Join(dir, "Pulumi.x.yaml"), false)
	require.Error(t, err)
	assert.Equal(t, "Pulumi.yaml: not found (in "+dir+"): it holds what every stack shares (services, backing services, commonEnv), so Pulumi.x.yaml cannot be checked without it; run from the project folder, or pass the folder that has it", err.Error())

	err = costOne(io.Discard, filepath.Join(dir, "Pulumi.y.yaml"), false)
	require.Error(t, err)
	assert.Equal(t, "Pulumi.y.yaml: not found (in "+dir+"): each stack's settings are in Pulumi.<stack>.yaml beside Pulumi.yaml; pick one of the project's stacks, or create it", err.Error())
}
