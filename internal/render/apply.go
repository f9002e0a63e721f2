package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// FieldManager owns the fields shoestring applies (server-side apply).
const FieldManager = "shoestring"

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun sends every object with dryRun=All: the apiserver validates and admits it, nothing
	// is stored.
	DryRun bool
	// CreateNamespaces applies the render's Namespaces for real even in a dry run, so the
	// objects in them can be checked (dry-run objects in a missing namespace are rejected).
	CreateNamespaces bool
	// Wait waits at the end until every Job has completed and every workload is ready. Objects
	// that later waves depend on are always awaited before those waves.
	Wait bool
	// Timeout bounds each wait (default 5 minutes).
	Timeout time.Duration
	// Progress receives one line per applied object and while waiting (nil: silent).
	Progress io.Writer
}

// Apply sends a render (from Write) to a cluster with server-side apply, wave by wave.
func Apply(ctx context.Context, cfg *rest.Config, dir string, opts ApplyOptions) error {
	order, err := ReadOrder(dir)
	if err != nil {
		return err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	a, err := newApplier(cfg, opts)
	if err != nil {
		return err
	}
	objs := make([]*unstructured.Unstructured, len(order.Objects))
	for i, o := range order.Objects {
		if objs[i], err = readManifest(dir, o); err != nil {
			return err
		}
	}
	var awaitedAll []int
	for wave := 0; wave < order.Waves; wave++ {
		var awaitNow []int
		for i, o := range order.Objects {
			if o.Wave != wave {
				continue
			}
			if err := a.apply(ctx, &o, objs[i]); err != nil {
				return err
			}
			if Awaited(o.APIVersion, o.Kind) {
				awaitedAll = append(awaitedAll, i)
				if o.AwaitBeforeDependents {
					awaitNow = append(awaitNow, i)
				}
			}
		}
		if len(awaitNow) > 0 && !opts.DryRun {
			if err := a.await(ctx, order, objs, awaitNow, fmt.Sprintf("wave %d", wave)); err != nil {
				return err
			}
		}
	}
	if opts.Wait && !opts.DryRun && len(awaitedAll) > 0 {
		return a.await(ctx, order, objs, awaitedAll, "rollout")
	}
	return nil
}

func readManifest(dir string, o Object) (*unstructured.Unstructured, error) {
	path := filepath.Join(dir, filepath.FromSlash(o.File))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

type applier struct {
	opts   ApplyOptions
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	out    io.Writer
}

func newApplier(cfg *rest.Config, opts ApplyOptions) (*applier, error) {
	cfg = withRate(cfg)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	out := opts.Progress
	if out == nil {
		out = io.Discard
	}
	return &applier{opts: opts, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), out: out}, nil
}

func (a *applier) resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A CustomResourceDefinition applied in an earlier wave: learn its kinds.
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("the cluster does not serve %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return a.dyn.Resource(m.Resource), nil
	}
	ns := u.GetNamespace()
	if ns == "" {
		ns = "default"
		u.SetNamespace(ns)
	}
	return a.dyn.Resource(m.Resource).Namespace(ns), nil
}

func (a *applier) apply(ctx context.Context, o *Object, u *unstructured.Unstructured) error {
	ri, err := a.resource(u)
	if err != nil {
		return fmt.Errorf("%s (%s): %w", o.Ref(), o.File, err)
	}
	body, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	popts := metav1.PatchOptions{FieldManager: FieldManager, Force: ptr(true)}
	realNamespace := o.APIVersion == "v1" && o.Kind == "Namespace" && a.opts.CreateNamespaces
	if a.opts.DryRun && !realNamespace {
		popts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, popts)
	if err != nil {
		if a.opts.DryRun && apierrors.IsNotFound(err) && o.Namespace != "" {
			return fmt.Errorf("%s (%s): %w; a dry run cannot check objects in a namespace that does not exist yet: add --create-namespaces", o.Ref(), o.File, err)
		}
		return fmt.Errorf("%s (%s) was refused: %w", o.Ref(), o.File, err)
	}
	verb := "applied"
	if len(popts.DryRun) > 0 {
		verb = "accepted (dry run)"
	}
	fmt.Fprintf(a.out, "apply: %s %s\n", verb, o.Ref())
	return nil
}

