package dnssync

import (
	"context"
	"sync"
	"time"
)

// scheduler decides when each name is synced: leading-edge dispatch with a trailing write.
//
//   - A change when nothing is pending for the name (no sync queued, in flight or held back by a
//     settle window) is synced at once.
//   - A change while a sync is in flight, or within the settle window after a sync that wrote,
//     waits for the window's end; every change until then is coalesced into that one trailing
//     sync, which reads the latest nodes.
//   - The window after a write is Settle long; when that write had coalesced more than one change
//     (a burst is going on) it is Coalesce long, so a burst costs a few syncs per Coalesce. A
//     sync that wrote nothing (a held plan, deferred deletions, a change that did not alter the
//     records) opens no window: the next change is not delayed by it.
//
// Retries, deferred deletions and rechecks are scheduled here too, so Idle can say when nothing
// is pending at all.
type scheduler struct {
	settle, coalesce time.Duration // coalesce < 0: no pacing at all
	retryBase        time.Duration
	retryMax         time.Duration

	mu        sync.Mutex
	slots     map[string]*slot
	order     []string // names, for a deterministic pick among due slots
	wake      chan struct{}
	closed    bool
	onPending func(pending int) // told the number of pending names after each change of state
}

// slot is one name's scheduling state.
type slot struct {
	due     time.Time // a sync is pending at this time (zero: none)
	routine time.Time // a recheck/resync is scheduled (not "pending": see Idle)
	running bool
	dirty   bool // a change came while the sync was running

	changes  int // change events since the running/last sync started
	lastSync struct {
		start   time.Time
		changes int // change events coalesced into it
	}
	windowEnd time.Time // end of the settle window after the last write
	failures  int
}

func newScheduler(names []string, settle, coalesce, retryBase, retryMax time.Duration) *scheduler {
	s := &scheduler{settle: settle, coalesce: coalesce, retryBase: retryBase, retryMax: retryMax,
		slots: map[string]*slot{}, order: names, wake: make(chan struct{}, 1)}
	for _, n := range names {
		s.slots[n] = &slot{}
	}
	return s
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// at schedules a pending sync of name no later than t.
func (sl *slot) at(t time.Time) {
	if sl.due.IsZero() || t.Before(sl.due) {
		sl.due = t
	}
}

// change records a node change that concerns name.
func (s *scheduler) change(name string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[name]
	sl.changes++
	if sl.running {
		sl.dirty = true
		return
	}
	sl.at(s.paced(sl, now))
	s.signal()
	s.notifyLocked()
}

// paced is when a change arriving at now may be synced.
func (s *scheduler) paced(sl *slot, now time.Time) time.Time {
	if s.coalesce >= 0 && sl.windowEnd.After(now) {
		return sl.windowEnd
	}
	return now
}

// now schedules name at once (start, resync): not a node change, so not counted as one.
func (s *scheduler) now(name string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[name]
	if sl.running {
		sl.dirty = true
		return
	}
	sl.at(now)
	s.signal()
	s.notifyLocked()
}

// resetChanges forgets the change counts (at the start of leading: the node list a replica
// built while it was a standby is not a burst).
func (s *scheduler) resetChanges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.slots {
		sl.changes = 0
	}
}

// recheck schedules a routine sync of name at t (a foreign record recheck).
func (s *scheduler) recheck(name string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[name]
	if sl.routine.IsZero() || t.Before(sl.routine) {
		sl.routine = t
	}
	s.signal()
}

// next blocks until a name is due and marks it running; false when ctx ended or closed.
func (s *scheduler) next(ctx context.Context) (string, bool) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return "", false
		}
		now := time.Now()
		var earliest time.Time
		for _, n := range s.order {
			sl := s.slots[n]
			if sl.running {
				continue
			}
			for _, t := range []time.Time{sl.due, sl.routine} {
				if t.IsZero() {
					continue
				}
				if !t.After(now) {
					sl.running, sl.dirty = true, false
					sl.due, sl.routine = time.Time{}, time.Time{}
					sl.lastSync.start, sl.lastSync.changes = now, sl.changes
					sl.changes = 0
					s.mu.Unlock()
					return n, true
				}
				if earliest.IsZero() || t.Before(earliest) {
					earliest = t
				}
			}
		}
		s.mu.Unlock()
		if !s.wait(ctx, earliest) {
			return "", false
		}
	}
}

// wait blocks until a signal, ctx's end (false) or until (when not zero).
func (s *scheduler) wait(ctx context.Context, until time.Time) bool {
	var timer <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.wake:
	case <-timer:
	}
	return true
}

// outcome is how a sync ended, for done.
type outcome struct {
	writes int           // records written
	retry  bool          // failed: retry with backoff
	after  time.Duration // sync again after this long (deferred deletions, Retry-After, lease)
}

// done records the end of name's running sync.
func (s *scheduler) done(name string, o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[name]
	sl.running = false
	now := time.Now()
	if o.writes > 0 && s.coalesce >= 0 {
		window := s.settle
		if sl.lastSync.changes > 1 {
			window = s.coalesce
		}
		sl.windowEnd = sl.lastSync.start.Add(window)
	}
	switch {
	case o.retry:
		sl.failures++
		backoff := s.retryMax
		if sl.failures < 32 {
			backoff = min(s.retryBase<<(sl.failures-1), s.retryMax)
		}
		sl.at(now.Add(backoff))
	case o.after > 0:
		sl.at(now.Add(o.after))
	default:
		sl.failures = 0
	}
	if sl.dirty {
		sl.dirty = false
		sl.at(s.paced(sl, now))
	}
	s.signal()
	s.notifyLocked()
}

// pendingLocked counts the names with a sync queued, running or waiting (a settle window, a
// retry, deferred deletions); routine rechecks do not count.
func (s *scheduler) pendingLocked() int {
	n := 0
	for _, sl := range s.slots {
		if sl.running || sl.dirty || !sl.due.IsZero() {
			n++
		}
	}
	return n
}

func (s *scheduler) notifyLocked() {
	if s.onPending != nil {
		s.onPending(s.pendingLocked())
	}
}

// pending is the number of names with work pending (see pendingLocked).
func (s *scheduler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

func (s *scheduler) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}
