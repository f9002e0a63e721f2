package dnssync

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Lease is a coordination.k8s.io/v1 Lease with the fields leader election uses (the lock the
// replicas take turns holding).
type Lease struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   LeaseMeta `json:"metadata"`
	Spec       LeaseSpec `json:"spec"`
}

// LeaseMeta is a Lease's metadata.
type LeaseMeta struct {
	Name            string `json:"name"`
	Namespace       string `json:"namespace"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// LeaseSpec is a Lease's spec; times are MicroTime strings (RFC 3339 with microseconds).
type LeaseSpec struct {
	HolderIdentity       *string `json:"holderIdentity,omitempty"`
	LeaseDurationSeconds *int32  `json:"leaseDurationSeconds,omitempty"`
	AcquireTime          *string `json:"acquireTime,omitempty"`
	RenewTime            *string `json:"renewTime,omitempty"`
	LeaseTransitions     *int32  `json:"leaseTransitions,omitempty"`
}

// MicroTime formats t as the API's MicroTime.
func MicroTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func leasePath(ns, name string) string {
	p := "/apis/coordination.k8s.io/v1/namespaces/" + url.PathEscape(ns) + "/leases"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// GetLease reads a Lease.
func (k *KubeClient) GetLease(ctx context.Context, ns, name string) (*Lease, error) {
	l := &Lease{}
	return l, k.do(ctx, http.MethodGet, leasePath(ns, name), nil, nil, l)
}

// CreateLease creates a Lease (409 if it exists).
func (k *KubeClient) CreateLease(ctx context.Context, l *Lease) (*Lease, error) {
	l.APIVersion, l.Kind = "coordination.k8s.io/v1", "Lease"
	out := &Lease{}
	return out, k.do(ctx, http.MethodPost, leasePath(l.Metadata.Namespace, ""), nil, l, out)
}

// UpdateLease replaces a Lease; its resourceVersion makes it fail with 409 if someone else wrote
// the Lease since it was read.
func (k *KubeClient) UpdateLease(ctx context.Context, l *Lease) (*Lease, error) {
	l.APIVersion, l.Kind = "coordination.k8s.io/v1", "Lease"
	out := &Lease{}
	return out, k.do(ctx, http.MethodPut, leasePath(l.Metadata.Namespace, l.Metadata.Name), nil, l, out)
}
