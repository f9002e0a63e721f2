package dnssync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Run is the whole program after flag parsing: metrics server, Cloudflare client, node cache,
// optional leader election, until ctx ends (SIGTERM) or, with --once, after one sync.
func Run(ctx context.Context, o *Options, log *slog.Logger) error {
	kube, err := NewKubeClient(o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	m := NewMetrics()
	transport := &Transport{Limiter: DefaultLimiter(), Observe: m.ObserveRequest}
	cf, err := NewCloudflare(ctx, CloudflareOptions{Token: o.Token, BaseURL: o.APIBaseURL, Zone: o.Zone, Transport: transport})
	if err != nil {
		return err
	}
	cfg := o.Config()
	var le *LeaderElection
	if o.LeaderElect {
		host, _ := os.Hostname()
		suffix := make([]byte, 4)
		_, _ = rand.Read(suffix)
		le = &LeaderElection{
			Client: kube, Namespace: o.LeaseNS, Name: o.LeaseName, Identity: host + "_" + hex.EncodeToString(suffix),
			LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod, Log: log,
		}
		cfg.Fence = le.Fence
	}
	nodes := NewNodeCache(kube, o.NodeSelector, log)
	c, err := NewController(nodes, cf, cfg, log, m)
	if err != nil {
		return err
	}
	if o.Once {
		return c.SyncOnce(ctx)
	}

	var leading atomic.Bool
	if le != nil {
		le.OnLeading = func(on bool) {
			leading.Store(on)
			m.Leader.Set(map[bool]float64{true: 1, false: 0}[on])
		}
	} else {
		m.Leader.Set(1)
	}
	if o.MetricsAddr != "" {
		ln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", o.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if ok, why := ready(nodes.Synced(), le != nil, leading.Load(), c.Ready()); !ok {
				http.Error(w, why, http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok\n"))
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("serving metrics and probes", "addr", ln.Addr().String())
	}

	if le == nil {
		return c.Run(ctx, 1, o.ShutdownGrace)
	}
	// A standby keeps its node cache warm, so it syncs as soon as it leads.
	nodes.Start(ctx)
	return le.Run(ctx, func(lctx context.Context) error { return c.Run(lctx, 1, o.ShutdownGrace) })
}

// ready is /readyz: the node cache has synced and, unless this replica is a standby, every name
// has been synced once. A standby is ready: it takes over when the leader goes.
func ready(cacheSynced, electing, leading, synced bool) (bool, string) {
	switch {
	case !cacheSynced:
		return false, "node cache not synced"
	case electing && !leading:
		return true, ""
	case !synced:
		return false, "no successful sync yet"
	}
	return true, ""
}

// NewLogger is the process's structured logger.
func NewLogger(format string) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}
