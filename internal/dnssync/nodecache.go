package dnssync

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// NodeCache is the controller's informer: it lists the Nodes, then watches them from the list's
// resourceVersion, and lists again when the watch answers 410 Gone (its resourceVersion is too
// old, e.g. after a long apiserver outage). Every change reaches OnChange (old nil: added; new
// nil: deleted), also changes found by a new list.
type NodeCache struct {
	src      NodeSource
	selector string
	log      *slog.Logger
	// OnChange is called for each changed node, outside the cache's lock. Set it before Start.
	OnChange func(old, new *Node)

	mu     sync.RWMutex
	nodes  map[string]Node
	synced atomic.Bool
	syncCh chan struct{}

	startOnce sync.Once
	done      chan struct{}
}

// NewNodeCache watches the Nodes of src matching labelSelector ("" = all).
func NewNodeCache(src NodeSource, labelSelector string, log *slog.Logger) *NodeCache {
	return &NodeCache{src: src, selector: labelSelector, log: log, nodes: map[string]Node{},
		syncCh: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the cache until ctx ends (once; later calls do nothing). Done is closed after.
func (c *NodeCache) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		go func() {
			defer close(c.done)
			c.run(ctx)
		}()
	})
}

// Done is closed when a started cache has stopped.
func (c *NodeCache) Done() <-chan struct{} { return c.done }

// Synced reports whether the first list has been stored.
func (c *NodeCache) Synced() bool { return c.synced.Load() }

// WaitSynced waits for the first list; false if ctx ended first.
func (c *NodeCache) WaitSynced(ctx context.Context) bool {
	select {
	case <-c.syncCh:
		return true
	case <-ctx.Done():
		return false
	}
}

// List returns the cached Nodes, sorted by name.
func (c *NodeCache) List() []Node {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Node, 0, len(c.nodes))
	for _, k := range slices.Sorted(maps.Keys(c.nodes)) {
		out = append(out, c.nodes[k])
	}
	return out
}

func (c *NodeCache) notify(old, new *Node) {
	if c.OnChange != nil {
		c.OnChange(old, new)
	}
}

// replace stores a complete list and reports what changed.
func (c *NodeCache) replace(nodes []Node) {
	c.mu.Lock()
	prev := c.nodes
	c.nodes = make(map[string]Node, len(nodes))
	for _, n := range nodes {
		c.nodes[n.Metadata.Name] = n
	}
	c.mu.Unlock()
	for _, n := range nodes {
		if old, ok := prev[n.Metadata.Name]; !ok {
			c.notify(nil, &n)
		} else if old.Metadata.ResourceVersion != n.Metadata.ResourceVersion {
			c.notify(&old, &n)
		}
	}
	for name, old := range prev {
		if _, ok := c.nodes[name]; !ok {
			c.notify(&old, nil)
		}
	}
	if c.synced.CompareAndSwap(false, true) {
		close(c.syncCh)
	}
}

func (c *NodeCache) apply(typ string, n Node) {
	c.mu.Lock()
	old, had := c.nodes[n.Metadata.Name]
	switch typ {
	case "ADDED", "MODIFIED":
		c.nodes[n.Metadata.Name] = n
	case "DELETED":
		delete(c.nodes, n.Metadata.Name)
	}
	c.mu.Unlock()
	var o *Node
	if had {
		o = &old
	}
	switch typ {
	case "ADDED", "MODIFIED":
		c.notify(o, &n)
	case "DELETED":
		if had {
			c.notify(o, nil)
		}
	}
}

// backoff doubles from 100 ms to 10 s.
type backoff struct{ d time.Duration }

func (b *backoff) wait(ctx context.Context) bool {
	b.d = min(max(2*b.d, 100*time.Millisecond), 10*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(b.d):
		return true
	}
}

func (b *backoff) reset() { b.d = 0 }

func (c *NodeCache) run(ctx context.Context) {
	var bo backoff
	for ctx.Err() == nil {
		nodes, rv, err := c.src.ListNodes(ctx, c.selector)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("listing nodes failed; retrying", "err", err)
			}
			if !bo.wait(ctx) {
				return
			}
			continue
		}
		c.replace(nodes)
		c.watch(ctx, rv, &bo)
		// The watch expired (410): list again, after a pause that grows while no event comes.
		if !bo.wait(ctx) {
			return
		}
	}
}

// watch follows events from rv until ctx ends or the watch answers 410 Gone (list again).
func (c *NodeCache) watch(ctx context.Context, rv string, bo *backoff) {
	for ctx.Err() == nil {
		w, err := c.src.WatchNodes(ctx, c.selector, rv)
		if err != nil {
			if IsGone(err) {
				return
			}
			if ctx.Err() == nil {
				c.log.Warn("watching nodes failed; retrying", "err", err)
			}
			if !bo.wait(ctx) {
				return
			}
			continue
		}
		// Next blocks until an event comes; closing the watch ends it when ctx does.
		stopClosing := context.AfterFunc(ctx, w.Close)
		opened := time.Now()
		for {
			typ, n, err := w.Next()
			if err != nil {
				stopClosing()
				w.Close()
				if IsGone(err) {
					c.log.Info("node watch expired; listing again")
					return
				}
				// The connection ended (the server's timeout, an apiserver restart): watch again
				// from rv. A watch that ran its course is no failure: no growing pause after it.
				if errors.Is(err, io.EOF) && time.Since(opened) >= 500*time.Millisecond {
					bo.reset()
				}
				break
			}
			bo.reset()
			if n.Metadata.ResourceVersion != "" {
				rv = n.Metadata.ResourceVersion
			}
			if typ != "BOOKMARK" {
				c.apply(typ, n)
			}
		}
		if ctx.Err() == nil && !bo.wait(ctx) {
			return
		}
	}
}
