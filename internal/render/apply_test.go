package render

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func live(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	// As the dynamic client decodes it: integers stay int64.
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestReady(t *testing.T) {
	cases := []struct {
		name, doc string
		done      bool
		note      string
	}{
		{"deployment rolled out", `{kind: Deployment, metadata: {generation: 2}, spec: {replicas: 2},
			status: {observedGeneration: 2, replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2}}`, true, "2/2 ready"},
		{"deployment with an old replica left", `{kind: Deployment, metadata: {generation: 2}, spec: {replicas: 2},
			status: {observedGeneration: 2, replicas: 3, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2}}`, false, "2/2 ready"},
		{"deployment not yet observed", `{kind: Deployment, metadata: {generation: 3}, spec: {replicas: 1},
			status: {observedGeneration: 2, replicas: 1, readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1}}`, false, ""},
		{"deployment stuck on quota", `{kind: Deployment, metadata: {generation: 1},
			status: {observedGeneration: 1, conditions: [{type: ReplicaFailure, status: "True", message: "pods forbidden: exceeded quota"}]}}`, false, "exceeded quota"},
		{"daemonset ready", `{kind: DaemonSet, metadata: {generation: 1},
			status: {observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3}}`, true, "3/3"},
		{"daemonset rolling", `{kind: DaemonSet, metadata: {generation: 1},
			status: {observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3}}`, false, "2/3"},
		{"statefulset ready", `{kind: StatefulSet, metadata: {generation: 1}, spec: {replicas: 1},
			status: {observedGeneration: 1, replicas: 1, readyReplicas: 1, updatedReplicas: 1}}`, true, ""},
		{"job running", `{kind: Job, status: {active: 1}}`, false, "1 active"},
		{"job complete", `{kind: Job, status: {conditions: [{type: SuccessCriteriaMet, status: "True"}, {type: Complete, status: "True"}]}}`, true, "complete"},
		{"configmap", `{kind: ConfigMap}`, true, ""},
	}
	for _, tc := range cases {
		done, note, err := Ready(live(t, tc.doc))
		if err != nil || done != tc.done || !strings.Contains(note, tc.note) {
			t.Errorf("%s: done=%v note=%q err=%v; want done=%v note containing %q", tc.name, done, note, err, tc.done, tc.note)
		}
	}
}

func TestFailedJobIsAnErrorNamingItsLogs(t *testing.T) {
	_, _, err := Ready(live(t, `{kind: Job, metadata: {name: migrate-1, namespace: apps},
		status: {conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded, message: "Job has reached the specified backoff limit"}]}}`))
	if !IsJobFailed(err) {
		t.Fatalf("want a JobFailedError, got %v", err)
	}
	for _, want := range []string{"Job apps/migrate-1 failed", "BackoffLimitExceeded", "kubectl logs -n apps job/migrate-1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
