package program_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/localimages"
)

// apiStatus is what the example service answers on `/`.
type apiStatus struct {
	AppEnv           string         `json:"appEnv"`
	EnvKeys          []string       `json:"envKeys"`
	MigrationVersion int            `json:"migrationVersion"`
	Items            int            `json:"items"`
	Runs             map[string]int `json:"runs"`
	Consumed         int            `json:"consumed"`
	Hostname         string         `json:"hostname"`
}

// devStackOnRealNode is the dev stack of a temporary project on a local cluster with one real node
// (and three simulated ones), the images built here imported into it.
func devStackOnRealNode(t *testing.T, timeout time.Duration) (context.Context, *lifecycle, *kubernetes.Clientset, *localcluster.Cluster) {
	localcluster.SkipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cluster, client := realNodeCluster(ctx, t, localcluster.Options{}, localimages.Catalogue())
	return ctx, newLifecycle(t, "dev", cluster.KubeconfigPath()), client, cluster
}

// realNodeCluster builds specs (cached by their inputs) and starts a local cluster with one real
// node beside the simulated ones, the images imported into it; opts may add to that.
func realNodeCluster(ctx context.Context, t *testing.T, opts localcluster.Options, specs []localimages.Spec) (*localcluster.Cluster, *kubernetes.Clientset) {
	t.Helper()
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	b := &localimages.Builder{RepoDir: repo, CacheDir: filepath.Dir(localcluster.DefaultBinDir()), Log: testLog{t}}
	built, err := b.Build(ctx, specs)
	require.NoError(t, err)
	opts.Kwok, opts.RealNodes, opts.Images, opts.Progress = true, 1, localimages.Archives(built), testLog{t}
	cluster := localcluster.ForTest(t, opts)
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	return cluster, client
}

// get fetches path with the api's Host through the 127.0.0.1 forward to the edge.
func get(ctx context.Context, c *localcluster.Cluster, method, path, body string) (int, string, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", c.State().EdgePort, path)
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Host = "api.shoestring.localhost"
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// statusWhen polls the api's `/` until ok accepts what it answers.
func statusWhen(ctx context.Context, t *testing.T, c *localcluster.Cluster, what string, ok func(apiStatus) bool) apiStatus {
	t.Helper()
	var last string
	for ctx.Err() == nil {
		code, body, err := get(ctx, c, http.MethodGet, "/", "")
		last = fmt.Sprintf("%d %s %v", code, body, err)
		var st apiStatus
		if err == nil && code == http.StatusOK && json.Unmarshal([]byte(body), &st) == nil && ok(st) {
			return st
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the api never answered %s; last answer: %s", what, last)
	return apiStatus{}
}

func podsOf(ctx context.Context, t *testing.T, client *kubernetes.Clientset, ns, selector string) []corev1.Pod {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	require.NoError(t, err)
	return pods.Items
}

// releaseJob is the current release's Job of the api's release job name.
func releaseJob(ctx context.Context, t *testing.T, client *kubernetes.Clientset, ns, name string) batchv1.Job {
	t.Helper()
	jobs, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=api,app.kubernetes.io/component=release"})
	require.NoError(t, err)
	var out []batchv1.Job
	for _, j := range jobs.Items {
		if strings.HasPrefix(j.Name, "api-"+name+"-") && j.DeletionTimestamp == nil {
			out = append(out, j)
		}
	}
	require.Len(t, out, 1, "one %s Job of the current release", name)
	return out[0]
}

// jobOutput is the log of a Job's pod.
func jobOutput(ctx context.Context, t *testing.T, client *kubernetes.Clientset, j batchv1.Job) string {
	t.Helper()
	pods, err := client.CoreV1().Pods(j.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + j.Name})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items, "Job %s has a pod", j.Name)
	out, err := client.CoreV1().Pods(j.Namespace).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{Container: j.Spec.Template.Spec.Containers[0].Name}).DoRaw(ctx)
	require.NoError(t, err)
	return string(out)
}

func podUIDs(ctx context.Context, t *testing.T, client *kubernetes.Clientset, ns, selector string) []string {
	var out []string
	for _, p := range podsOf(ctx, t, client, ns, selector) {
		if p.DeletionTimestamp == nil {
			out = append(out, string(p.UID))
		}
	}
	return out
}

