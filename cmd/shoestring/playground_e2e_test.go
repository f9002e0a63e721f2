package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureStdout runs f with os.Stdout going to a buffer.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { var b bytes.Buffer; _, _ = io.Copy(&b, r); done <- b.String() }()
	f()
	os.Stdout = saved
	w.Close()
	return <-done
}

// TestPlaygroundCLIWithThePulumiCLI drives the subcommands' wiring (flags, backend from the
// environment, base stack file) against a file backend holding a base stack and a stack that only
// looks like a playground: list shows the latter alone, reap keeps it and never touches the base.
func TestPlaygroundCLIWithThePulumiCLI(t *testing.T) {
	if os.Getenv("SHOESTRING_E2E") == "" {
		t.Skip("needs the Pulumi CLI: run `make test` (SHOESTRING_E2E=1)")
	}
	root := toolsDir()
	pulumiBin := filepath.Join(root, "bin", "pulumi")
	if _, err := os.Stat(pulumiBin); err != nil {
		t.Fatalf("the Pulumi CLI is missing at %s: run scripts/tools.sh pulumi", pulumiBin)
	}
	tmp := t.TempDir()
	project := filepath.Join(tmp, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "state"), 0o755))
	require.NoError(t, os.MkdirAll(project, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: shoestring\nruntime: go\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.sandbox.yaml"), []byte("config:\n  shoestring:cluster:\n    gke:\n      zone: us-central1-a\n  shoestring:playground:\n    maxAge: 3d\n"), 0o644))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(tmp, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "cli-test")
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_HOME", filepath.Join(tmp, "pulumi-home"))
	for _, stack := range []string{"sandbox", "play-demo"} {
		cmd := exec.Command(pulumiBin, "stack", "init", stack, "--non-interactive")
		cmd.Dir = project
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	common := []string{"--project", project, "--pulumi-root", root}

	var stderr bytes.Buffer
	out := captureStdout(t, func() {
		assert.Equal(t, 0, run(append([]string{"playground", "list"}, common...), &stderr), stderr.String())
	})
	assert.Contains(t, out, "play-demo")
	assert.Contains(t, out, "(none recorded)")
	assert.NotContains(t, out, "sandbox")

	out = captureStdout(t, func() {
		assert.Equal(t, 0, run(append([]string{"playground", "reap", "--branches", "main"}, common...), &stderr), stderr.String())
	})
	assert.Contains(t, out, "kept play-demo")
	assert.Contains(t, out, "no playground to remove")

	stderr.Reset()
	assert.Equal(t, 0, run(append([]string{"playground", "down", "--stack", "play-gone", "--if-exists"}, common...), &stderr), stderr.String())
	assert.Equal(t, 1, run(append([]string{"playground", "down", "--stack", "play-gone"}, common...), &stderr))
	assert.Contains(t, stderr.String(), "does not exist")
}
