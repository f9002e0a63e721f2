package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// locationProject shares two services; the lines the tests name are counted from 1 at "name:".
const locationProject = `name: shoestring
runtime: go
config:
  shoestring:cluster:
    default: {mode: existing, existing: {kubeconfig: /k}}
  shoestring:services:
    default:
      - name: api
        image: ghcr.io/acme/api:latest
        replicas: 1
      - name: admin
        image: ghcr.io/acme/admin:1.0.0
        workers:
          - {name: queue, command: []}
`

// Each problem of the merged definition is named in the file and at the line that set its key.
func TestEachProblemNamesTheFileAndLineOfItsKey(t *testing.T) {
	for name, tc := range map[string]struct{ extra, stack, want string }{
		"a shared value, at its line under default:": {"", "config: {}\n",
			"invalid stack configuration (2 problems):\n" +
				"  - Pulumi.yaml:9: shoestring:services[0].image: \"ghcr.io/acme/api:latest\" uses the moving tag latest: environments could run different code; pin a release tag or a digest\n" +
				"  - Pulumi.yaml:14: shoestring:services[1].workers[0].command: is empty: the worker would run the service's own process; give the worker's command, e.g. [\"bin/console\", \"messenger:consume\"]"},
		"an override, at its line in the stack file": {"", "config:\n  shoestring:overrides:\n    services:\n      api: {image: \"ghcr.io/acme/api:1.0.0\", replicas: 100000}\n      admin: {workers: {queue: {command: [work]}}}\n",
			"invalid stack configuration: Pulumi.test.yaml:4: shoestring:services[0].replicas: \"100000\" is above 50 replicas, more than this product's cluster of at most 10 small nodes runs; use 0 to 50 (default 1)"},
		"a stack's own key, whatever Pulumi.yaml shares": {"", "config:\n  shoestring:replace: [services]\n  shoestring:services:\n    - name: api\n      image: ghcr.io/acme/api:1.0.0\n\n      replicas: -1\n",
			"invalid stack configuration: Pulumi.test.yaml:7: shoestring:services[0].replicas: \"-1\" is negative; use 0 or more (default 1)"},
		"a key only a stack file may hold, in Pulumi.yaml even when the stack sets it too": {"  shoestring:overrides:\n    default: {services: {api: {replicas: 2}}}\n", "config:\n  shoestring:overrides: {services: {api: {image: \"ghcr.io/acme/api:1.0.0\"}, admin: {workers: {queue: {command: [work]}}}}}\n",
			"invalid stack configuration: Pulumi.yaml:15: shoestring:overrides: is set in Pulumi.yaml, where it would be shadowed by each stack file that sets its own; write the shared value itself in Pulumi.yaml, and shoestring:overrides in each stack file that differs"},
		"past an item an override removed, at the shared list": {"", "config:\n  shoestring:overrides:\n    services:\n      api: null\n",
			"invalid stack configuration: Pulumi.yaml:6: shoestring:services[0].workers[0].command: is empty: the worker would run the service's own process; give the worker's command, e.g. [\"bin/console\", \"messenger:consume\"]"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadProject(t, locationProject+tc.extra, tc.stack)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
