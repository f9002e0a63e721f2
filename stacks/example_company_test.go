package stacks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The company example of docs/environments.md: five services and 30 CronJobs defined once in the
// project file, sandbox and prod files holding only their differences.
func TestTheCompanyExampleDefinesItsEnvironmentsOnce(t *testing.T) {
	dir := filepath.Join("..", "docs", "examples", "company")
	lines := func(name string) int {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return bytes.Count(b, []byte("\n"))
	}
	shared := lines(ProjectFile)
	for _, stack := range []string{"sandbox", "prod"} {
		c, err := LoadStackFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
		require.NoError(t, err, stack)
		require.Len(t, c.Services, 5, stack)
		crons := 0
		for _, s := range c.Services {
			crons += len(s.CronJobs)
		}
		assert.Equal(t, 30, crons, stack)
		assert.Equal(t, stack, c.CommonEnv["APP_ENV"])
		assert.Less(t, lines("Pulumi."+stack+".yaml")*5, shared, "%s's file should be under a fifth of the shared one", stack)
	}

	prod, err := LoadStackFile(filepath.Join(dir, "Pulumi.prod.yaml"))
	require.NoError(t, err)
	api := prod.Services[0]
	assert.Equal(t, "mobile-api", api.Name)
	assert.Equal(t, 2, *api.Replicas)
	assert.Equal(t, 3, *api.Workers[0].Replicas)
	assert.Equal(t, ReleaseNever, api.ReleaseJobs[1].When)
	assert.Equal(t, BackingExternal, prod.Backing[0].Mode)
	assert.Equal(t, "*/5 * * * *", prod.Services[4].CronJobs[4].Schedule)
}
