package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// Change is one step the engine planned or took for a resource.
type Change struct {
	Op   string // create, update, replace, create-replacement, delete-replaced, delete, same, ...
	Type string // e.g. kubernetes:core/v1:ConfigMap
	Name string // the resource's logical name
	URN  string
}

// Changes are a run's steps; Changed drops the unchanged ones.
type Changes []Change

// Changed are the steps that change something, sorted by type and name.
func (cs Changes) Changed() Changes {
	var out Changes
	for _, c := range cs {
		if c.Op != "same" && c.Op != "read" && c.Op != "refresh" {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Op < out[j].Op
	})
	return out
}

// Result is what a preview, up or destroy did.
type Result struct {
	Changes Changes
	// Counts per operation, as the engine summarises them ("same": 30, "update": 2).
	Counts  map[string]int
	Outputs auto.OutputMap
}

// collector gathers the engine's per-resource steps from its event stream.
type collector struct {
	ch   chan events.EngineEvent
	done chan struct{}
	mu   sync.Mutex
	seen map[string]Change // by URN and op: a replace shows several steps
}

func newCollector() *collector {
	c := &collector{ch: make(chan events.EngineEvent), done: make(chan struct{}), seen: map[string]Change{}}
	go func() {
		defer close(c.done)
		for e := range c.ch {
			if e.ResourcePreEvent == nil {
				continue
			}
			m := e.ResourcePreEvent.Metadata
			if m.Type == "pulumi:pulumi:Stack" {
				continue
			}
			name := m.URN
			if i := strings.LastIndex(name, "::"); i >= 0 {
				name = name[i+2:]
			}
			c.mu.Lock()
			c.seen[m.URN+" "+string(m.Op)] = Change{Op: string(m.Op), Type: m.Type, Name: name, URN: m.URN}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) changes() Changes {
	<-c.done
	out := make(Changes, 0, len(c.seen))
	for _, ch := range c.seen {
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN+out[i].Op < out[j].URN+out[j].Op })
	return out
}

// Preview is `pulumi preview --diff`: what an up would do, nothing changed.
func (s *Stack) Preview(ctx context.Context) (Result, error) {
	if err := s.recoverInterrupted(ctx); err != nil {
		return Result{}, err
	}
	c := newCollector()
	res, err := s.stack.Preview(ctx, optpreview.Diff(), optpreview.ProgressStreams(s.opts.Progress),
		optpreview.ErrorProgressStreams(s.opts.Progress), optpreview.EventStreams(c.ch))
	changes := c.changes()
	if err != nil {
		return Result{Changes: changes}, fmt.Errorf("preview of %s: %w", s.opts.Stack, engineError(err))
	}
	counts := map[string]int{}
	for op, n := range res.ChangeSummary {
		counts[string(op)] = n
	}
	return Result{Changes: changes, Counts: counts}, nil
}

// Up is `pulumi up`: the engine creates, updates, replaces and deletes until the cluster matches
// the configuration, awaiting each workload's readiness through the provider.
func (s *Stack) Up(ctx context.Context) (Result, error) {
	if err := s.recoverInterrupted(ctx); err != nil {
		return Result{}, err
	}
	c := newCollector()
	start := time.Now()
	res, err := s.stack.Up(ctx, optup.ProgressStreams(s.opts.Progress),
		optup.ErrorProgressStreams(s.opts.Progress), optup.EventStreams(c.ch))
	changes := c.changes()
	if err != nil {
		// Read with a context of its own: an interrupted update still shows why a Job failed.
		logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		return Result{Changes: changes}, fmt.Errorf("update of %s: %w%s", s.opts.Stack, engineError(err), failedReleaseJobs(logCtx, s.config, start))
	}
	counts := map[string]int{}
	if res.Summary.ResourceChanges != nil {
		counts = *res.Summary.ResourceChanges
	}
	return Result{Changes: changes, Counts: counts, Outputs: res.Outputs}, nil
}

// Destroy is `pulumi destroy`: every resource of the stack is deleted; the stack's state stays
// (empty), so its history and generated secrets are kept for the next up.
func (s *Stack) Destroy(ctx context.Context) (Result, error) {
	if err := s.recoverInterrupted(ctx); err != nil {
		return Result{}, err
	}
	c := newCollector()
	res, err := s.stack.Destroy(ctx, optdestroy.ProgressStreams(s.opts.Progress),
		optdestroy.ErrorProgressStreams(s.opts.Progress), optdestroy.EventStreams(c.ch))
	changes := c.changes()
	if err != nil {
		return Result{Changes: changes}, fmt.Errorf("destroy of %s: %w", s.opts.Stack, engineError(err))
	}
	counts := map[string]int{}
	if res.Summary.ResourceChanges != nil {
		counts = *res.Summary.ResourceChanges
	}
	return Result{Changes: changes, Counts: counts}, nil
}

// Outputs are the stack's current outputs.
func (s *Stack) Outputs(ctx context.Context) (auto.OutputMap, error) {
	return s.stack.Outputs(ctx)
}

// engineError keeps the engine's own explanation (the diagnostics at the end of its output)
// rather than the wrapper's "exit status 255" with the whole transcript.
func engineError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "Diagnostics:"); i >= 0 {
		msg = msg[i:]
	}
	if i := strings.Index(msg, "\nResources:"); i >= 0 {
		msg = msg[:i]
	}
	if auto.IsConcurrentUpdateError(err) {
		msg = "another update of this stack is running (or one was killed: its lock is removed automatically once its process is gone): " + msg
	}
	return fmt.Errorf("%s", strings.TrimSpace(msg))
}

