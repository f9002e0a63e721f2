package release

import (
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"

	"github.com/shoestring-dev/shoestring/components/service"
)

func TestJobNameChangesWithEverythingInItsPod(t *testing.T) {
	base := Job{
		Service: "api", Name: "migrate", ActiveDeadlineSeconds: 600,
		Container: service.Container{Image: "acme/api:1.0.0", Command: []string{"bin/migrate"}},
		Pod: service.PodOptions{
			EnvFrom: []service.ConfigRef{{Kind: "ConfigMap", Name: "api-config", Checksum: "c1"}},
			WaitFor: []service.Endpoint{{Name: "mysql", Host: "mysql", Port: 3306}},
		},
	}
	name := JobName(base)
	assert.Regexp(t, `^api-migrate-[0-9a-f]{10}$`, name)
	assert.Equal(t, name, JobName(base), "deterministic")

	for what, change := range map[string]func(j *Job){
		"image":   func(j *Job) { j.Container.Image = "acme/api:1.0.1" },
		"command": func(j *Job) { j.Container.Command = []string{"bin/migrate", "--force"} },
		"config": func(j *Job) {
			j.Pod.EnvFrom = []service.ConfigRef{{Kind: "ConfigMap", Name: "api-config", Checksum: "c2"}}
		},
		"wait-for": func(j *Job) { j.Pod.WaitFor = nil },
		"deadline": func(j *Job) { j.ActiveDeadlineSeconds = 60 },
		"retries":  func(j *Job) { j.BackoffLimit = 2 },
		"dns search": func(j *Job) {
			j.Pod.DNSConfig = &corev1.PodDNSConfigArgs{Searches: pulumi.ToStringArray([]string{"apps.svc"})}
		},
		"code volume": func(j *Job) { j.Pod.Volumes = []corev1.VolumeArgs{{Name: pulumi.String("code")}} },
	} {
		j := base
		change(&j)
		assert.NotEqual(t, name, JobName(j), "a change of %s is a new release", what)
	}
}
