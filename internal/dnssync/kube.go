package dnssync

// The Kubernetes side without client-go's clientset: k8s.io/client-go/kubernetes (and every typed
// client, through k8s.io/client-go/kubernetes/scheme) registers all ~56 API groups at start, which
// was most of the process's resident memory. Here a scheme holds only core/v1 (Nodes) and
// coordination/v1 (the leader Lease), with REST clients on it, a node informer built from
// tools/cache, and a Lease leader election equivalent to tools/leaderelection's (which imports the
// clientset too).

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

var (
	kubeScheme = func() *runtime.Scheme {
		s := runtime.NewScheme()
		metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
		if err := corev1.AddToScheme(s); err != nil {
			panic(err)
		}
		if err := coordinationv1.AddToScheme(s); err != nil {
			panic(err)
		}
		return s
	}()
	kubeCodecs     = serializer.NewCodecFactory(kubeScheme)
	kubeParameters = runtime.NewParameterCodec(kubeScheme)
)

// NodeClient lists and watches Nodes: client-go's typed NodeInterface (and its fake) or
// NewKubeClients' REST client.
type NodeClient interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.NodeList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// KubeClients are the two REST clients the controller needs.
type KubeClients struct {
	Nodes  NodeClient
	Leases rest.Interface // coordination.k8s.io/v1
}

// NewKubeClients builds REST clients for core/v1 Nodes and coordination/v1 Leases on one HTTP client.
func NewKubeClients(cfg *rest.Config) (*KubeClients, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	client := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		c := rest.CopyConfig(cfg)
		c.GroupVersion = &gv
		c.APIPath = apiPath
		c.NegotiatedSerializer = kubeCodecs.WithoutConversion()
		if c.UserAgent == "" {
			c.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		return rest.RESTClientForConfigAndClient(c, httpClient)
	}
	core, err := client(corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return nil, err
	}
	leases, err := client(coordinationv1.SchemeGroupVersion, "/apis")
	if err != nil {
		return nil, err
	}
	return &KubeClients{Nodes: restNodes{core}, Leases: leases}, nil
}

type restNodes struct{ c rest.Interface }

func (r restNodes) List(ctx context.Context, o metav1.ListOptions) (*corev1.NodeList, error) {
	req := r.c.Get().Resource("nodes").VersionedParams(&o, kubeParameters)
	if o.TimeoutSeconds != nil {
		req = req.Timeout(time.Duration(*o.TimeoutSeconds) * time.Second)
	}
	out := &corev1.NodeList{}
	return out, req.Do(ctx).Into(out)
}

func (r restNodes) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	o.Watch = true
	req := r.c.Get().Resource("nodes").VersionedParams(&o, kubeParameters)
	if o.TimeoutSeconds != nil {
		req = req.Timeout(time.Duration(*o.TimeoutSeconds) * time.Second)
	}
	return req.Watch(ctx)
}

// plainListWatch makes the reflector list then watch (no streaming watch-list): client-go's fake
// clients do not support watch-list, and for a few Nodes it saves nothing.
type plainListWatch struct{ *cache.ListWatch }

func (plainListWatch) IsWatchListSemanticsUnSupported() bool { return true }

// NodeInformers is the Node informer (optionally label-selected, with StripNode as transform)
// and its lister; Start and Shutdown behave as a shared informer factory's.
type NodeInformers struct {
	Informer cache.SharedIndexInformer
	Lister   corelisters.NodeLister

	mu      sync.Mutex
	started bool
	wg      sync.WaitGroup
}

// NewNodeInformers is the Node informer on nodes: optionally label-selected, and with a transform
// that keeps only what DNS needs, so the cache of a large cluster stays small.
func NewNodeInformers(nodes NodeClient, labelSelector string) *NodeInformers {
	lw := plainListWatch{&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = labelSelector
			return nodes.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = labelSelector
			return nodes.Watch(ctx, o)
		},
	}}
	inf := cache.NewSharedIndexInformerWithOptions(lw, &corev1.Node{}, cache.SharedIndexInformerOptions{
		Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
	})
	if err := inf.SetTransform(StripNode); err != nil {
		panic(err) // only fails once started
	}
	return &NodeInformers{Informer: inf, Lister: corelisters.NewNodeLister(inf.GetIndexer())}
}