// pendingOperation is the part of the state's pending_operations an interrupted update leaves.
type pendingOperation struct {
	Type     string `json:"type"`
	Resource struct {
		URN    string         `json:"urn"`
		Type   string         `json:"type"`
		ID     string         `json:"id"`
		Inputs map[string]any `json:"inputs"`
	} `json:"resource"`
}

// recoverInterrupted finishes what an interrupted update (Ctrl-C, a killed process) left: the
// engine records operations it started but could not see finish. A Kubernetes object whose create
// was pending is imported by its name (it may exist in the cluster: adopting it means nothing is
// created twice); any other pending create is dropped from the state and made again by the next up.
func (s *Stack) recoverInterrupted(ctx context.Context) error {
	state, err := s.stack.Export(ctx)
	if err != nil {
		return fmt.Errorf("reading the state of %s: %w", s.opts.Stack, err)
	}
	var d struct {
		Pending []pendingOperation `json:"pending_operations"`
	}
	if len(state.Deployment) > 0 {
		if err := json.Unmarshal(state.Deployment, &d); err != nil {
			return fmt.Errorf("reading the state of %s: %w", s.opts.Stack, err)
		}
	}
	if len(d.Pending) == 0 {
		return nil
	}
	var imports []optrefresh.PendingCreate
	for _, op := range d.Pending {
		if op.Type != "creating" {
			continue
		}
		if id := kubernetesID(op.Resource.Type, op.Resource.Inputs); id != "" {
			imports = append(imports, optrefresh.PendingCreate{URN: op.Resource.URN, ID: id})
		}
	}
	fmt.Fprintf(s.opts.Progress, "engine: the last update of %s was interrupted with %d operation(s) in flight; refreshing them from the cluster first\n",
		s.opts.Stack, len(d.Pending))
	opts := []optrefresh.Option{optrefresh.ProgressStreams(s.opts.Progress), optrefresh.ErrorProgressStreams(s.opts.Progress)}
	if len(imports) > 0 {
		opts = append(opts, optrefresh.ImportPendingCreates(imports))
	} else {
		opts = append(opts, optrefresh.ClearPendingCreates())
	}
	if _, err := s.stack.Refresh(ctx, opts...); err != nil {
		return fmt.Errorf("recovering the interrupted update of %s: %w", s.opts.Stack, engineError(err))
	}
	return nil
}

// kubernetesID is the provider's id of a Kubernetes object from its inputs: namespace/name, or
// name for cluster-scoped objects; "" for other resources.
func kubernetesID(typ string, inputs map[string]any) string {
	if !strings.HasPrefix(typ, "kubernetes:") || strings.HasPrefix(typ, "pulumi:providers:") {
		return ""
	}
	meta, _ := inputs["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return ""
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}