// await waits until the objects at idx are done (Jobs complete, workloads ready), printing
// progress every few seconds; a failed Job ends the wait with an error naming it.
func (a *applier) await(ctx context.Context, order *Order, objs []*unstructured.Unstructured, idx []int, what string) error {
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	pending := append([]int(nil), idx...)
	lastReport := time.Time{}
	for {
		var still []int
		var notes []string
		for _, i := range pending {
			o := &order.Objects[i]
			ri, err := a.resource(objs[i])
			if err != nil {
				return err
			}
			live, err := ri.Get(ctx, o.Name, metav1.GetOptions{})
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("timed out after %s waiting for %s; %s was not done", a.opts.Timeout, what, o.Ref())
				}
				return fmt.Errorf("reading %s: %w", o.Ref(), err)
			}
			done, note, err := Ready(live)
			if err != nil {
				return err
			}
			if !done {
				still = append(still, i)
				notes = append(notes, fmt.Sprintf("%s: %s", o.Ref(), note))
			}
		}
		if len(still) == 0 {
			fmt.Fprintf(a.out, "apply: %s done (%d awaited)\n", what, len(idx))
			return nil
		}
		pending = still
		if ctx.Err() != nil {
			return fmt.Errorf("timed out after %s waiting for %s:\n  %s", a.opts.Timeout, what, strings.Join(notes, "\n  "))
		}
		if time.Since(lastReport) > 3*time.Second {
			fmt.Fprintf(a.out, "apply: waiting (%s) for %s\n", what, strings.Join(notes, "; "))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Ready reports whether a live Job has completed or a live workload is fully rolled out, with a
// short note of where it stands. A failed Job is an error naming it and how to read its logs.
func Ready(u *unstructured.Unstructured) (bool, string, error) {
	gen := u.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	num := func(path ...string) int64 {
		v, _, _ := unstructured.NestedInt64(u.Object, path...)
		return v
	}
	switch u.GetKind() {
	case "Job":
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if cm["status"] != "True" {
				continue
			}
			switch cm["type"] {
			case "Complete":
				return true, "complete", nil
			case "Failed":
				return false, "", &JobFailedError{Namespace: u.GetNamespace(), Name: u.GetName(), Reason: fmt.Sprint(cm["reason"]), Message: fmt.Sprint(cm["message"])}
			}
		}
		return false, fmt.Sprintf("running (%d active, %d succeeded, %d failed)", num("status", "active"), num("status", "succeeded"), num("status", "failed")), nil
	case "Deployment", "StatefulSet":
		want := int64(1)
		if v, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); found {
			want = v
		}
		ready, updated := num("status", "readyReplicas"), num("status", "updatedReplicas")
		note := fmt.Sprintf("%d/%d ready, %d updated", ready, want, updated)
		if msg := failureCondition(u); msg != "" {
			note += " (" + msg + ")"
		}
		done := observed >= gen && ready == want && updated == want && num("status", "replicas") == want
		if u.GetKind() == "Deployment" {
			done = done && num("status", "availableReplicas") == want
		}
		return done, note, nil
	case "DaemonSet":
		desired, ready, updated := num("status", "desiredNumberScheduled"), num("status", "numberReady"), num("status", "updatedNumberScheduled")
		note := fmt.Sprintf("%d/%d ready, %d updated", ready, desired, updated)
		return observed >= gen && ready == desired && updated == desired, note, nil
	}
	return true, "", nil
}

// failureCondition is the message of a workload condition that explains a stuck rollout.
func failureCondition(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if (cm["type"] == "ReplicaFailure" && cm["status"] == "True") || (cm["type"] == "Progressing" && cm["status"] == "False") {
			return fmt.Sprint(cm["message"])
		}
	}
	return ""
}

// JobFailedError is a Job that ended Failed while apply waited for it.
type JobFailedError struct {
	Namespace, Name, Reason, Message string
}

func (e *JobFailedError) Error() string {
	return fmt.Sprintf("Job %s/%s failed (%s: %s); nothing after it was applied. Read its logs with `kubectl logs -n %s job/%s` and its pods with `kubectl describe pods -n %s -l job-name=%s`",
		e.Namespace, e.Name, e.Reason, e.Message, e.Namespace, e.Name, e.Namespace, e.Name)
}

// IsJobFailed reports whether err is (or wraps) a JobFailedError.
func IsJobFailed(err error) bool {
	var j *JobFailedError
	return errors.As(err, &j)
}

// withRate lifts client-go's default client-side limit (5 requests/s), which would make an apply
// of a few dozen objects and its readiness polls wait on the client rather than the apiserver.
func withRate(cfg *rest.Config) *rest.Config {
	if cfg.QPS != 0 {
		return cfg
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	return cfg
}

func ptr[T any](v T) *T { return &v }
