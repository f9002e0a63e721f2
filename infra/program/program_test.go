package program

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

const (
	gkeCluster  = "gcp:container/cluster:Cluster"
	gkeNodePool = "gcp:container/nodePool:NodePool"
	gcpFirewall = "gcp:compute/firewall:Firewall"
	k8sProvider = "pulumi:providers:kubernetes"
)

// deployStack evaluates the program with mocks for a stack file as committed.
func deployStack(t *testing.T, stack string) *pulumimock.Record {
	t.Helper()
	cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	rec, err := pulumimock.Run(stack, func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	return rec
}

func one(t *testing.T, rec *pulumimock.Record, typ, name string) map[string]any {
	t.Helper()
	r, err := rec.One(typ, name)
	require.NoError(t, err)
	return r.Plain()
}

func TestGKEStacksBuildTheLowCostCluster(t *testing.T) {
	cases := []struct {
		stack, name, project, channel string
		preemptible, spot, protection bool
	}{
		{stack: "sandbox", name: "shoestring-sandbox", channel: "REGULAR", spot: true, protection: false},
		{stack: "prod", name: "shoestring-prod", channel: "STABLE", preemptible: true, protection: true},
	}
	for _, tc := range cases {
		t.Run(tc.stack, func(t *testing.T) {
			rec := deployStack(t, tc.stack)

			c := one(t, rec, gkeCluster, "cluster")
			assert.Equal(t, tc.name, c["name"])
			assert.Equal(t, "us-central1-a", c["location"], "zonal: one free-tier-covered management fee")
			assert.Equal(t, "default", c["network"])
			assert.Equal(t, true, c["removeDefaultNodePool"])
			assert.EqualValues(t, 1, c["initialNodeCount"])
			assert.Equal(t, map[string]any{"httpLoadBalancing": map[string]any{"disabled": true}}, c["addonsConfig"])
			assert.Equal(t, "none", c["loggingService"])
			assert.Equal(t, "none", c["monitoringService"])
			assert.Equal(t, map[string]any{"channel": tc.channel}, c["releaseChannel"])
			assert.Equal(t, tc.protection, c["deletionProtection"])

			np := one(t, rec, gkeNodePool, "cluster-nodes")
			assert.Equal(t, tc.name, np["cluster"], "the pool joins the cluster by name")
			assert.Equal(t, "us-central1-a", np["location"])
			assert.EqualValues(t, 3, np["nodeCount"])
			assert.Equal(t, map[string]any{"autoRepair": true, "autoUpgrade": true}, np["management"])
			assert.Equal(t, map[string]any{
				"machineType": "e2-small",
				"preemptible": tc.preemptible,
				"spot":        tc.spot,
				"diskSizeGb":  10.0,
				"diskType":    "pd-standard",
				"oauthScopes": []any{"https://www.googleapis.com/auth/devstorage.read_only"},
				"tags":        []any{"shoestring-node"},
			}, np["nodeConfig"])

			fw := one(t, rec, gcpFirewall, "cluster-http")
			assert.Equal(t, tc.name+"-allow-http-https", fw["name"])
			assert.Equal(t, "default", fw["network"])
			assert.Equal(t, "INGRESS", fw["direction"])
			assert.Equal(t, []any{map[string]any{"protocol": "tcp", "ports": []any{"80", "443"}}}, fw["allows"])
			// Both stacks proxy their names: only Cloudflare's proxy may reach the origin.
			cloudflare, _, err := stacks.CloudflareIPv4Ranges()
			require.NoError(t, err)
			var want []any
			for _, r := range cloudflare {
				want = append(want, r)
			}
			assert.Equal(t, want, fw["sourceRanges"])
			assert.Equal(t, []any{"shoestring-node"}, fw["targetTags"], "only the pool's nodes are opened")
			assert.Len(t, rec.ByType(gcpFirewall), 1)

			prov, err := rec.One(k8sProvider, "cluster")
			require.NoError(t, err)
			assert.True(t, pulumimock.IsSecret(prov.Inputs, "kubeconfig"), "the kubeconfig is a secret")
			kc, _ := prov.Plain()["kubeconfig"].(string)
			assert.Contains(t, kc, "server: https://203.0.113.10")
			assert.Contains(t, kc, "command: gke-gcloud-auth-plugin")

			for _, r := range rec.Resources {
				if r.Type == gkeNodePool || r.Type == gcpFirewall || r.Type == gkeCluster || r.Type == k8sProvider {
					assert.Contains(t, r.Parent, "shoestring:cluster:Cluster", "%s %s is parented to the component", r.Type, r.Name)
				}
			}
		})
	}
}

func TestDevStackRegistersNoGCPResource(t *testing.T) {
	rec := deployStack(t, "dev")
	for _, r := range rec.Resources {
		assert.False(t, strings.HasPrefix(r.Type, "gcp:"), "dev registered %s %s", r.Type, r.Name)
	}
	prov := one(t, rec, k8sProvider, "cluster")
	assert.Equal(t, ".state/cluster/kubeconfig", prov["kubeconfig"])
}

func TestInvalidConfigFailsThePreviewWithItsMessage(t *testing.T) {
	// The engine hands config to the program in PULUMI_CONFIG; Run must read it and refuse f1-micro.
	t.Setenv("PULUMI_CONFIG", `{"shoestring:cluster":"{\"gke\":{\"zone\":\"us-central1-a\",\"machineType\":\"f1-micro\"}}"}`)
	rec, err := pulumimock.Run("sandbox", Run)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:cluster.gke.machineType: "f1-micro" GKE rejects it for node pools`)
	assert.Empty(t, rec.Resources, "nothing is registered when the config is invalid")
}

func TestRunReadsTheEngineConfig(t *testing.T) {
	t.Setenv("PULUMI_CONFIG", `{"shoestring:cluster":"{\"gke\":{\"zone\":\"europe-west1-b\",\"nodeCount\":2}}","gcp:project":"p"}`)
	rec, err := pulumimock.Run("any", Run)
	require.NoError(t, err)
	np := one(t, rec, gkeNodePool, "cluster-nodes")
	assert.EqualValues(t, 2, np["nodeCount"])
	assert.Equal(t, "europe-west1-b", np["location"])
}

func TestClusterCostUsesThePriceTable(t *testing.T) {
	cfg, err := stacks.LoadStackFile("../../Pulumi.sandbox.yaml")
	require.NoError(t, err)
	e, err := ClusterCost(cfg)
	require.NoError(t, err)
	assert.Equal(t, "spot/preemptible", e.Model)
	assert.Equal(t, e.TotalSpot, e.Total)
	assert.Less(t, e.TotalSpot, e.TotalOnDemand)
}

// No Go code may branch on the stack's name: environments differ only in Pulumi.<stack>.yaml.
func TestNoStackNameBranching(t *testing.T) {
	forbidden := regexp.MustCompile(`ctx\.Stack\(\)|case\s+"(prod|sandbox|dev)"|[!=]=\s*"(prod|sandbox|dev)"`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "tools" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if forbidden.MatchString(line) {
				t.Errorf("%s:%d branches on the stack name: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	require.NoError(t, err)
}
