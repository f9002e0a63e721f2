package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBillingDefaultsToTheOnlyClusterOnItsAccount(t *testing.T) {
	c, err := Parse(map[string]string{"shoestring:cluster": gke}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Billing.ClustersOnAccount())
}

func TestBillingCountsTheStacksSharingTheAccount(t *testing.T) {
	c, err := Parse(map[string]string{"shoestring:cluster": gke, "shoestring:billing": `{"sharedWith":["prod"],"otherClusters":"1"}`}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"prod"}, c.Billing.SharedWith)
	assert.Equal(t, 3, c.Billing.ClustersOnAccount())
}

func TestInvalidBillingNamesTheKeyAndTheFix(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{`{"sharedWith":["prod","prod"]}`, `shoestring:billing.sharedWith[1]: "prod" is listed twice; name each stack once`},
		{`{"sharedWith":["pro d"]}`, `shoestring:billing.sharedWith[0]: "pro d" is not a stack name; name another stack of this repository`},
		{`{"otherClusters":-1}`, `shoestring:billing.otherClusters: "-1" is out of range; count the zonal or Autopilot clusters`},
		{`{"sharedWit":["prod"]}`, `shoestring:billing.sharedWit`},
	} {
		_, err := Parse(map[string]string{"shoestring:cluster": gke, "shoestring:billing": tc.value}, nil)
		require.Error(t, err, tc.value)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestTheShippedSandboxAndProdShareOneBillingAccount(t *testing.T) {
	for stack, other := range map[string]string{"sandbox": "prod", "prod": "sandbox"} {
		c, err := LoadStackFile("../Pulumi." + stack + ".yaml")
		require.NoError(t, err)
		assert.Equal(t, []string{other}, c.Billing.SharedWith, stack)
	}
}
