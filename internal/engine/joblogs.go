package engine

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shoestring-dev/shoestring/components/service"
	"github.com/shoestring-dev/shoestring/stacks"
)

// jobLogLines is how much of a failed release Job's log an update's error shows: enough for a
// migration's stack trace or SQL error, short enough to read in a terminal.
const jobLogLines = 20

// failedReleaseJobs is, for an update that failed on a stack whose cluster this machine can
// reach, the last lines of the log of every release Job that failed during it: the provider
// reports only that the Job failed, and the reason is in the command's output. "" when there is
// none, or the cluster is not one this run can ask (GKE's kubeconfig is made by the run itself).
func failedReleaseJobs(ctx context.Context, cfg *stacks.Config, since time.Time) string {
	if cfg.Cluster.Mode != stacks.ClusterModeExisting || cfg.Cluster.Existing.Kubeconfig == "" || cfg.Cluster.Existing.RenderTo != "" {
		return ""
	}
	rc, err := restConfig(cfg.Cluster.Existing.Kubeconfig, cfg.Cluster.Existing.Context, 10*time.Second)
	if err != nil {
		return ""
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return ""
	}
	jobs, err := cs.BatchV1().Jobs(cfg.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: service.LabelComponent + "=" + service.ComponentRelease,
	})
	if err != nil {
		return ""
	}
	// The API's timestamps have whole seconds: a Job made in the update's first second counts.
	since = since.Truncate(time.Second)
	var failed []batchv1.Job
	for _, j := range jobs.Items {
		if jobFailed(&j) && !j.CreationTimestamp.Time.Before(since) {
			failed = append(failed, j)
		}
	}
	sort.Slice(failed, func(i, k int) bool { return failed[i].Name < failed[k].Name })
	var b strings.Builder
	for _, j := range failed {
		fmt.Fprintf(&b, "\nthe release Job %s failed (%s); the last lines of its log (kubectl -n %s logs job/%s --all-containers):\n",
			j.Name, jobFailure(&j), j.Namespace, j.Name)
		b.WriteString(jobLog(ctx, cs, &j))
	}
	return b.String()
}

func jobFailed(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// jobFailure is the Job's Failed condition in words, e.g. "BackoffLimitExceeded: Job has reached
// the specified backoff limit".
func jobFailure(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			return strings.TrimSuffix(c.Reason+": "+c.Message, ": ")
		}
	}
	return "failed"
}

// jobLog is the last lines of the containers that failed in the Job's newest pod (all of its
// containers when none reports an exit code), indented; a container that printed nothing says so,
// so an empty log is not mistaken for a missing one.
func jobLog(ctx context.Context, cs kubernetes.Interface, j *batchv1.Job) string {
	pods, err := cs.CoreV1().Pods(j.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + j.Name})
	if err != nil {
		return "    (listing its pods: " + err.Error() + ")\n"
	}
	if len(pods.Items) == 0 {
		return "    (it has no pod left to read)\n"
	}
	sort.Slice(pods.Items, func(i, k int) bool {
		return pods.Items[k].CreationTimestamp.Before(&pods.Items[i].CreationTimestamp)
	})
	p := pods.Items[0]
	var containers []string
	for _, s := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if t := s.State.Terminated; t != nil && t.ExitCode != 0 {
			containers = append(containers, s.Name)
		}
	}
	if len(containers) == 0 {
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			containers = append(containers, c.Name)
		}
	}
	var b strings.Builder
	tail := int64(jobLogLines)
	for _, c := range containers {
		out, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: c, TailLines: &tail}).DoRaw(ctx)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "    [%s] (no log: %v)\n", c, err)
		case len(bytes.TrimSpace(out)) == 0:
			fmt.Fprintf(&b, "    [%s] (printed nothing)\n", c)
		default:
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				fmt.Fprintf(&b, "    [%s] %s\n", c, line)
			}
		}
	}
	return b.String()
}
