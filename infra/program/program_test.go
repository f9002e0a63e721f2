package program

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

func TestSmoke(t *testing.T) {
	cfg, err := stacks.LoadStackFile("../../Pulumi.sandbox.yaml")
	require.NoError(t, err)
	rec, err := pulumimock.Run("sandbox", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	t.Log(rec.Types())
	np, err := rec.One("gcp:container/nodePool:NodePool", "cluster-nodes")
	require.NoError(t, err)
	t.Logf("%#v", np.Plain())
}
