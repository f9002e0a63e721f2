package dnssync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Config is what the controller keeps in sync and how.
type Config struct {
	Names     []string // fully qualified names whose A/AAAA records follow the nodes
	Settings  Settings
	Selection Selection
	// Resync is how often every name is listed again and repaired (drift made by hand);
	// between resyncs the controller makes no request at all. 0 disables it.
	Resync time.Duration
	DryRun bool
	// DeleteDelay holds back deletions until node events have been quiet that long, so nodes
	// vanishing together (all of them, most often an API or informer problem) count as one change:
	// when none is left, the plan is held instead of shrinking the name record by record. Creates
	// and updates are never delayed. Default 1s; negative disables.
	DeleteDelay time.Duration
	// RetryBase and RetryMax bound the exponential backoff of failed syncs (defaults 100ms, 5m).
	RetryBase, RetryMax time.Duration
}

// Controller is one informer on Nodes and a work queue with one key per name, so a burst of node
// events costs one sync per name.
type Controller struct {
	cfg      Config
	provider Provider
	log      *slog.Logger
	metrics  *Metrics

	factory *NodeInformers
	nodes   corelisters.NodeLister
	synced  cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]

	mu sync.Mutex
	// known is each name's records after its last successful sync. Node events plan against it
	// (no read request); a resync or any error drops it so the next sync lists again.
	known map[string][]Existing

	ready atomic.Bool
	// lastNodeEvent is the UnixNano time of the last relevant node event (see DeleteDelay).
	lastNodeEvent atomic.Int64
}

// waitError asks the queue to come back after a delay without counting a failure.
type waitError struct{ wait time.Duration }

func (e *waitError) Error() string {
	return fmt.Sprintf("deletions held for %s until node events settle", e.wait)
}

// StripNode drops every node field DNS does not read (images, managed fields, capacity, heartbeat
// times, ...): about 90% of a real node object.
func StripNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion, DeletionTimestamp: n.DeletionTimestamp,
	}}
	out.Spec.Unschedulable = n.Spec.Unschedulable
	out.Status.Addresses = n.Status.Addresses
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return out, nil
}

// NewController wires the controller to the factory's node informer. Start the factory with Run.
func NewController(factory *NodeInformers, p Provider, cfg Config, log *slog.Logger, m *Metrics) (*Controller, error) {
	if len(cfg.Names) == 0 {
		return nil, errors.New("dnssync: no names to keep in sync")
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 100 * time.Millisecond
	}
	if cfg.DeleteDelay == 0 {
		cfg.DeleteDelay = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	for i, n := range cfg.Names {
		cfg.Names[i] = CanonicalName(n)
	}
	c := &Controller{cfg: cfg, provider: p, log: log, metrics: m, factory: factory, known: map[string][]Existing{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](cfg.RetryBase, cfg.RetryMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "dnssync"})}
	c.nodes = factory.Lister
	c.synced = factory.Informer.HasSynced
	_, err := factory.Informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*corev1.Node); ok && cfg.Selection.Fingerprint(n) != "" {
				c.nodeEvent()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, _ := oldObj.(*corev1.Node)
			n, _ := newObj.(*corev1.Node)
			if cfg.Selection.Fingerprint(o) != cfg.Selection.Fingerprint(n) {
				c.nodeEvent()
			}
		},
		DeleteFunc: func(any) { c.nodeEvent() },
	})
	return c, err
}

// nodeEvent records a relevant node change and enqueues every name.
func (c *Controller) nodeEvent() {
	c.lastNodeEvent.Store(time.Now().UnixNano())
	c.enqueueAll()
}

func (c *Controller) enqueueAll() {
	for _, n := range c.cfg.Names {
		c.queue.Add(n)
	}
}

// Ready reports whether the node cache has synced (readiness).
func (c *Controller) Ready() bool { return c.ready.Load() }

// Run syncs until ctx ends, then finishes the syncs in flight (bounded by grace) and returns.
func (c *Controller) Run(ctx context.Context, workers int, grace time.Duration) error {
	c.factory.Start(ctx.Done())
	c.log.Info("waiting for the node cache")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		c.queue.ShutDown()
		return ctx.Err()
	}
	c.ready.Store(true)
	c.log.Info("node cache synced; syncing", "names", c.cfg.Names, "owner", c.cfg.Settings.Owner, "dryRun", c.cfg.DryRun)
	c.enqueueAll()

	// API calls outlive ctx by at most grace, so a shutdown does not cut a write in half.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for c.processNext(work) {
			}
		})
	}
	if c.cfg.Resync > 0 {
		wg.Go(func() {
			t := time.NewTicker(c.cfg.Resync)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					c.mu.Lock()
					clear(c.known)
					c.mu.Unlock()
					c.enqueueAll()
				}
			}
		})
	}
	<-ctx.Done()
	c.log.Info("shutting down: finishing syncs in flight", "grace", grace)
	timer := time.AfterFunc(grace, cancelWork)
	defer timer.Stop()
	c.queue.ShutDownWithDrain()
	wg.Wait()
	c.factory.Shutdown()
	return nil
}

