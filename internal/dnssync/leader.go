package dnssync

// Leader election on a coordination.k8s.io/v1 Lease with client-go's tools/leaderelection rules,
// written here because that package links client-go's whole clientset and informers (its
// resident cost is measured in docs/dns-sync.md). The guarantees, tested on a real kube-apiserver:
//
//   - a candidate takes the Lease only when it is free, or when its holder has not renewed it for
//     LeaseDuration as observed on the candidate's own clock (from the moment the candidate
//     first saw the Lease's current version); updates carry the resourceVersion read, so two
//     candidates cannot both win;
//   - the leader may write only until RenewDeadline after the start of its last successful
//     renewal (Fence); it stops leading then. Since RenewDeadline < LeaseDuration, a leader that
//     cannot renew has stopped writing before any other candidate can take the Lease;
//   - on shutdown it releases the Lease, so a standby takes over at once.

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// LeaseClient reads and writes one Lease (KubeClient).
type LeaseClient interface {
	GetLease(ctx context.Context, ns, name string) (*Lease, error)
	CreateLease(ctx context.Context, l *Lease) (*Lease, error)
	UpdateLease(ctx context.Context, l *Lease) (*Lease, error)
}

// LeaderElection is one candidate for a Lease.
type LeaderElection struct {
	Client                                    LeaseClient
	Namespace, Name, Identity                 string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger
	// OnLeading is called with true when this candidate starts leading, false when it stops.
	OnLeading func(bool)

	observedRV   string
	observedTime time.Time

	mu         sync.Mutex
	validUntil time.Time // writes allowed before this (zero: not leading)
}

// errLostLease reports that the leader could not renew its Lease.
var errLostLease = errors.New("lost the leader lease")

// Fence says until when this candidate may write: RenewDeadline after the start of its last
// successful renewal, while it leads.
func (le *LeaderElection) Fence() (time.Time, bool) {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.validUntil, !le.validUntil.IsZero() && time.Now().Before(le.validUntil)
}

func (le *LeaderElection) setValid(t time.Time) {
	le.mu.Lock()
	le.validUntil = t
	le.mu.Unlock()
}

func (le *LeaderElection) leading(on bool) {
	if le.OnLeading != nil {
		le.OnLeading(on)
	}
}

// Run waits to lead, then runs lead with a context that ends when ctx ends or the Lease is lost.
// It returns lead's error, or errLostLease when the Lease was lost while ctx was still running.
func (le *LeaderElection) Run(ctx context.Context, lead func(context.Context) error) error {
	for {
		attempt := time.Now()
		if le.tryAcquireOrRenew(ctx) {
			le.setValid(attempt.Add(le.RenewDeadline))
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(le.RetryPeriod):
		}
	}
	le.Log.Info("leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
	le.leading(true)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lead(lctx) }()
	stop := func(release bool) {
		if release {
			le.release(context.WithoutCancel(ctx))
		}
		le.setValid(time.Time{})
		le.leading(false)
		le.Log.Info("stopped leading", "identity", le.Identity)
	}
	t := time.NewTicker(le.RetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			err := <-done
			stop(true)
			return err
		case err := <-done:
			stop(true)
			return err
		case <-t.C:
			attempt := time.Now()
			if le.tryAcquireOrRenew(ctx) {
				le.setValid(attempt.Add(le.RenewDeadline))
				continue
			}
			if _, ok := le.Fence(); !ok {
				le.setValid(time.Time{}) // no write from here on, even before lead returns
				cancel()
				err := <-done
				stop(false)
				if err == nil {
					err = errLostLease
				}
				return err
			}
		}
	}
}

func (le *LeaderElection) tryAcquireOrRenew(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, le.RetryPeriod)
	defer cancel()
	now := MicroTime(time.Now())
	seconds := int32(le.LeaseDuration / time.Second)
	l, err := le.Client.GetLease(ctx, le.Namespace, le.Name)
	if IsNotFound(err) {
		zero := int32(0)
		l = &Lease{Metadata: LeaseMeta{Name: le.Name, Namespace: le.Namespace},
			Spec: LeaseSpec{HolderIdentity: &le.Identity, LeaseDurationSeconds: &seconds,
				AcquireTime: &now, RenewTime: &now, LeaseTransitions: &zero}}
		out, err := le.Client.CreateLease(ctx, l)
		if err != nil {
			le.Log.Debug("lease create failed", "err", err)
			return false
		}
		le.observedRV, le.observedTime = out.Metadata.ResourceVersion, time.Now()
		return true
	}
	if err != nil {
		le.Log.Warn("lease read failed", "err", err)
		return false
	}
	if l.Metadata.ResourceVersion != le.observedRV {
		le.observedRV, le.observedTime = l.Metadata.ResourceVersion, time.Now()
	}
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	held := le.LeaseDuration
	if l.Spec.LeaseDurationSeconds != nil {
		held = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	if holder != "" && holder != le.Identity && time.Since(le.observedTime) < held {
		return false
	}
	if holder != le.Identity {
		l.Spec.AcquireTime = &now
		transitions := int32(0)
		if l.Spec.LeaseTransitions != nil {
			transitions = *l.Spec.LeaseTransitions
		}
		if holder != "" {
			transitions++
		}
		l.Spec.LeaseTransitions = &transitions
	}
	l.Spec.HolderIdentity = &le.Identity
	l.Spec.LeaseDurationSeconds = &seconds
	l.Spec.RenewTime = &now
	out, err := le.Client.UpdateLease(ctx, l)
	if err != nil {
		le.Log.Debug("lease update failed", "err", err)
		return false
	}
	le.observedRV, le.observedTime = out.Metadata.ResourceVersion, time.Now()
	return true
}

// release gives the Lease up (holder cleared, duration 1 s) so a standby takes over at once.
func (le *LeaderElection) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l, err := le.Client.GetLease(ctx, le.Namespace, le.Name)
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != le.Identity {
		return
	}
	one := int32(1)
	now := MicroTime(time.Now())
	l.Spec.HolderIdentity = nil
	l.Spec.LeaseDurationSeconds = &one
	l.Spec.RenewTime = &now
	if _, err := le.Client.UpdateLease(ctx, l); err != nil {
		le.Log.Warn("lease release failed", "err", err)
	}
}
