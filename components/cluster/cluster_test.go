package cluster

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func TestKubeconfigAuthenticatesThroughTheGKEPlugin(t *testing.T) {
	cfg := Kubeconfig("gke_us-central1-a_c", "203.0.113.10", "Q0E=")
	var kc struct {
		Clusters []struct {
			Name    string
			Cluster map[string]string
		}
		Users []struct {
			User struct {
				Exec map[string]any
			}
		}
		CurrentContext string `json:"current-context"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cfg), &kc))
	require.Len(t, kc.Clusters, 1)
	assert.Equal(t, "https://203.0.113.10", kc.Clusters[0].Cluster["server"])
	assert.Equal(t, "Q0E=", kc.Clusters[0].Cluster["certificate-authority-data"])
	assert.Equal(t, "gke_us-central1-a_c", kc.CurrentContext)
	require.Len(t, kc.Users, 1)
	assert.Equal(t, "gke-gcloud-auth-plugin", kc.Users[0].User.Exec["command"])
	assert.Equal(t, "client.authentication.k8s.io/v1beta1", kc.Users[0].User.Exec["apiVersion"])
	assert.NotContains(t, cfg, "password")
	assert.NotContains(t, cfg, "token")
	assert.False(t, strings.Contains(cfg, "client-key"), "no static credential in the kubeconfig")
}

func TestExpandHome(t *testing.T) {
	t.Setenv("HOME", "/home/dev")
	assert.Equal(t, "/home/dev/.kube/config", ExpandHome("~/.kube/config"))
	assert.Equal(t, "/etc/kubeconfig", ExpandHome("/etc/kubeconfig"))
	assert.Equal(t, "rel/~/x", ExpandHome("rel/~/x"))
}

func TestProjectIsOnlySetWhenGiven(t *testing.T) {
	a := &GKEArgs{Name: "c", Zone: "us-central1-a", Network: "default", NodeTag: "n"}
	assert.Nil(t, ClusterArgs(a).Project)
	assert.Nil(t, FirewallArgs(a).Project)
	a.Project = "p"
	assert.NotNil(t, ClusterArgs(a).Project)
	assert.NotNil(t, NodePoolArgs(a, nil).Project)
}