// SyncOnce syncs every name once (for --once): nil only if all succeeded.
func (c *Controller) SyncOnce(ctx context.Context) error {
	// A one-shot run plans against a complete node list; nothing to wait for before deleting.
	c.cfg.DeleteDelay = -1
	informerCtx, stop := context.WithCancel(ctx)
	c.factory.Start(informerCtx.Done())
	defer c.factory.Shutdown() // runs after stop: Shutdown waits for the informers to end
	defer stop()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return fmt.Errorf("node cache did not sync: %w", ctx.Err())
	}
	var errs []error
	for _, n := range c.cfg.Names {
		if err := c.Sync(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	err := c.Sync(ctx, name)
	var ra *RetryAfterError
	var we *waitError
	switch {
	case err == nil:
		c.queue.Forget(name)
	case errors.As(err, &we):
		c.queue.AddAfter(name, we.wait)
	case errors.As(err, &ra):
		c.log.Warn("rate limited by Cloudflare; waiting as told", "name", name, "retryAfter", ra.Wait)
		c.queue.AddAfter(name, ra.Wait)
	default:
		c.log.Error("sync failed; retrying with backoff", "name", name, "attempt", c.queue.NumRequeues(name)+1, "err", err)
		c.queue.AddRateLimited(name)
	}
	return true
}

// Sync brings one name's records in line with the nodes.
func (c *Controller) Sync(ctx context.Context, name string) (err error) {
	start := time.Now()
	result := "success"
	defer func() {
		var we *waitError
		if errors.As(err, &we) {
			result = "deferred"
		} else if err != nil {
			result = "error"
			c.mu.Lock()
			delete(c.known, name) // list again next time: the write may or may not have happened
			c.mu.Unlock()
		}
		c.metrics.Syncs.WithLabelValues(result).Inc()
		c.metrics.Duration.WithLabelValues(result).Observe(time.Since(start).Seconds())
	}()

	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		c.metrics.Held.WithLabelValues("node_list_failed").Inc()
		return fmt.Errorf("listing nodes (records kept): %w", err)
	}
	desired, qualifying := Desired(nodes, []string{name}, c.cfg.Selection)
	c.metrics.Qualifying.Set(float64(qualifying))
	if qualifying == 0 {
		result = "held"
		c.metrics.Held.WithLabelValues("no_qualifying_nodes").Inc()
		c.log.Warn("no node qualifies: keeping every record instead of deleting", "name", name, "nodes", len(nodes))
		return nil
	}

	c.mu.Lock()
	current, cached := c.known[name]
	c.mu.Unlock()
	if !cached {
		if current, err = c.provider.List(ctx, name); err != nil {
			return fmt.Errorf("listing records: %w", err)
		}
	}
	plan := MakePlan(desired, current, []string{name}, c.cfg.Settings)
	if len(plan.Foreign) > 0 && !cached {
		for _, f := range plan.Foreign {
			c.log.Info("record not ours: left alone", "name", f.Name, "type", f.Type, "content", f.Content, "comment", f.Comment)
		}
	}
	if c.cfg.DryRun {
		result = "dry_run"
		for _, u := range plan.Updates {
			c.log.Info("dry run: would update", "name", name, "type", u.Type, "from", u.Content, "to", u.To.Content)
		}
		for _, r := range plan.Creates {
			c.log.Info("dry run: would create", "name", name, "type", r.Type, "content", r.Content)
		}
		for _, d := range plan.Deletes {
			c.log.Info("dry run: would delete", "name", name, "type", d.Type, "content", d.Content)
		}
		return nil
	}

	// Updates and creates before deletes: the name never has fewer addresses than it needs.
	state := append([]Existing(nil), current...)
	replace := func(id string, e *Existing) {
		for i := range state {
			if state[i].ID == id {
				if e == nil {
					state = append(state[:i], state[i+1:]...)
				} else {
					state[i] = *e
				}
				return
			}
		}
	}
	for _, u := range plan.Updates {
		e, err := c.provider.Update(ctx, u.ID, u.To, c.cfg.Settings)
		if err != nil {
			return fmt.Errorf("updating %s %s %s -> %s: %w", u.Name, u.Type, u.Content, u.To.Content, err)
		}
		c.metrics.Writes.WithLabelValues("update").Inc()
		c.log.Info("updated", "name", name, "type", u.Type, "from", u.Content, "to", u.To.Content)
		replace(u.ID, &e)
	}
	for _, r := range plan.Creates {
		e, err := c.provider.Create(ctx, r, c.cfg.Settings)
		if err != nil {
			return fmt.Errorf("creating %s %s %s: %w", r.Name, r.Type, r.Content, err)
		}
		c.metrics.Writes.WithLabelValues("create").Inc()
		c.log.Info("created", "name", name, "type", r.Type, "content", r.Content)
		state = append(state, e)
	}
	var deferred error
	if len(plan.Deletes) > 0 && c.cfg.DeleteDelay > 0 {
		if quiet := time.Since(time.Unix(0, c.lastNodeEvent.Load())); quiet < c.cfg.DeleteDelay {
			deferred = &waitError{wait: c.cfg.DeleteDelay - quiet}
			plan.Deletes = nil
		}
	}
	for _, d := range plan.Deletes {
		if err := c.provider.Delete(ctx, d.ID); err != nil {
			var nf *NotFoundError
			if !errors.As(err, &nf) { // already gone is what we wanted
				return fmt.Errorf("deleting %s %s %s: %w", d.Name, d.Type, d.Content, err)
			}
		}
		c.metrics.Writes.WithLabelValues("delete").Inc()
		c.log.Info("deleted", "name", name, "type", d.Type, "content", d.Content)
		replace(d.ID, nil)
	}
	c.mu.Lock()
	c.known[name] = state
	c.mu.Unlock()
	if deferred != nil {
		return deferred
	}
	managed := 0
	for _, e := range state {
		if c.cfg.Settings.Owned(e) {
			managed++
		}
	}
	c.metrics.Records.WithLabelValues(name, "managed").Set(float64(managed))
	c.metrics.Records.WithLabelValues(name, "foreign").Set(float64(len(plan.Foreign)))
	c.metrics.LastSuccess.WithLabelValues(name).SetToCurrentTime()
	if !plan.Empty() {
		c.log.Info("synced", "name", name, "writes", plan.Writes(), "took", time.Since(start))
	}
	return nil
}
