package dnssync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
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
	// Settle and Coalesce pace one name's syncs (see scheduler): a change when nothing is
	// pending is synced at once; a change while a sync is in flight or within the settle window
	// after a write waits for the window's end, coalesced with every other change until then
	// into one trailing sync. The window after a write is Settle (default 150ms, at most
	// Coalesce), or Coalesce (default 1s) when that write had coalesced several changes (a
	// burst): a burst costs a few syncs with the latest addresses instead of one per change.
	// Coalesce negative: no pacing at all.
	Settle, Coalesce time.Duration
	// ForeignRecheck is how soon a name is listed again while one of its desired addresses is
	// served only by a foreign record (records cannot be watched): when its owner removes it,
	// the controller creates its own within this period. Default 1m; negative: only at Resync.
	ForeignRecheck time.Duration
	// Fence, when set, says until when this process may write (its leader lease is valid);
	// false: it may not write at all. Every write is cut off at that time.
	Fence func() (time.Time, bool)
	// RetryBase and RetryMax bound the exponential backoff of failed syncs (defaults 100ms, 5m).
	RetryBase, RetryMax time.Duration
}

// Controller is the node cache and a work queue with one key per name, so a burst of node
// events costs few syncs per name.
type Controller struct {
	cfg      Config
	provider Provider
	log      *slog.Logger
	metrics  *Metrics

	nodes *NodeCache
	sched *scheduler

	mu sync.Mutex
	// known is each name's records after its last successful sync. Node events plan against it
	// (no read request); a plan that creates or updates lists again first; a resync or any error
	// drops it.
	known map[string]knownRecords
	// succeeded names have had a successful sync (readiness).
	succeeded map[string]bool

	ready atomic.Bool
	// lastNodeEvent is the UnixNano time of the last relevant node event (see DeleteDelay).
	lastNodeEvent atomic.Int64
}

type knownRecords struct {
	records []Existing
	listed  time.Time
	// foreignServed: a desired address is served only by a foreign record (see ForeignRecheck).
	foreignServed bool
}

// waitError asks the queue to come back after a delay without counting a failure.
type waitError struct{ wait time.Duration }

func (e *waitError) Error() string {
	return fmt.Sprintf("deletions held for %s until node events settle", e.wait)
}

// errNotLeader: the leader lease is not (or no longer) valid; nothing is written.
var errNotLeader = errors.New("not the leader (lease not valid): not writing")

// NewController wires the controller to the node cache. Start the cache with Run (or before).
func NewController(nodes *NodeCache, p Provider, cfg Config, log *slog.Logger, m *Metrics) (*Controller, error) {
	if len(cfg.Names) == 0 {
		return nil, errors.New("dnssync: no names to keep in sync")
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 100 * time.Millisecond
	}
	if cfg.DeleteDelay == 0 {
		cfg.DeleteDelay = time.Second
	}
	if cfg.Coalesce == 0 {
		cfg.Coalesce = time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 150 * time.Millisecond
	}
	cfg.Settle = min(cfg.Settle, max(cfg.Coalesce, 0))
	if cfg.ForeignRecheck == 0 {
		cfg.ForeignRecheck = time.Minute
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	for i, n := range cfg.Names {
		cfg.Names[i] = CanonicalName(n)
	}
	c := &Controller{cfg: cfg, provider: p, log: log, metrics: m, nodes: nodes,
		known: map[string]knownRecords{}, succeeded: map[string]bool{},
		sched: newScheduler(cfg.Names, cfg.Settle, cfg.Coalesce, cfg.RetryBase, cfg.RetryMax)}
	c.sched.onPending = func(n int) { m.Pending.Set(float64(n)) }
	nodes.OnChange = func(old, new *Node) {
		if cfg.Selection.Fingerprint(old) != cfg.Selection.Fingerprint(new) {
			c.nodeEvent()
		}
	}
	return c, nil
}

// nodeEvent records a relevant node change and schedules every name.
func (c *Controller) nodeEvent() {
	now := time.Now()
	c.lastNodeEvent.Store(now.UnixNano())
	for _, n := range c.cfg.Names {
		c.sched.change(n, now)
	}
}

// syncAll schedules every name at once (start, resync); not a node change.
func (c *Controller) syncAll() {
	now := time.Now()
	for _, n := range c.cfg.Names {
		c.sched.now(n, now)
	}
}

// Ready reports whether the node cache has synced and every name has been synced once.
func (c *Controller) Ready() bool { return c.ready.Load() }

// Idle reports whether no sync is pending: none queued, running, or waiting for a settle window,
// a retry or deferred deletions (a scheduled recheck of a foreign-served name does not count).
// Also the metric dnssync_pending_names.
func (c *Controller) Idle() bool { return c.sched.pending() == 0 }

// Run syncs until ctx ends, then finishes the syncs in flight (bounded by grace) and returns.
// It starts the node cache with ctx unless it was started already.
func (c *Controller) Run(ctx context.Context, workers int, grace time.Duration) error {
	c.nodes.Start(ctx)
	c.log.Info("waiting for the node cache")
	if !c.nodes.WaitSynced(ctx) {
		return ctx.Err()
	}
	c.log.Info("node cache synced; syncing", "names", c.cfg.Names, "owner", c.cfg.Settings.Owner, "dryRun", c.cfg.DryRun)
	// The nodes listed before (at start, or while a standby) are the starting state, not a burst.
	c.sched.resetChanges()
	c.syncAll()

	// API calls outlive ctx by at most grace, so a shutdown does not cut a write in half.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for c.processNext(ctx, work) {
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
					c.syncAll()
				}
			}
		})
	}
	<-ctx.Done()
	c.log.Info("shutting down: finishing syncs in flight", "grace", grace)
	timer := time.AfterFunc(grace, cancelWork)
	defer timer.Stop()
	c.sched.close()
	wg.Wait()
	return nil
}

