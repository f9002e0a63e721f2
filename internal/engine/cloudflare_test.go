package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/localimages"
)

func TestWorkFileKeepsDNSSyncOnAgainstACloudflareDouble(t *testing.T) {
	dir := project(t, "sandbox", `config:
  shoestring:cluster:
    gke: {zone: europe-west1-b, machineType: e2-small}
  shoestring:dns: {zone: example.com, zoneId: 023e105f4ecef8ad9ca31a8372d0c353, name: k.example.com, aliases: [www], ttl: 1, proxied: true}
  shoestring:dnssync: {enabled: true, image: "ghcr.io/acme/dnssync:1.0.0", replicas: 2, nodeSelector: role=edge}
  shoestring:edge: {certificateSecret: edge-tls, certificate: {source: originCA}, playgrounds: {domain: example.com, gatewayService: api}}
`)
	work := filepath.Join(t.TempDir(), "Pulumi.sandbox.yaml")
	to := retarget{kubeconfig: "/tmp/k", cloudflare: "http://127.0.0.1:8443/client/v4/", dnssyncImage: "shoestring.local/dnssync:dev"}
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.sandbox.yaml"), work, dir, to, nil))
	cfg := readYAML(t, work)["config"].(map[string]any)
	assert.Equal(t, map[string]any{"enabled": true, "image": "shoestring.local/dnssync:dev", "replicas": float64(2), "nodeSelector": "role=edge",
		"apiBaseUrl": "http://127.0.0.1:8443/client/v4/"}, cfg["shoestring:dnssync"], "the stack's controller settings, writing to the double")
	assert.Equal(t, map[string]any{"zone": "example.com", "name": "k.example.com", "ttl": float64(1), "proxied": true}, cfg["shoestring:dns"],
		"no zone id (the double makes its own) and no aliases (Pulumi's Cloudflare records)")
	assert.Equal(t, map[string]any{}, cfg["shoestring:edge"], "no playgrounds' wildcard record, no Origin CA certificate")

	// The playgrounds of a domain outside the zone need no record: their routing stays.
	dir = project(t, "prod", `config:
  shoestring:dns: {zone: example.com, name: k.example.com}
  shoestring:dnssync: {enabled: true}
  shoestring:edge: {playgrounds: {domain: play.example.net}}
`)
	work = filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.prod.yaml"), work, dir, to, nil))
	cfg = readYAML(t, work)["config"].(map[string]any)
	assert.Equal(t, map[string]any{"playgrounds": map[string]any{"domain": "play.example.net"}}, cfg["shoestring:edge"])

	// A stack without DNS sync stays without it.
	dir = project(t, "dev", `config:
  shoestring:dnssync: {enabled: false}
`)
	work = filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	require.NoError(t, writeWorkFile(filepath.Join(dir, "Pulumi.dev.yaml"), work, dir, to, nil))
	assert.Equal(t, map[string]any{"enabled": false}, readYAML(t, work)["config"].(map[string]any)["shoestring:dnssync"])
}

func TestCloudflareAPIMustBeOnThisMachine(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string // "" accepts
	}{
		{Options{ExistingCluster: "/k", CloudflareAPI: "http://127.0.0.1:1/client/v4/"}, ""},
		{Options{ExistingCluster: "/k", CloudflareAPI: "http://[::1]:1/client/v4/"}, ""},
		{Options{ExistingCluster: "/k", CloudflareAPI: "https://api.cloudflare.com/client/v4/"}, `names the host "api.cloudflare.com"`},
		{Options{ExistingCluster: "/k", CloudflareAPI: "http://104.16.132.229/client/v4/"}, "is not an address of this machine"},
		{Options{ExistingCluster: "/k", CloudflareAPI: "ftp://127.0.0.1/"}, "is not an http(s) URL"},
		{Options{CloudflareAPI: "http://127.0.0.1:1/"}, "applies to a stack retargeted with ExistingCluster"},
		{Options{ExistingCluster: "/k", RenderTo: "/out", CloudflareAPI: "http://127.0.0.1:1/"}, "applies to a stack retargeted with ExistingCluster"},
		{Options{ExistingCluster: "/k", DNSSyncImage: "x:1"}, "only used with CloudflareAPI"},
	} {
		opts := tc.opts
		err := checkCloudflareAPI(&opts)
		if tc.want == "" {
			require.NoError(t, err, "%+v", tc.opts)
			assert.Equal(t, localimages.DNSSync, opts.DNSSyncImage, "the image built here by default")
			continue
		}
		require.Error(t, err, "%+v", tc.opts)
		assert.Contains(t, err.Error(), tc.want)
		assert.Contains(t, err.Error(), tc.opts.CloudflareAPI+tc.opts.DNSSyncImage, "the message names the value")
	}
}

func TestOpenRefusesACloudflareAPIOffThisMachineBeforeAnythingRuns(t *testing.T) {
	dir := project(t, "sandbox", "config: {}\n")
	state := t.TempDir()
	_, err := Open(context.Background(), Options{ProjectDir: dir, Stack: "sandbox", StateDir: state, Program: noProgram,
		ExistingCluster: "/k", CloudflareAPI: "https://api.cloudflare.com/client/v4/"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CloudflareAPI")
	assert.NoDirExists(t, filepath.Join(state, "work"))
}
