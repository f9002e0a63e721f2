package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func noProgram(*pulumi.Context) error { return nil }

// project writes a project folder with Pulumi.yaml and one stack file.
func project(t *testing.T, stack, file string) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: shoestring\nruntime: go\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(file), 0o644))
	return dir
}

func readYAML(t *testing.T, path string) map[string]any {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(b, &m))
	return m
}

func TestWorkFileKeepsTheUsersConfigAndTheLocalSecrets(t *testing.T) {
	user := `config:
  shoestring:cluster:
    mode: existing
    existing: {kubeconfig: .state/cluster/kubeconfig}
  shoestring:commonEnv: {APP_ENV: dev}
  shoestring:secrets:
    api:
      TEAM_KEY: {secure: v1:team-kms-ciphertext}
`
	dir := project(t, "dev", user)
	work := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	// A previous work copy: its salt and a generated secret are kept; its stale plain keys are not.
	prev := `encryptionsalt: v1:salt
config:
  shoestring:commonEnv: {APP_ENV: old}
  shoestring:secrets:
    api: {DB_PASSWORD: {secure: v1:local-ciphertext}}
    gone: {X: plain}
`
	require.NoError(t, os.WriteFile(work, []byte(prev), 0o600))
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.dev.yaml"), work, dir, retarget{}, nil))

	got := readYAML(t, work)
	assert.Equal(t, "v1:salt", got["encryptionsalt"])
	cfg := got["config"].(map[string]any)
	assert.Equal(t, map[string]any{"APP_ENV": "dev"}, cfg["shoestring:commonEnv"], "the user's file wins")
	assert.Equal(t, filepath.Join(dir, ".state/cluster/kubeconfig"),
		cfg["shoestring:cluster"].(map[string]any)["existing"].(map[string]any)["kubeconfig"], "relative to the project folder")
	assert.Equal(t, map[string]any{"api": map[string]any{"DB_PASSWORD": map[string]any{"secure": "v1:local-ciphertext"}}},
		cfg["shoestring:secrets"], "the team's ciphertext is left out (this passphrase cannot read it); the generated one is kept")

	b, err := os.ReadFile(filepath.Join(dir, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	assert.Equal(t, user, string(b), "the user's stack file is never written")
}

func TestWorkFileRetargetsAStackAtAnExistingCluster(t *testing.T) {
	dir := project(t, "sandbox", `config:
  gcp:project: acme
  shoestring:cluster:
    gke: {zone: europe-west1-b, machineType: e2-small}
  shoestring:dns: {zone: example.com, name: sandbox.example.com, aliases: [www]}
  shoestring:dnssync: {enabled: true, replicas: 2}
  shoestring:edge: {certificateSecret: edge-tls, certificate: {source: originCA}, healthPort: 10255}
`)
	work := filepath.Join(t.TempDir(), "Pulumi.sandbox.yaml")
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.sandbox.yaml"), work, dir, retarget{kubeconfig: "/tmp/kind.kubeconfig"}, nil))
	cfg := readYAML(t, work)["config"].(map[string]any)
	assert.Equal(t, map[string]any{"mode": "existing", "existing": map[string]any{"kubeconfig": "/tmp/kind.kubeconfig"}}, cfg["shoestring:cluster"])
	assert.Equal(t, map[string]any{"enabled": false, "replicas": float64(2)}, cfg["shoestring:dnssync"], "no controller rewriting the real name")
	assert.Equal(t, map[string]any{"zone": "example.com", "name": "sandbox.example.com"}, cfg["shoestring:dns"], "no alias records")
	assert.Equal(t, map[string]any{"healthPort": float64(10255)}, cfg["shoestring:edge"], "no Origin CA certificate: the copy serves HTTP")
}

func TestWorkFileForARender(t *testing.T) {
	dir := project(t, "prod", `config:
  shoestring:cluster:
    gke: {zone: europe-west1-b}
  shoestring:dnssync: {enabled: true}
`)
	work := filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.prod.yaml"), work, dir, retarget{renderTo: "/tmp/out"}, nil))
	cfg := readYAML(t, work)["config"].(map[string]any)
	assert.Equal(t, map[string]any{"mode": "existing", "existing": map[string]any{"renderTo": "/tmp/out"}}, cfg["shoestring:cluster"])
	assert.Equal(t, map[string]any{"enabled": false}, cfg["shoestring:dnssync"], "a render talks to no Cloudflare either")
}

func TestOpenRefusesABrokenStackFileBeforeAnythingRuns(t *testing.T) {
	dir := project(t, "dev", `config:
  shoestring:cluster:
    mode: existing
    existing: {kubeconfig: /nonexistent}
  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:latest
`)
	state := t.TempDir()
	_, err := Open(context.Background(), Options{ProjectDir: dir, Stack: "dev", StateDir: state, Program: noProgram})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:services[0].image")
	assert.Contains(t, err.Error(), "ghcr.io/acme/api:latest")
	_, statErr := os.Stat(filepath.Join(state, "backend"))
	assert.True(t, errors.Is(statErr, os.ErrNotExist), "no backend was touched")
}

func TestOpenSaysInOneLineThatTheClusterIsNotRunning(t *testing.T) {
	dir := project(t, "dev", `config:
  shoestring:cluster:
    mode: existing
    existing: {kubeconfig: .state/cluster/kubeconfig}
`)
	kc := filepath.Join(dir, ".state", "cluster", "kubeconfig")
	require.NoError(t, os.MkdirAll(filepath.Dir(kc), 0o755))
	// A kubeconfig whose apiserver is gone (a port nothing listens on).
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: admin, user: {token: x}}]
contexts: [{name: local, context: {cluster: local, user: admin}}]
current-context: local
`), 0o600))
	_, err := Open(context.Background(), Options{ProjectDir: dir, Stack: "dev", StateDir: t.TempDir(), Program: noProgram})
	require.ErrorIs(t, err, ErrClusterDown)
	assert.Contains(t, err.Error(), "make cluster-up")
	assert.NotContains(t, err.Error(), "\n", "one line")
}

func TestOpenNamesAStackFileThatDoesNotExist(t *testing.T) {
	dir := project(t, "dev", "config: {}\n")
	_, err := Open(context.Background(), Options{ProjectDir: dir, Stack: "staging", StateDir: t.TempDir(), Program: noProgram})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Pulumi.staging.yaml")
}

func TestMissingPluginsErrorSaysWhatToDo(t *testing.T) {
	err := &MissingPluginsError{Stack: "sandbox", Missing: []string{"gcp v7.38.0"}}
	msg := err.Error()
	assert.Contains(t, msg, "gcp v7.38.0")
	assert.Contains(t, msg, "pulumi plugin install resource gcp v7.38.0")
	assert.Contains(t, msg, "--existing-cluster")
	assert.False(t, strings.Contains(msg, "kubernetes-provider"), "only the kubernetes plugin is built here")
}

func TestSecretPathQuotesGroupsWithDashes(t *testing.T) {
	assert.Equal(t, `shoestring:secrets["dns-sync"]["TOKEN"]`, secretPath("shoestring:secrets.dns-sync.TOKEN"))
}

func TestKubernetesIDOfAPendingCreate(t *testing.T) {
	meta := func(ns string) map[string]any {
		m := map[string]any{"name": "api"}
		if ns != "" {
			m["namespace"] = ns
		}
		return map[string]any{"metadata": m}
	}
	assert.Equal(t, "apps/api", kubernetesID("kubernetes:apps/v1:Deployment", meta("apps")))
	assert.Equal(t, "api", kubernetesID("kubernetes:core/v1:Namespace", meta("")))
	assert.Equal(t, "", kubernetesID("gcp:container/cluster:Cluster", meta("apps")))
	assert.Equal(t, "", kubernetesID("kubernetes:core/v1:ConfigMap", map[string]any{}))
}

func TestWorkFileLeavesARemovedServicesGeneratedSecretsBehind(t *testing.T) {
	dir := project(t, "dev", `config:
  shoestring:cluster: {mode: existing, existing: {kubeconfig: /k}}
  shoestring:commonEnv: {FLAG: "NO"}
`)
	work := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	require.NoError(t, os.WriteFile(work, []byte(`encryptionsalt: v1:salt
config:
  shoestring:secrets:
    api: {DB_PASSWORD: {secure: v1:a}}
    gone: {DB_PASSWORD: {secure: v1:b}}
`), 0o600))
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.dev.yaml"), work, dir, retarget{}, []string{"api", "dns-sync", "edge"}))
	cfg := readYAML(t, work)["config"].(map[string]any)
	assert.Equal(t, map[string]any{"api": map[string]any{"DB_PASSWORD": map[string]any{"secure": "v1:a"}}}, cfg["shoestring:secrets"])
	assert.Equal(t, map[string]any{"FLAG": "NO"}, cfg["shoestring:commonEnv"], "the copy keeps the text: a YAML 1.1 reader made it false")
}

func TestOpenRefusesWhatOnlyTheUsersFileShows(t *testing.T) {
	dir := project(t, "dev", `config:
  shoestring:cluster:
    mode: existing
    existing: {kubeconfig: /nonexistent}
  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:1.0.0
      env: {UMASK: 0755}
      env: {UMASK: "0755"}
`)
	_, err := Open(context.Background(), Options{ProjectDir: dir, Stack: "dev", StateDir: t.TempDir(), Program: noProgram})
	require.Error(t, err)
	assert.Equal(t, "Pulumi.dev.yaml: invalid stack configuration: Pulumi.dev.yaml:9: shoestring:services[0].env: is given twice in the same mapping (lines 8 and 9): YAML keeps only the last one; remove one of them", err.Error())
}
