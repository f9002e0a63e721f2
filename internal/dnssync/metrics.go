package dnssync

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the controller's Prometheus metrics, on their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	Syncs       *prometheus.CounterVec   // result: success, error, held, dry_run
	Held        *prometheus.CounterVec   // reason: no_qualifying_nodes, nodes_not_synced
	Writes      *prometheus.CounterVec   // op: create, update, delete
	LastSuccess *prometheus.GaugeVec     // name
	Records     *prometheus.GaugeVec     // name, owner: managed, foreign
	Qualifying  prometheus.Gauge         // nodes that qualify
	Requests    *prometheus.CounterVec   // method, status (0: no response)
	Duration    *prometheus.HistogramVec // result
}

// NewMetrics registers the metrics, plus the Go runtime and process collectors.
func NewMetrics() *Metrics {
	const ns = "dnssync"
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "syncs_total",
			Help: "Syncs of one name, by result (success, error, held, dry_run)."}, []string{"result"}),
		Held: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "held_total",
			Help: "Syncs that kept every record instead of deleting, by reason."}, []string{"reason"}),
		Writes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "writes_total",
			Help: "Record writes applied, by operation."}, []string{"op"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last successful sync of a name."}, []string{"name"}),
		Records: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "records",
			Help: "Records at a name after the last sync, by owner (managed: ours; foreign: left alone)."}, []string{"name", "owner"}),
		Qualifying: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "qualifying_nodes",
			Help: "Nodes whose addresses belong in DNS."}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "cloudflare_requests_total",
			Help: "Cloudflare API requests by method and HTTP status (0: no response)."}, []string{"method", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "sync_duration_seconds",
			Help: "Duration of one name's sync.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"result"}),
	}
	m.Registry.MustRegister(m.Syncs, m.Held, m.Writes, m.LastSuccess, m.Records, m.Qualifying, m.Requests, m.Duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest counts one Cloudflare request (for Transport.Observe).
func (m *Metrics) ObserveRequest(method string, status int) {
	m.Requests.WithLabelValues(method, strconv.Itoa(status)).Inc()
}
