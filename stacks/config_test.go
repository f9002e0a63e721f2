package stacks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gke is a valid GKE cluster value that cases below modify.
const gke = `{"gke":{"zone":"us-central1-a"}}`

func TestParseDefaultsAreTheLowCostCluster(t *testing.T) {
	c, err := Parse(map[string]string{"shoestring:cluster": gke}, nil)
	require.NoError(t, err)
	g := c.Cluster.GKE
	assert.Equal(t, ClusterModeGKE, c.Cluster.Mode)
	assert.Equal(t, 3, g.NodeCount)
	assert.Equal(t, 10, g.DiskSizeGB)
	assert.True(t, g.Preemptible())
	assert.False(t, g.Spot())
	assert.Equal(t, "e2-small", g.MachineType)
	assert.Equal(t, []string{"0.0.0.0/0"}, g.FirewallSourceRanges)
	assert.True(t, g.DeletionProtection)
}

func TestParseIgnoresOtherNamespaces(t *testing.T) {
	_, err := Parse(map[string]string{"shoestring:cluster": gke, "gcp:project": "p", "kubernetes:context": "x"}, nil)
	require.NoError(t, err)
}

func TestParseAcceptsNumbersAndBooleansAsStrings(t *testing.T) {
	// `pulumi config set --path cluster.gke.nodeCount 5` stores a string.
	c, err := Parse(map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","nodeCount":"5","deletionProtection":"false"}}`}, nil)
	require.NoError(t, err)
	assert.Equal(t, 5, c.Cluster.GKE.NodeCount)
	assert.False(t, c.Cluster.GKE.DeletionProtection)
}

func TestInvalidConfigurations(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]string
		want string
	}{
		{"f1-micro is rejected by GKE", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","machineType":"f1-micro"}}`},
			`shoestring:cluster.gke.machineType: "f1-micro" GKE rejects it for node pools: not supported due to insufficient memory; use "e2-micro", the cheapest type GKE accepts, or "e2-small" (the default)`},
		{"malformed machine type", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","machineType":"E2 Small"}}`},
			`shoestring:cluster.gke.machineType: "E2 Small" is not a machine type name; use a name such as "e2-small"`},
		{"zone missing", map[string]string{"shoestring:cluster": `{"gke":{}}`},
			`shoestring:cluster.gke.zone: is required; name a zone such as "us-central1-a"`},
		{"region instead of zone", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1"}}`},
			`shoestring:cluster.gke.zone: "us-central1" is a region: a regional cluster's management fee is not covered by the free tier; name one zone of it, such as "us-central1-a"`},
		{"not a zone", map[string]string{"shoestring:cluster": `{"gke":{"zone":"mars-1"}}`},
			`shoestring:cluster.gke.zone: "mars-1" is not a GCP zone; name a zone such as "us-central1-a"`},
		{"zero nodes", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","nodeCount":0}}`},
			`shoestring:cluster.gke.nodeCount: "0" is out of range; use 1 to 10 nodes (3 is the default; more is not the cheap cluster this program makes)`},
		{"fractional node count", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","nodeCount":2.5}}`},
			`shoestring:cluster.gke.nodeCount: "2.5" is not a whole number; write a number such as 3`},
		{"node count as word", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","nodeCount":"three"}}`},
			`shoestring:cluster.gke.nodeCount: "three" is not a whole number; write a number such as 3`},
		{"disk too small", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","diskSizeGb":5}}`},
			`shoestring:cluster.gke.diskSizeGb: "5" is out of range; GKE needs at least 10 GB (the default)`},
		{"unknown disk type", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","diskType":"hdd"}}`},
			`shoestring:cluster.gke.diskType: "hdd" is not a node disk type; use one of "pd-standard", "pd-balanced", "pd-ssd"`},
		{"unknown provisioning", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","provisioning":"cheap"}}`},
			`shoestring:cluster.gke.provisioning: "cheap" is not a provisioning model; use one of "preemptible", "spot", "standard"`},
		{"unknown release channel", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","releaseChannel":"regular"}}`},
			`shoestring:cluster.gke.releaseChannel: "regular" is not a release channel; use one of "RAPID", "REGULAR", "STABLE", "UNSPECIFIED"`},
		{"bad cluster name", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","name":"My_Cluster"}}`},
			`shoestring:cluster.gke.name: "My_Cluster" is not a valid GKE cluster name; use 1-40 lowercase letters, digits and hyphens, starting with a letter`},
		{"bad node tag", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","nodeTag":"-web"}}`},
			`shoestring:cluster.gke.nodeTag: "-web" is not a valid network tag; use lowercase letters, digits and hyphens, starting with a letter`},
		{"bad firewall range", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","firewallSourceRanges":["10.0.0.0"]}}`},
			`shoestring:cluster.gke.firewallSourceRanges[0]: "10.0.0.0" is not a CIDR range; write an address with a prefix length, e.g. "203.0.113.0/24"`},
		{"empty firewall ranges", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","firewallSourceRanges":[]}}`},
			`shoestring:cluster.gke.firewallSourceRanges: is empty: nothing could reach the nodes' nginx; list CIDR ranges, e.g. ["0.0.0.0/0"]`},
		{"short OAuth scope", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","oauthScopes":["devstorage.read_only"]}}`},
			`shoestring:cluster.gke.oauthScopes[0]: "devstorage.read_only" is not an OAuth scope URL; write the full URL, e.g. "https://www.googleapis.com/auth/devstorage.read_only"`},
		{"unknown mode", map[string]string{"shoestring:cluster": `{"mode":"eks"}`},
			`shoestring:cluster.mode: "eks" is not a cluster mode; use one of "gke", "existing"`},
		{"existing without kubeconfig", map[string]string{"shoestring:cluster": `{"mode":"existing"}`},
			`shoestring:cluster.existing.kubeconfig: is required when mode is "existing"; give the path of the kubeconfig file, e.g. ~/.kube/config`},
		{"typo in a nested key", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","machinetype":"e2-small"}}`},
			`shoestring:cluster.gke.machinetype: is not a known key; did you mean "machineType"? accepted keys here: dataplaneV2, deletionProtection, diskSizeGb, diskType, firewallSourceRanges, machineType, name, network, nodeCount, nodeTag, oauthScopes, project, provisioning, releaseChannel, subnetwork, zone`},
		{"unknown top-level key", map[string]string{"shoestring:cluster": gke, "shoestring:clustr": `{}`},
			`shoestring:clustr: is not a known key; did you mean "shoestring:cluster"? accepted keys here: ` + strings.Join(acceptedTopLevel(), ", ")},
		{"scalar where an object belongs", map[string]string{"shoestring:cluster": `"gke"`},
			`shoestring:cluster: "gke" is not an object; write a YAML mapping of existing, gke, mode`},
		{"not structured at all", map[string]string{"shoestring:cluster": `mode: gke`},
			`shoestring:cluster: "mode: gke" is not a structured value; write it as a YAML mapping or list in the stack file`},
		{"list where a string belongs", map[string]string{"shoestring:cluster": `{"gke":{"zone":["us-central1-a"]}}`},
			`shoestring:cluster.gke.zone: "[...]" is not a string; write a single string value`},
		{"boolean as word", map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","deletionProtection":"yes"}}`},
			`shoestring:cluster.gke.deletionProtection: "yes" is not a boolean; write true or false`},
		{"secrets in plain text", map[string]string{"shoestring:cluster": gke, "shoestring:secrets": `{"api":{"DB_PASSWORD":"hunter2"}}`},
			`shoestring:secrets: holds secrets but is stored in plain text; remove it from the stack file and set each value with ` +
				"`pulumi config set --secret --path 'secrets.<name>' <value>`"},
	}
	require.GreaterOrEqual(t, len(cases), 20)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.raw, nil)
			require.Error(t, err)
			var errs Errors
			require.ErrorAs(t, err, &errs)
			require.Len(t, errs, 1, "want exactly one problem, got: %v", err)
			assert.Equal(t, tc.want, errs[0].Error())
			assert.Equal(t, "invalid stack configuration: "+tc.want, err.Error())
		})
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	_, err := Parse(map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1","machineType":"f1-micro","nodeCount":0}}`}, nil)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	assert.Equal(t, []string{"shoestring:cluster.gke.machineType", "shoestring:cluster.gke.nodeCount", "shoestring:cluster.gke.zone"}, keys)
	assert.Contains(t, err.Error(), "(3 problems)")
}

