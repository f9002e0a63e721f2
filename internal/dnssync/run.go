package dnssync

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig is the in-cluster config, or the kubeconfig's when one is given.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", kubeconfig)
}

// Run is the whole program after flag parsing: metrics server, Cloudflare client, informer,
// optional leader election, until ctx ends (SIGTERM) or, with --once, after one sync.
func Run(ctx context.Context, o *Options, log *slog.Logger) error {
	restCfg, err := RESTConfig(o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	restCfg.UserAgent = "shoestring-dnssync"
	client, err := NewKubeClients(restCfg)
	if err != nil {
		return err
	}
	m := NewMetrics()
	transport := &Transport{Limiter: DefaultLimiter(), Observe: m.ObserveRequest}
	cf, err := NewCloudflare(ctx, CloudflareOptions{Token: o.Token, BaseURL: o.APIBaseURL, Zone: o.Zone, Transport: transport})
	if err != nil {
		return err
	}
	c, err := NewController(NewNodeInformers(client.Nodes, o.NodeSelector), cf, o.Config(), log, m)
	if err != nil {
		return err
	}
	if o.Once {
		return c.SyncOnce(ctx)
	}

	standby := func() bool { return o.LeaderElect }
	if o.MetricsAddr != "" {
		ln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", o.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			// A standby replica is ready (it takes over when the leader goes); the leader once
			// its node cache has synced.
			if c.Ready() || standby() {
				_, _ = w.Write([]byte("ok\n"))
				return
			}
			http.Error(w, "node cache not synced", http.StatusServiceUnavailable)
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

	if !o.LeaderElect {
		return c.Run(ctx, 1, o.ShutdownGrace)
	}
	id, _ := os.Hostname()
	le := &LeaderElection{
		Leases: client.Leases, Namespace: o.LeaseNS, Name: o.LeaseName, Identity: id,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Log: log,
	}
	return le.Run(ctx, func(lctx context.Context) error { return c.Run(lctx, 1, o.ShutdownGrace) })
}

// NewLogger is the process's structured logger.
func NewLogger(format string) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}
