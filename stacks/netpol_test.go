package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const existing = `{"mode":"existing","existing":{"kubeconfig":"k"}}`

func TestNetworkPolicyDefaultsFollowTheCluster(t *testing.T) {
	c, err := Parse(map[string]string{"shoestring:cluster": gke}, nil)
	require.NoError(t, err)
	assert.True(t, c.NetworkPolicy.PoliciesEnabled())
	assert.Equal(t, []string{DefaultGKENodeCIDR}, c.NetworkPolicy.NodeCIDRs, "the auto-mode VPC's range")
	assert.Equal(t, APIServerEndpoint{CIDRs: []string{"0.0.0.0/0"}, Port: 443}, c.NetworkPolicy.APIServer)
	var keys []string
	for _, w := range c.Warnings {
		keys = append(keys, w.Key)
	}
	assert.Contains(t, keys, "shoestring:cluster.gke.dataplaneV2", "policies GKE would not enforce are worth a word")

	c, err = Parse(map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","dataplaneV2":true}}`}, nil)
	require.NoError(t, err)
	assert.Empty(t, c.Warnings)

	c, err = Parse(map[string]string{"shoestring:cluster": existing}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{DefaultLocalNodeCIDR}, c.NetworkPolicy.NodeCIDRs, "the local cluster's node bridge")
	assert.Equal(t, APIServerEndpoint{CIDRs: []string{DefaultLocalNodeCIDR}, Port: 0}, c.NetworkPolicy.APIServer)

	c, err = Parse(map[string]string{"shoestring:cluster": existing, "shoestring:networkPolicy": `{"enabled":false}`}, nil)
	require.NoError(t, err)
	assert.False(t, c.NetworkPolicy.PoliciesEnabled())
}

func TestBadNetworkPolicyValuesNameKeyValueAndFix(t *testing.T) {
	for name, tc := range map[string]struct {
		raw  map[string]string
		want string
	}{
		"custom VPC without node ranges": {
			map[string]string{"shoestring:cluster": `{"gke":{"zone":"us-central1-a","network":"shop-vpc"}}`},
			`shoestring:networkPolicy.nodeCIDRs: is required on GKE with cluster.gke.network "shop-vpc"; give the primary range of the nodes' subnetwork`,
		},
		"node range not a CIDR": {
			map[string]string{"shoestring:cluster": existing, "shoestring:networkPolicy": `{"nodeCIDRs":["10.213.0.0"]}`},
			`shoestring:networkPolicy.nodeCIDRs[0]: "10.213.0.0" is not an IPv4 CIDR; write an address range`,
		},
		"API server port": {
			map[string]string{"shoestring:cluster": existing, "shoestring:networkPolicy": `{"apiServer":{"port":70000}}`},
			`shoestring:networkPolicy.apiServer.port: "70000" is not a port; give 1-65535, or 0 for any port`,
		},
		"rule with both peers": {
			map[string]string{"shoestring:cluster": existing, "shoestring:services": `[{"name":"api","image":"a/b:1","networkPolicy":{"egress":[{"cidr":"1.2.3.0/24","namespace":"x","ports":[443]}]}}]`},
			`shoestring:services[0].networkPolicy.egress[0]: "cidr \"1.2.3.0/24\", namespace \"x\"" must set exactly one of cidr and namespace`,
		},
		"rule without ports": {
			map[string]string{"shoestring:cluster": existing, "shoestring:services": `[{"name":"api","image":"a/b:1","networkPolicy":{"ingress":[{"namespace":"monitoring"}]}}]`},
			`shoestring:services[0].networkPolicy.ingress[0].ports: is required; list the ports`,
		},
		"rule protocol": {
			map[string]string{"shoestring:cluster": existing, "shoestring:services": `[{"name":"api","image":"a/b:1","networkPolicy":{"egress":[{"cidr":"1.2.3.4/32","ports":[53],"protocol":"ICMP"}]}}]`},
			`shoestring:services[0].networkPolicy.egress[0].protocol: "ICMP" is not a protocol; use "TCP" (the default) or "UDP"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.raw, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