func TestSecretsStaySecret(t *testing.T) {
	c, err := Parse(map[string]string{"shoestring:cluster": gke, "shoestring:secrets": `{"api":{"DB_PASSWORD":"hunter2"},"checksum":{"HMAC_KEY":"k"}}`,
		"shoestring:services": `[{"name":"api","image":"ghcr.io/acme/api:1.0.0","secretEnv":["DB_PASSWORD"]}]`},
		[]string{"shoestring:secrets"})
	require.NoError(t, err)
	s := c.Secrets["api"]["DB_PASSWORD"]
	assert.Equal(t, "hunter2", s.Reveal())
	assert.Equal(t, "[secret]", s.String())
	assert.NotContains(t, strings.Join([]string{s.String()}, ""), "hunter2")
}

func TestShippedStackFilesAreValid(t *testing.T) {
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			_, err := LoadStackFile("../Pulumi." + stack + ".yaml")
			require.NoError(t, err)
		})
	}
}

func TestReadStackFileTurnsCiphertextIntoPlaceholders(t *testing.T) {
	path := t.TempDir() + "/Pulumi.x.yaml"
	require.NoError(t, writeFile(path, `
config:
  gcp:project: p
  shoestring:cluster:
    gke:
      zone: europe-west1-b
      nodeCount: 2
  shoestring:services:
    - {name: api, image: "ghcr.io/acme/api:1.0.0", secretEnv: [DB_PASSWORD]}
  shoestring:secrets:
    api:
      DB_PASSWORD:
        secure: v1:abc
    checksum:
      HMAC_KEY:
        secure: v1:def
`))
	raw, secret, err := ReadStackFile(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"shoestring:secrets"}, secret)
	assert.Equal(t, "p", raw["gcp:project"])
	var v map[string]map[string]string
	require.NoError(t, json.Unmarshal([]byte(raw["shoestring:secrets"]), &v))
	assert.Equal(t, SecretPlaceholder, v["api"]["DB_PASSWORD"])
	c, err := Parse(raw, secret)
	require.NoError(t, err)
	assert.Equal(t, 2, c.Cluster.GKE.NodeCount)
}

// A render needs no kubeconfig: the provider contacts no cluster then.
func TestExistingClusterNeedsAKubeconfigUnlessRendering(t *testing.T) {
	_, err := Parse(map[string]string{"shoestring:cluster": `{"mode":"existing"}`}, nil)
	if err == nil || !strings.Contains(err.Error(), "shoestring:cluster.existing.kubeconfig") {
		t.Fatalf("want the kubeconfig required, got %v", err)
	}
	cfg, err := Parse(map[string]string{"shoestring:cluster": `{"mode":"existing","existing":{"renderTo":"/tmp/out"}}`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Existing.RenderTo != "/tmp/out" {
		t.Fatalf("renderTo: %q", cfg.Cluster.Existing.RenderTo)
	}
}
