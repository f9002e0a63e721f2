package lifecycle

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/stacks"
)

// toolsRoot is the folder whose bin/pulumi scripts/tools.sh builds.
func toolsRoot(t *testing.T) string {
	t.Helper()
	root := os.Getenv("SHOESTRING_TOOLS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "shoestring", "tools")
	}
	if os.Getenv("SHOESTRING_E2E") == "" {
		t.Skip("stack-lifecycle test with the real Pulumi CLI: run `make test` (SHOESTRING_E2E=1)")
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "pulumi")); err != nil {
		t.Fatalf("the Pulumi CLI is missing at %s/bin/pulumi: run scripts/tools.sh pulumi", root)
	}
	return root
}

const baseStackFile = `config:
  shoestring:namespace: shop
  shoestring:cluster:
    mode: existing
    existing:
      kubeconfig: /dev/null
  shoestring:playground:
    maxAge: 7d
  shoestring:edge:
    playgrounds:
      domain: play.example.com
  shoestring:devMode:
    allowed: true
  shoestring:services:
    - name: gateway
      image: example/gateway:1.0
      ports: [{name: http, port: 8080}]
    - name: users
      image: example/users:1.0
      ports: [{name: http, port: 8080}]
    - name: orders
      image: example/orders:1.0
      ports: [{name: http, port: 8080}]
`

// testProgram is what the lifecycle test deploys: the real config validation (stacks.Parse of the
// config the playground stack was given) and the playground record, but no provider resource (the
// machine has no provider plugins).
func testProgram(cfg map[string]playground.ConfigEntry) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		raw, secret := playground.RawConfig(cfg)
		c, err := stacks.Parse(raw, secret)
		if err != nil {
			return err
		}
		var names []string
		for _, s := range c.Services {
			names = append(names, s.Name)
		}
		p := c.Playground
		created, _ := time.Parse(time.RFC3339, p.Created)
		stacks.PlaygroundRecord{Branch: p.Branch, Namespace: c.Namespace, Host: c.PlaygroundHost(), Created: created}.Export(ctx)
		ctx.Export("services", pulumi.ToStringArray(names))
		ctx.Export("searchDomains", pulumi.ToStringArray(c.PlaygroundSearchDomains()))
		ctx.Export("usersSecretIsSecret", pulumi.Bool(secret != nil && strings.Contains(strings.Join(secret, ","), "shoestring:secrets")))
		return nil
	}
}

// TestLifecycleWithThePulumiCLI creates, updates, lists, reaps and removes playground stacks with
// the real CLI and a local file backend, and checks that base stacks are never touched.
func TestLifecycleWithThePulumiCLI(t *testing.T) {
	root := toolsRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	tmp := t.TempDir()
	project := filepath.Join(tmp, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "state"), 0o755))
	require.NoError(t, os.MkdirAll(project, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: shoestring\nruntime: go\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.sandbox.yaml"), []byte(baseStackFile), 0o644))
	env := map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + filepath.Join(tmp, "state"),
		"PULUMI_CONFIG_PASSPHRASE": "lifecycle-test",
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		"PULUMI_HOME":              filepath.Join(tmp, "pulumi-home"),
	}
	m, err := New(Options{ProjectDir: project, Program: testProgram, PulumiRoot: root, Env: env})
	require.NoError(t, err)
	cli := func(args ...string) {
		t.Helper()
		out, stderr, _, err := m.cmd.Run(ctx, project, nil, nil, nil, m.env(), append(args, "--non-interactive")...)
		require.NoError(t, err, "pulumi %v: %s %s", args, out, stderr)
	}
	// The base stack, with a secret, and a hand-made stack that only looks like a playground.
	cli("stack", "init", "sandbox")
	cli("config", "set", "--secret", "--path", "shoestring:secrets.users.DB_PASSWORD", "s3cret", "--stack", "sandbox")
	cli("stack", "init", "play-handmade")

	name, err := stacks.PlaygroundForBranch("play/Faster_Users")
	require.NoError(t, err)
	first := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	res, err := m.Up(ctx, "sandbox", playground.Spec{Name: name, Changed: []string{"users"}, Kubeconfig: "/tmp/kubeconfig", Created: first})
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway", "users"}, res.Services)
	assert.Equal(t, []any{"gateway", "users"}, res.Outputs["services"].Value, "only the changed services and the gateway")
	assert.Equal(t, []any{"shop.svc.cluster.local"}, res.Outputs["searchDomains"].Value)
	assert.Equal(t, true, res.Outputs["usersSecretIsSecret"].Value, "the base stack's secret reaches the playground as a secret")
	rec, err := stacks.ParsePlaygroundRecord(res.Outputs[stacks.PlaygroundOutputKey].Value)
	require.NoError(t, err)
	assert.Equal(t, stacks.PlaygroundRecord{Branch: "play/Faster_Users", Namespace: "play-faster-users", Host: "faster-users.play.example.com", Created: first}, rec)
	_, err = os.Stat(filepath.Join(project, "Pulumi.play-faster-users.yaml"))
	assert.True(t, os.IsNotExist(err), "playground stack files stay out of the repository")

	// Another branch with the same names is refused; the same branch again updates and keeps its age.
	other, _ := stacks.PlaygroundForBranch("play/faster-users")
	_, err = m.Up(ctx, "sandbox", playground.Spec{Name: other, Kubeconfig: "/tmp/kubeconfig", Created: time.Now()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `already belongs to branch "play/Faster_Users"`)
	res, err = m.Up(ctx, "sandbox", playground.Spec{Name: name, Changed: []string{"users", "orders"}, Kubeconfig: "/tmp/kubeconfig", Created: time.Now()})
	require.NoError(t, err)
	assert.Equal(t, []any{"gateway", "users", "orders"}, res.Outputs["services"].Value)
	rec, _ = stacks.ParsePlaygroundRecord(res.Outputs[stacks.PlaygroundOutputKey].Value)
	assert.Equal(t, first, rec.Created, "an update keeps the creation time")

	list, err := m.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2, "sandbox is not a playground: %+v", list)
	assert.Equal(t, "play-faster-users", list[0].Name)
	assert.Equal(t, "play/Faster_Users", list[0].Branch)
	assert.Equal(t, first, list[0].Created)
	assert.Equal(t, "play-handmade", list[1].Name)
	assert.Empty(t, list[1].Branch)

	// Base stacks are refused by name.
	assert.ErrorContains(t, m.Down(ctx, "sandbox"), "not a playground stack")

	// The branch is gone: the reaper removes its playground, keeps the hand-made stack and never
	// looks at sandbox.
	removed, kept, err := m.Reap(ctx, map[string]bool{"main": true}, 7*24*time.Hour, time.Now(), false)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	assert.Equal(t, "play-faster-users", removed[0].Stack)
	require.Len(t, kept, 1)
	assert.Equal(t, "play-handmade", kept[0].Stack)

	list, err = m.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "play-handmade", list[0].Name)
	out, _, _, err := m.cmd.Run(ctx, project, nil, nil, nil, m.env(), "stack", "ls", "--json", "--non-interactive")
	require.NoError(t, err)
	assert.Contains(t, out, `"sandbox"`, "the base stack survives the reaper")

	err = m.Down(ctx, "play-faster-users")
	assert.ErrorContains(t, err, "does not exist")
	assert.ErrorIs(t, err, ErrNoSuchPlayground)
}
