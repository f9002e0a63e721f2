package program_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// TestWorkloadsVocabularyWithTheEngine brings up the dev stack extended with every opt-in workloads
// key at once, through the real engine and Kubernetes provider on a
// local control plane (kwok nodes): generic backing services (with and without a volume), init
// databases, a common Secret, imagePullSecrets (named and made from shoestring:registry),
// writablePaths, per-CronJob and per-Job env, waitFor by HTTP URL and by command, a
// PodDisruptionBudget, a topology spread and a HorizontalPodAutoscaler, and a service a before-Job
// waits for, which must exist before that Job. The apiserver accepting the objects is the point;
// the fields are read back with client-go. Then destroy.
func TestWorkloadsVocabularyWithTheEngine(t *testing.T) {
	ctx, l, client, dyn := devStackOnKwok(t, 8*time.Minute)
	var err error
	cfg := l.config()
	ns := cfg["shoestring:namespace"].(string)

	cfg["shoestring:commonSecretEnv"] = []any{"SHARED_TOKEN"}
	cfg["shoestring:storageClass"] = localcluster.KwokStorageClass // named, not the default: it must reach every claim
	cfg["shoestring:edge"].(map[string]any)["playgrounds"] = map[string]any{
		"domain": "play.shoestring.localhost", "gatewayServices": []any{"api", "queue"},
	}
	cfg["shoestring:imagePullSecrets"] = []any{"regcred"}
	cfg["shoestring:registry"] = map[string]any{"server": "registry.example.com", "username": "ci-bot"}
	backing := cfg["shoestring:backing"].([]any)
	backing[0].(map[string]any)["databases"] = []any{"app", "app_test"} // mysql
	cfg["shoestring:backing"] = append(backing,
		map[string]any{
			"name": "beanstalkd", "engine": "generic", "image": "ghcr.io/shoestring-dev/beanstalkd:1.13",
			"ports":   []any{map[string]any{"name": "beanstalk", "port": 11300}},
			"command": []any{"beanstalkd", "-b", "/data"},
			"volume":  map[string]any{"size": "512Mi", "mountPath": "/data"},
			"env":     map[string]any{"BEANSTALKD_MAX_JOB_SIZE": "65535"},
		},
		map[string]any{
			"name": "memcached", "engine": "generic", "image": "memcached:1.6.38",
			"ports": []any{map[string]any{"name": "memcache", "port": 11211}}, "args": []any{"-m", "64"},
		},
	)
	// A queue modelled as a service, which the before-Job waits for.
	cfg["shoestring:services"] = append(cfg["shoestring:services"].([]any), map[string]any{
		"name": "queue", "image": "ghcr.io/shoestring-dev/example-api:1.0.0",
		"ports": []any{map[string]any{"name": "http", "port": 8080}},
	})
	api := l.service("api")
	api["replicas"] = 2
	api["writablePaths"] = []any{"/tmp", "/var/cache/app"}
	api["security"] = map[string]any{"readOnlyRootFilesystem": true}
	api["disruptionBudget"] = map[string]any{"maxUnavailable": 1}
	api["spread"] = map[string]any{}
	api["autoscaling"] = map[string]any{"minReplicas": 2, "maxReplicas": 4, "targetCPUUtilization": 70}
	api["waitFor"] = []any{"mysql", "redis", "beanstalkd", "http://queue:8080/healthz"}
	api["cronJobs"].([]any)[0].(map[string]any)["env"] = map[string]any{"REPORT_KIND": "hourly"}
	migrate := api["releaseJobs"].([]any)[0].(map[string]any)
	migrate["env"] = map[string]any{"MIGRATE_MODE": "safe"}
	migrate["waitFor"] = []any{"mysql", "queue", `cmd: test -n "$DB_HOST"`}

	from := resourceVersion(ctx, t, dyn)
	jobs, deploys := watchAll(ctx, t, dyn, ns, from)
	up, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)
	t.Logf("up: %v", up.Counts)

	// Generic backing services.
	bs, err := client.AppsV1().StatefulSets(ns).Get(ctx, "beanstalkd", metav1.GetOptions{})
	require.NoError(t, err)
	c := bs.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []string{"beanstalkd", "-b", "/data"}, c.Command)
	assert.Equal(t, int32(11300), c.Ports[0].ContainerPort)
	require.Len(t, bs.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "512Mi", bs.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String())
	assert.Equal(t, localcluster.KwokStorageClass, *bs.Spec.VolumeClaimTemplates[0].Spec.StorageClassName)
	assert.Contains(t, mounts(c), "/data")
	assert.Equal(t, []string{"regcred", "registry-credentials"}, pullSecretNames(bs.Spec.Template.Spec), "backing pods pull with the pull secrets")
	mc, err := client.AppsV1().StatefulSets(ns).Get(ctx, "memcached", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, mc.Spec.VolumeClaimTemplates, "no volume unless asked")
	assert.Equal(t, []string{"-m", "64"}, mc.Spec.Template.Spec.Containers[0].Args)
	svc, err := client.CoreV1().Services(ns).Get(ctx, "memcached", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "memcache", svc.Spec.Ports[0].Name)
	assert.Equal(t, int32(11211), svc.Spec.Ports[0].Port)

	// Init databases.
	initdb, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "mysql-initdb", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, initdb.Data["shoestring-databases.sh"], "CREATE DATABASE IF NOT EXISTS `app_test`")
	my, err := client.AppsV1().StatefulSets(ns).Get(ctx, "mysql", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, mounts(my.Spec.Template.Spec.Containers[0]), "/docker-entrypoint-initdb.d")
	assert.Equal(t, localcluster.KwokStorageClass, *my.Spec.VolumeClaimTemplates[0].Spec.StorageClassName, "shoestring:storageClass")

	// Several playground gateways: the edge's nginx.conf routes <feature>-queue.<domain>.
	edgeConf, err := client.CoreV1().ConfigMaps(up.Outputs["edgeNamespace"].Value.(string)).Get(ctx, "edge-nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, edgeConf.Data["nginx.conf"], `-queue\.play\.shoestring\.localhost$"`)

	// The common Secret and the registry Secret.
	common, err := client.CoreV1().Secrets(ns).Get(ctx, "common-secrets", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, common.Data["SHARED_TOKEN"])
	reg, err := client.CoreV1().Secrets(ns).Get(ctx, "registry-credentials", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.SecretTypeDockerConfigJson, reg.Type)
	assert.Contains(t, string(reg.Data[corev1.DockerConfigJsonKey]), `"registry.example.com"`)

	// The API's Deployment: envFrom order, pull secrets, writable folders, spread, wait-for by URL.
	d, err := client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err)
	pod := d.Spec.Template.Spec
	app := pod.Containers[0]
	require.GreaterOrEqual(t, len(app.EnvFrom), 2)
	assert.Equal(t, "common-config", app.EnvFrom[0].ConfigMapRef.Name)
	assert.Equal(t, "common-secrets", app.EnvFrom[1].SecretRef.Name, "the common Secret right after common-config")
	assert.Equal(t, []string{"regcred", "registry-credentials"}, pullSecretNames(pod))
	assert.Subset(t, mounts(app), []string{"/tmp", "/var/cache/app"})
	assert.True(t, *app.SecurityContext.ReadOnlyRootFilesystem)
	require.Len(t, pod.TopologySpreadConstraints, 1)
	assert.Equal(t, "kubernetes.io/hostname", pod.TopologySpreadConstraints[0].TopologyKey)
	assert.Equal(t, corev1.ScheduleAnyway, pod.TopologySpreadConstraints[0].WhenUnsatisfiable)
	assert.Contains(t, initNames(pod), "wait-for-http-queue")
	assert.Equal(t, int32(2), *d.Spec.Replicas)

	pdb, err := client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue())
	hpa, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), *hpa.Spec.MinReplicas)
	assert.Equal(t, int32(4), hpa.Spec.MaxReplicas)
	assert.Equal(t, int32(70), *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization)

	// Per-CronJob and per-Job env, wait-for by command, pull secrets on Jobs.
	cj, err := client.BatchV1().CronJobs(ns).Get(ctx, "api-report", metav1.GetOptions{})
	require.NoError(t, err)
	cjPod := cj.Spec.JobTemplate.Spec.Template.Spec
	assert.Contains(t, cjPod.Containers[0].Env, corev1.EnvVar{Name: "REPORT_KIND", Value: "hourly"})
	assert.Equal(t, []string{"regcred", "registry-credentials"}, pullSecretNames(cjPod))
	assert.Subset(t, mounts(cjPod.Containers[0]), []string{"/tmp", "/var/cache/app"})
	migrateName := jobNamed(ctx, t, client, ns, "api-migrate-")
	job, err := client.BatchV1().Jobs(ns).Get(ctx, migrateName, metav1.GetOptions{})
	require.NoError(t, err)
	jobPod := job.Spec.Template.Spec
	assert.Contains(t, jobPod.Containers[0].Env, corev1.EnvVar{Name: "MIGRATE_MODE", Value: "safe"})
	assert.Equal(t, []string{"wait-for-mysql", "wait-for-queue", "wait-for-cmd-2"}, initNames(jobPod))
	assert.Equal(t, []string{"regcred", "registry-credentials"}, pullSecretNames(jobPod))

	// Ordering: the queue service the before-Job waits for exists (and is ready) before the Job.
	queueReady := firstRV(t, deploys, func(u *unstructured.Unstructured) bool {
		r, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		return u.GetName() == "queue" && r == 1
	})
	jobCreated := firstRV(t, jobs, func(u *unstructured.Unstructured) bool { return u.GetName() == migrateName })
	t.Logf("resource versions: queue ready %d, before-Job created %d", queueReady, jobCreated)
	assert.Less(t, queueReady, jobCreated, "the service a before-Job waits for is ready before the Job is created")

	_, err = l.open(ctx, nil).Destroy(ctx)
	require.NoError(t, err)
}

func mounts(c corev1.Container) []string {
	var out []string
	for _, m := range c.VolumeMounts {
		out = append(out, m.MountPath)
	}
	return out
}

func pullSecretNames(p corev1.PodSpec) []string {
	var out []string
	for _, s := range p.ImagePullSecrets {
		out = append(out, s.Name)
	}
	return out
}

func initNames(p corev1.PodSpec) []string {
	var out []string
	for _, c := range p.InitContainers {
		out = append(out, c.Name)
	}
	return out
}