// Start runs the informer until stop closes (once; later calls do nothing).
func (f *NodeInformers) Start(stop <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return
	}
	f.started = true
	f.wg.Go(func() { f.Informer.Run(stop) })
}

// Shutdown waits for the informer to end (after its stop channel closed).
func (f *NodeInformers) Shutdown() { f.wg.Wait() }

// LeaderElection is a Lease lock with client-go's semantics (tools/leaderelection): a candidate
// takes the Lease when it is free or its holder has not renewed it for LeaseDuration, as observed
// on the candidate's own clock; the leader renews every RetryPeriod and stops leading when it could
// not renew for RenewDeadline; on cancel it releases the Lease.
type LeaderElection struct {
	Leases                                    rest.Interface
	Namespace, Name, Identity                 string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger

	observedRV   string
	observedTime time.Time
}

// errLostLease reports that the leader could not renew its Lease.
var errLostLease = errors.New("lost the leader lease")

// Run waits to lead, then runs lead with a context that ends when ctx ends or the Lease is lost.
// It returns lead's error, or errLostLease when the Lease was lost while ctx was still running.
func (le *LeaderElection) Run(ctx context.Context, lead func(context.Context) error) error {
	for !le.tryAcquireOrRenew(ctx) {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(le.RetryPeriod):
		}
	}
	le.Log.Info("leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lead(lctx) }()
	lastRenew := time.Now()
	t := time.NewTicker(le.RetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			err := <-done
			le.release(context.WithoutCancel(ctx))
			le.Log.Info("stopped leading", "identity", le.Identity)
			return err
		case err := <-done:
			le.release(context.WithoutCancel(ctx))
			le.Log.Info("stopped leading", "identity", le.Identity)
			return err
		case <-t.C:
			if le.tryAcquireOrRenew(ctx) {
				lastRenew = time.Now()
			} else if time.Since(lastRenew) > le.RenewDeadline {
				cancel()
				err := <-done
				le.Log.Info("stopped leading", "identity", le.Identity)
				if err == nil {
					err = errLostLease
				}
				return err
			}
		}
	}
}

func (le *LeaderElection) lease(ctx context.Context) (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	return l, le.Leases.Get().Namespace(le.Namespace).Resource("leases").Name(le.Name).Do(ctx).Into(l)
}

func (le *LeaderElection) tryAcquireOrRenew(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, le.RetryPeriod)
	defer cancel()
	now := metav1.NowMicro()
	seconds := int32(le.LeaseDuration / time.Second)
	l, err := le.lease(ctx)
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: le.Name, Namespace: le.Namespace},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &le.Identity, LeaseDurationSeconds: &seconds,
				AcquireTime: &now, RenewTime: &now},
		}
		out := &coordinationv1.Lease{}
		if err := le.Leases.Post().Namespace(le.Namespace).Resource("leases").Body(l).Do(ctx).Into(out); err != nil {
			le.Log.Debug("lease create failed", "err", err)
			return false
		}
		le.observedRV, le.observedTime = out.ResourceVersion, time.Now()
		return true
	}
	if err != nil {
		le.Log.Warn("lease read failed", "err", err)
		return false
	}
	if l.ResourceVersion != le.observedRV {
		le.observedRV, le.observedTime = l.ResourceVersion, time.Now()
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
	out := &coordinationv1.Lease{}
	if err := le.Leases.Put().Namespace(le.Namespace).Resource("leases").Name(le.Name).Body(l).Do(ctx).Into(out); err != nil {
		le.Log.Debug("lease update failed", "err", err)
		return false
	}
	le.observedRV, le.observedTime = out.ResourceVersion, time.Now()
	return true
}

// release gives the Lease up (holder cleared, duration 1 s) so a standby takes over at once.
func (le *LeaderElection) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l, err := le.lease(ctx)
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != le.Identity {
		return
	}
	one := int32(1)
	now := metav1.NowMicro()
	l.Spec.HolderIdentity = nil
	l.Spec.LeaseDurationSeconds = &one
	l.Spec.RenewTime = &now
	if err := le.Leases.Put().Namespace(le.Namespace).Resource("leases").Name(le.Name).Body(l).Do(ctx).Error(); err != nil {
		le.Log.Warn("lease release failed", "err", err)
	}
}
