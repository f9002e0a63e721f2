package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const releaseOrderCluster = "  shoestring:cluster: {mode: existing, existing: {kubeconfig: /k}}\n"

func stepNames(c *Config, steps []BeforeStep) []string {
	var out []string
	for _, s := range steps {
		svc := c.Services[s.Service]
		if s.IsRollout() {
			out = append(out, "rollout "+svc.Name)
			continue
		}
		out = append(out, svc.Name+"/"+svc.ReleaseJobs[s.Job].Name)
	}
	return out
}

func TestAServicesOwnBeforeJobsRunBeforeItsRolloutWhateverWaitsForIt(t *testing.T) {
	// api's migrate inherits the service's waitFor, which names sdk-api: sdk-api rolls out before
	// it, and sdk-api's own migration before that.
	c, err := loadProject(t, "name: shoestring\nruntime: go\n", "config:\n"+releaseOrderCluster+`  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:1.0.0
      waitFor: [sdk-api]
      releaseJobs:
        - {name: migrate, command: [migrate], when: before}
        - {name: warm, command: [warm], when: after}
    - name: sdk-api
      image: ghcr.io/acme/sdk:1.0.0
      ports: [{name: http, port: 8080}]
      releaseJobs:
        - {name: migrate, command: [migrate], when: before}
    - name: admin
      image: ghcr.io/acme/admin:1.0.0
      releaseJobs:
        - {name: migrate, command: [migrate], when: before}
`)
	require.NoError(t, err)
	steps, err := c.BeforeOrder()
	require.NoError(t, err)
	assert.Equal(t, []string{"sdk-api/migrate", "rollout sdk-api", "api/migrate", "admin/migrate"}, stepNames(c, steps))
}

func TestAReleaseOrderNoOrderSatisfiesIsRefusedWithTheChain(t *testing.T) {
	for name, tc := range map[string]struct{ services, want string }{
		"a before-Job that waits for its own service": {`  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:1.0.0
      ports: [{name: http, port: 8080}]
      releaseJobs:
        - {name: migrate, command: [migrate], when: before, waitFor: [api]}
`, "invalid stack configuration: Pulumi.test.yaml:8: shoestring:services[0].releaseJobs[0].waitFor: cannot be satisfied by any release order: api's before-Job migrate waits for the rollout of api, which waits for api's before-Job migrate; a service's before-Jobs run before its rollout: remove the service from this waitFor (or, where inherited from the service's waitFor, give the Job its own), or make the Job an after-Job"},
		"two services whose before-Jobs wait for each other": {`  shoestring:services:
    - name: api
      image: ghcr.io/acme/api:1.0.0
      ports: [{name: http, port: 8080}]
      waitFor: [sdk]
      releaseJobs: [{name: migrate, command: [migrate], when: before}]
    - name: sdk
      image: ghcr.io/acme/sdk:1.0.0
      ports: [{name: http, port: 8080}]
      waitFor: [api]
      releaseJobs: [{name: migrate, command: [migrate], when: before}]
`, "invalid stack configuration: Pulumi.test.yaml:8: shoestring:services[0].releaseJobs[0].waitFor: cannot be satisfied by any release order: api's before-Job migrate waits for the rollout of sdk, which waits for sdk's before-Job migrate, which waits for the rollout of api, which waits for api's before-Job migrate; a service's before-Jobs run before its rollout: remove the service from this waitFor (or, where inherited from the service's waitFor, give the Job its own), or make the Job an after-Job"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadProject(t, "name: shoestring\nruntime: go\n", "config:\n"+releaseOrderCluster+tc.services)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
