package netpol

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
)

func TestPoliciesAreChildrenOfTheComponent(t *testing.T) {
	a := &Args{Namespace: "apps", Policies: []Policy{
		{Name: "api-egress", Pods: map[string]string{"app": "api"}, Egress: []Rule{{Peers: []Peer{{CIDR: "10.0.0.1/32"}}, Ports: []Port{{Port: 3306}}}}},
		{Name: "api-ingress", Pods: map[string]string{"app": "api"}, Ingress: []Rule{{Peers: []Peer{InNamespace("edge", nil)}, Ports: []Port{{Port: 8080, Protocol: UDP}}}}},
	}}
	rec, err := pulumimock.Run("t", func(ctx *pulumi.Context) error {
		_, err := New(ctx, "np", a)
		return err
	})
	require.NoError(t, err)
	comp, err := rec.One(TypeToken, "np")
	require.NoError(t, err)
	policies := rec.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
	require.Len(t, policies, 3)
	for _, p := range policies {
		assert.Equal(t, comp.URN, p.Parent, "%s is the component's child", p.Name)
		assert.Equal(t, "apps", p.Plain()["metadata"].(map[string]any)["namespace"])
	}
	byName := map[string]map[string]any{}
	for _, p := range policies {
		byName[p.Plain()["metadata"].(map[string]any)["name"].(string)] = p.Plain()["spec"].(map[string]any)
	}
	assert.Equal(t, []any{"Ingress", "Egress"}, byName[DefaultDenyName]["policyTypes"], "no rules: deny both ways")
	assert.Equal(t, map[string]any{}, byName[DefaultDenyName]["podSelector"], "every pod")
	assert.Equal(t, []any{"Egress"}, byName["api-egress"]["policyTypes"], "an egress allow policy leaves ingress to the others")
	assert.Equal(t, []any{"Ingress"}, byName["api-ingress"]["policyTypes"])
	from := byName["api-ingress"]["ingress"].([]any)[0].(map[string]any)["from"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"matchLabels": map[string]any{NamespaceNameLabel: "edge"}}, from["namespaceSelector"])
	assert.Nil(t, from["podSelector"], "every pod of the namespace")
	port := byName["api-ingress"]["ingress"].([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any)
	assert.Equal(t, "UDP", port["protocol"])
	assert.Equal(t, "TCP", byName["api-egress"]["egress"].([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any)["protocol"], "TCP when not given")
	// The mock engine registers resources concurrently: which one it records first says nothing.
	var names []string
	for _, r := range rec.Resources {
		if r.Custom {
			names = append(names, r.Name)
		}
	}
	assert.ElementsMatch(t, []string{"np-default-deny", "np-api-egress", "np-api-ingress"}, names)
}

func TestMergeJoinsPortsOfTheSamePeers(t *testing.T) {
	db := []Peer{{Pods: map[string]string{"app": "db"}}}
	rules := Merge(nil, Rule{Peers: db, Ports: []Port{{Port: 3306}}})
	rules = Merge(rules, Rule{Peers: db, Ports: []Port{{Port: 3306}, {Port: 33060}}})
	rules = Merge(rules, Rule{Peers: []Peer{{CIDR: "10.0.0.0/8"}}, Ports: []Port{{Port: 443}}})
	require.Len(t, rules, 2)
	assert.Equal(t, []Port{{Port: 3306}, {Port: 33060}}, rules[0].Ports)
}