// SyncOnce syncs every name once (for --once): nil only if all succeeded.
func (c *Controller) SyncOnce(ctx context.Context) error {
	// A one-shot run plans against a complete node list; nothing to wait for before deleting.
	c.cfg.DeleteDelay = -1
	cacheCtx, stop := context.WithCancel(ctx)
	c.nodes.Start(cacheCtx)
	defer func() { stop(); <-c.nodes.Done() }()
	if !c.nodes.WaitSynced(ctx) {
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

// processNext waits for the next name due (until ctx ends), syncs it with work (which outlives
// ctx by the shutdown grace) and schedules what follows; false when the controller stops.
func (c *Controller) processNext(ctx, work context.Context) bool {
	name, ok := c.sched.next(ctx)
	if !ok {
		return false
	}
	writes, err := c.sync(work, name)
	var ra *RetryAfterError
	var we *waitError
	o := outcome{writes: writes}
	switch {
	case err == nil:
	case errors.As(err, &we):
		o.after = we.wait
	case errors.As(err, &ra):
		c.log.Warn("rate limited by Cloudflare; waiting as told", "name", name, "retryAfter", ra.Wait)
		o.after = ra.Wait
	case errors.Is(err, errNotLeader):
		c.log.Warn("not writing: the leader lease is not valid", "name", name)
		o.retry = true
	default:
		c.log.Error("sync failed; retrying with backoff", "name", name, "err", err)
		o.retry = true
	}
	c.sched.done(name, o)
	return true
}

// writeContext bounds one write by the leader lease (see Config.Fence).
func (c *Controller) writeContext(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if c.cfg.Fence == nil {
		return ctx, func() {}, nil
	}
	until, ok := c.cfg.Fence()
	if !ok || !time.Now().Before(until) {
		return nil, nil, errNotLeader
	}
	wctx, cancel := context.WithDeadline(ctx, until)
	return wctx, cancel, nil
}

func (c *Controller) list(ctx context.Context, name string) (knownRecords, error) {
	now := time.Now()
	recs, err := c.provider.List(ctx, name)
	if err != nil {
		return knownRecords{}, fmt.Errorf("listing records: %w", err)
	}
	return knownRecords{records: recs, listed: now}, nil
}

// Sync brings one name's records in line with the nodes.
func (c *Controller) Sync(ctx context.Context, name string) error {
	_, err := c.sync(ctx, name)
	return err
}

// sync is Sync, also returning how many records it wrote (what opens a settle window).
func (c *Controller) sync(ctx context.Context, name string) (writes int, err error) {
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
		} else {
			c.mu.Lock()
			c.succeeded[name] = true
			c.ready.Store(len(c.succeeded) == len(c.cfg.Names))
			c.mu.Unlock()
		}
		c.metrics.Syncs.Inc(result)
		c.metrics.Duration.Observe(time.Since(start).Seconds(), result)
	}()

	nodes := c.nodes.List()
	desired, qualifying := Desired(nodes, []string{name}, c.cfg.Selection)
	c.metrics.Qualifying.Set(float64(qualifying))
	if qualifying == 0 {
		result = "held"
		c.metrics.Held.Inc("no_qualifying_nodes")
		c.log.Warn("no node qualifies: keeping every record instead of deleting", "name", name, "nodes", len(nodes))
		return 0, nil
	}

	c.mu.Lock()
	kn, cached := c.known[name]
	c.mu.Unlock()
	if cached && kn.foreignServed && c.cfg.ForeignRecheck > 0 && time.Since(kn.listed) >= c.cfg.ForeignRecheck {
		cached = false // a foreign record we rely on may be gone
	}
	if !cached {
		if kn, err = c.list(ctx, name); err != nil {
			return 0, err
		}
	}
	plan := MakePlan(desired, kn.records, []string{name}, c.cfg.Settings)
	if cached && len(plan.Creates)+len(plan.Updates) > 0 {
		// Records made since the last list (by hand, by another owner) must be seen before
		// writing: an address one of them serves would be refused as an identical record.
		if kn, err = c.list(ctx, name); err != nil {
			return 0, err
		}
		cached = false
		plan = MakePlan(desired, kn.records, []string{name}, c.cfg.Settings)
	}
	if !cached {
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
		return 0, nil
	}

	// Updates and creates before deletes: the name never has fewer addresses than it needs.
	state := append([]Existing(nil), kn.records...)
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
	write := func(op func(context.Context) error) error {
		wctx, cancel, err := c.writeContext(ctx)
		if err != nil {
			return err
		}
		defer cancel()
		return op(wctx)
	}
	for _, u := range plan.Updates {
		var e Existing
		if err := write(func(ctx context.Context) (err error) {
			e, err = c.provider.Update(ctx, u.ID, u.To, c.cfg.Settings)
			return err
		}); err != nil {
			return writes, fmt.Errorf("updating %s %s %s -> %s: %w", u.Name, u.Type, u.Content, u.To.Content, err)
		}
		writes++
		c.metrics.Writes.Inc("update")
		c.log.Info("updated", "name", name, "type", u.Type, "from", u.Content, "to", u.To.Content)
		replace(u.ID, &e)
	}
	for _, r := range plan.Creates {
		var e Existing
		if err := write(func(ctx context.Context) (err error) {
			e, err = c.provider.Create(ctx, r, c.cfg.Settings)
			return err
		}); err != nil {
			return writes, fmt.Errorf("creating %s %s %s: %w", r.Name, r.Type, r.Content, err)
		}
		writes++
		c.metrics.Writes.Inc("create")
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
		if err := write(func(ctx context.Context) error { return c.provider.Delete(ctx, d.ID) }); err != nil {
			var nf *NotFoundError
			if !errors.As(err, &nf) { // already gone is what we wanted
				return writes, fmt.Errorf("deleting %s %s %s: %w", d.Name, d.Type, d.Content, err)
			}
		}
		writes++
		c.metrics.Writes.Inc("delete")
		c.log.Info("deleted", "name", name, "type", d.Type, "content", d.Content)
		replace(d.ID, nil)
	}
	c.mu.Lock()
	c.known[name] = knownRecords{records: state, listed: kn.listed, foreignServed: len(plan.ForeignServed) > 0}
	c.mu.Unlock()
	if len(plan.ForeignServed) > 0 && c.cfg.ForeignRecheck > 0 {
		for _, r := range plan.ForeignServed {
			if !cached {
				c.log.Info("address served by a foreign record: not duplicated; listing again to notice its removal",
					"name", name, "type", r.Type, "content", r.Content, "in", c.cfg.ForeignRecheck)
			}
		}
		c.sched.recheck(name, kn.listed.Add(c.cfg.ForeignRecheck))
	}
	if deferred != nil {
		return writes, deferred
	}
	managed := 0
	for _, e := range state {
		if c.cfg.Settings.Owned(e) {
			managed++
		}
	}
	c.metrics.Records.Set(float64(managed), name, "managed")
	c.metrics.Records.Set(float64(len(plan.Foreign)), name, "foreign")
	c.metrics.LastSuccess.Set(float64(time.Now().UnixNano())/1e9, name)
	if !plan.Empty() {
		c.log.Info("synced", "name", name, "writes", plan.Writes(), "took", time.Since(start))
	}
	return writes, nil
}