// TestDevStackOnARealNode deploys the dev stack with the real engine onto a real kubelet node and
// checks, on the running processes, what the stack wires: the edge's route to the api through its
// Service, wait-for init containers, release Jobs around the rollout, a CronJob's command with
// the service's env, the queue consumer, non-root containers, a ConfigMap change restarting only
// its users, dev mode's SSH/SFTP sidecar, and a failing before-Job stopping the rollout.
func TestDevStackOnARealNode(t *testing.T) {
	ctx, l, client, cluster := devStackOnRealNode(t, 20*time.Minute)
	ns := l.config()["shoestring:namespace"].(string)
	_, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)

	t.Run("the edge routes the api's host to a real api pod", func(t *testing.T) {
		st := statusWhen(ctx, t, cluster, "with the migrated schema and the demo rows", func(s apiStatus) bool {
			return s.MigrationVersion == 2 && s.Items >= 3
		})
		assert.Equal(t, "dev", st.AppEnv)
		for _, k := range []string{"APP_ENV", "APP_MODE", "DB_HOST", "DB_PASSWORD", "REDIS_URL"} {
			assert.Contains(t, st.EnvKeys, k, "the api's process received %s from the stack's ConfigMaps and Secret", k)
		}
		pods := podsOf(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server")
		require.Len(t, pods, 1)
		assert.Equal(t, localcluster.RealNodeName(0), pods[0].Spec.NodeName)
		assert.Equal(t, pods[0].Name, st.Hostname, "the answer came from the api pod")
	})

	t.Run("release Jobs run their commands before and after the rollout", func(t *testing.T) {
		api := podsOf(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server")[0]
		started := api.Status.ContainerStatuses[0].State.Running.StartedAt
		var ready metav1.Time
		for _, c := range api.Status.Conditions {
			if c.Type == corev1.PodReady {
				ready = c.LastTransitionTime
			}
		}
		migrate := releaseJob(ctx, t, client, ns, "migrate")
		require.NotNil(t, migrate.Status.CompletionTime, "the before-Job completed")
		assert.False(t, started.Before(migrate.Status.CompletionTime), "the api started (%s) after the migration completed (%s)", started, migrate.Status.CompletionTime)
		warm := releaseJob(ctx, t, client, ns, "cache-warm")
		require.NotNil(t, warm.Status.StartTime)
		assert.False(t, warm.Status.StartTime.Before(&ready), "the after-Job started (%s) after the api was ready (%s)", warm.Status.StartTime, ready)
		assert.Contains(t, jobOutput(ctx, t, client, warm), "cache warmed", "the after-Job's process ran its command")
	})

	t.Run("wait-for holds the api until MySQL accepts connections", func(t *testing.T) {
		mysql := podsOf(ctx, t, client, ns, "app.kubernetes.io/name=mysql")
		require.Len(t, mysql, 1)
		require.NotEmpty(t, mysql[0].Status.ContainerStatuses)
		mysqlStarted := mysql[0].Status.ContainerStatuses[0].State.Running.StartedAt
		api := podsOf(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server")[0]
		var waited *corev1.ContainerStateTerminated
		for _, s := range api.Status.InitContainerStatuses {
			if s.Name == "wait-for-mysql" {
				waited = s.State.Terminated
			}
		}
		require.NotNil(t, waited, "the api pod has a finished wait-for-mysql init container")
		assert.Equal(t, int32(0), waited.ExitCode)
		assert.False(t, waited.FinishedAt.Before(&mysqlStarted), "wait-for-mysql finished (%s) after MySQL started (%s)", waited.FinishedAt, mysqlStarted)
		started := api.Status.ContainerStatuses[0].State.Running.StartedAt
		assert.False(t, started.Before(&waited.FinishedAt), "the api started (%s) after its wait-for (%s)", started, waited.FinishedAt)
	})

	t.Run("a Job made from a CronJob runs its command with the service's env", func(t *testing.T) {
		cj, err := client.BatchV1().CronJobs(ns).Get(ctx, "api-report", metav1.GetOptions{})
		require.NoError(t, err)
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "api-report-now", Namespace: ns},
			Spec:       cj.Spec.JobTemplate.Spec,
		}
		_, err = client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		require.NoError(t, err)
		st := statusWhen(ctx, t, cluster, "with the report's run recorded", func(s apiStatus) bool { return s.Runs["app:report"] >= 1 })
		assert.GreaterOrEqual(t, st.Runs["app:report"], 1)
	})

	t.Run("the queue consumer takes what the api enqueues", func(t *testing.T) {
		before := statusWhen(ctx, t, cluster, "", func(apiStatus) bool { return true }).Consumed
		code, body, err := get(ctx, cluster, http.MethodPost, "/queue/async", "order-1")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, code, body)
		statusWhen(ctx, t, cluster, "with the item consumed", func(s apiStatus) bool { return s.Consumed == before+1 })
	})

	t.Run("every container runs as non-root; an image that needs root gets the kubelet's error", func(t *testing.T) {
		for _, p := range podsOf(ctx, t, client, ns, "") {
			if p.Spec.NodeName != localcluster.RealNodeName(0) || p.Status.Phase != corev1.PodRunning {
				continue
			}
			require.NotNil(t, p.Spec.SecurityContext.RunAsNonRoot, "pod %s", p.Name)
			assert.True(t, *p.Spec.SecurityContext.RunAsNonRoot, "pod %s", p.Name)
		}
		root := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "needs-root", Namespace: "default"},
			Spec: corev1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)},
				Containers: []corev1.Container{{
					Name: "nginx", Image: localimages.Nginx, ImagePullPolicy: corev1.PullNever,
				}},
			},
		}
		_, err := client.CoreV1().Pods("default").Create(ctx, root, metav1.CreateOptions{})
		require.NoError(t, err)
		var msg string
		for ctx.Err() == nil && msg == "" {
			p, err := client.CoreV1().Pods("default").Get(ctx, "needs-root", metav1.GetOptions{})
			require.NoError(t, err)
			for _, s := range p.Status.ContainerStatuses {
				if s.State.Waiting != nil && s.State.Waiting.Reason == "CreateContainerConfigError" {
					msg = s.State.Waiting.Message
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		assert.Contains(t, msg, "runAsNonRoot and image will run as root")
	})

	t.Run("a service's ConfigMap change reaches its processes and restarts only them", func(t *testing.T) {
		mysql := podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=mysql")
		redis := podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=redis")
		api := podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server")
		oldMigrate := releaseJob(ctx, t, client, ns, "migrate").Name
		l.service("api")["env"].(map[string]any)["FEATURE_SEARCH"] = "on"
		_, err := l.open(ctx, nil).Up(ctx)
		require.NoError(t, err)
		statusWhen(ctx, t, cluster, "with FEATURE_SEARCH", func(s apiStatus) bool {
			for _, k := range s.EnvKeys {
				if k == "FEATURE_SEARCH" {
					return true
				}
			}
			return false
		})
		assert.Equal(t, mysql, podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=mysql"), "MySQL does not read the api's ConfigMap")
		assert.Equal(t, redis, podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=redis"))
		assert.NotEqual(t, api, podUIDs(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server"))
		// The api's configuration is part of its release: the new release ran a new migrate Job.
		migrate := releaseJob(ctx, t, client, ns, "migrate")
		assert.NotEqual(t, oldMigrate, migrate.Name, "a new release runs a fresh Job")
		assert.NotNil(t, migrate.Status.CompletionTime, "the new release's migration completed")
		_, err = client.BatchV1().Jobs(ns).Get(ctx, oldMigrate, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the old release's Job is gone: %v", err)
	})

	t.Run("dev mode: ssh and sftp reach the non-root sidecar", func(t *testing.T) {
		devModeOnRealNode(ctx, t, l, client, cluster, ns)
	})

	t.Run("a before-Job that fails stops the rollout and shows its log", func(t *testing.T) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		require.NoError(t, err)
		warm := releaseJob(ctx, t, client, ns, "cache-warm").Name
		for _, j := range l.service("api")["releaseJobs"].([]any) {
			if m := j.(map[string]any); m["name"] == "migrate" {
				m["command"] = []any{"bin/console", "doctrine:migrations:fail"}
			}
		}
		l.service("api")["env"].(map[string]any)["FEATURE_SEARCH"] = "off"
		_, err = l.open(ctx, nil).Up(ctx)
		require.Error(t, err)
		t.Logf("the failed update: %v", err)
		assert.Contains(t, err.Error(), "api-migrate", "the failure names the Job")
		assert.Contains(t, err.Error(), `unknown command "doctrine:migrations:fail"`, "the failure shows the Job's log")
		after, err := client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, d.Generation, after.Generation, "the Deployment was not rolled")
		assert.Equal(t, warm, releaseJob(ctx, t, client, ns, "cache-warm").Name, "no after-Job of the failed release ran")
		st := statusWhen(ctx, t, cluster, "", func(apiStatus) bool { return true })
		assert.Contains(t, st.EnvKeys, "FEATURE_SEARCH", "the old release still serves")
	})
}
