package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/stacks"
)

func TestEdgeConfPrintsTheDeployedConfig(t *testing.T) {
	path := filepath.Join("..", "..", "Pulumi.sandbox.yaml")
	var out bytes.Buffer
	require.NoError(t, edgeConf([]string{"--file", path}, &out))
	cfg, err := stacks.LoadStackFile(path)
	require.NoError(t, err)
	want, err := edge.Conf(program.EdgeArgs(cfg))
	require.NoError(t, err)
	assert.Equal(t, want, out.String())
	assert.Contains(t, out.String(), "listen 443 ssl", "sandbox has a certificate")
}

func TestEdgeConfNamesTheBadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n  shoestring:cluster:\n    mode: existing\n    existing: {kubeconfig: x}\n  shoestring:edge:\n    readTimeout: soon\n"), 0o644))
	err := edgeConf([]string{"--file", path}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:edge.readTimeout: "soon" is not an nginx duration`)
}
