package dnssync

// Metrics in the Prometheus text format, written by hand: client_golang (with protobuf and
// procfs) was a fifth of the binary for eight metrics.

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// vec holds one metric's values by label values.
type vec struct {
	name, help, typ string
	labels          []string
	bounds          []float64 // histograms: bucket upper bounds
	mu              sync.Mutex
	vals            map[string]*series
}

type series struct {
	labelValues []string
	v           float64
	buckets     []uint64 // histograms: cumulative counts are computed when written
	count       uint64
}

func newVec(name, typ, help string, labels ...string) *vec {
	return &vec{name: name, typ: typ, help: help, labels: labels, vals: map[string]*series{}}
}

func (m *vec) get(lv []string) *series {
	if len(lv) != len(m.labels) {
		panic(fmt.Sprintf("metric %s: %d label values for labels %v", m.name, len(lv), m.labels))
	}
	k := strings.Join(lv, "\xff")
	s := m.vals[k]
	if s == nil {
		s = &series{labelValues: slices.Clone(lv)}
		m.vals[k] = s
	}
	return s
}

// Value reads one series (0 if it was never set).
func (m *vec) Value(lv ...string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.vals[strings.Join(lv, "\xff")]; s != nil {
		return s.v
	}
	return 0
}

// Counter is a counter with labels.
type Counter struct{ *vec }

// Inc adds one to the series of these label values.
func (c Counter) Inc(lv ...string) {
	c.mu.Lock()
	c.get(lv).v++
	c.mu.Unlock()
}

// Gauge is a gauge with labels.
type Gauge struct{ *vec }

// Set sets the series of these label values.
func (g Gauge) Set(v float64, lv ...string) {
	g.mu.Lock()
	g.get(lv).v = v
	g.mu.Unlock()
}

// Histogram is a histogram with labels and fixed buckets.
type Histogram struct{ *vec }

// Observe adds one observation (v is the sum; buckets count by upper bound).
func (h Histogram) Observe(v float64, lv ...string) {
	h.mu.Lock()
	s := h.get(lv)
	if s.buckets == nil {
		s.buckets = make([]uint64, len(h.bounds))
	}
	for i, b := range h.bounds {
		if v <= b {
			s.buckets[i]++
			break
		}
	}
	s.v += v
	s.count++
	h.mu.Unlock()
}

// Count is the number of observations of one series.
func (h Histogram) Count(lv ...string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.vals[strings.Join(lv, "\xff")]; s != nil {
		return s.count
	}
	return 0
}

// Metrics are the controller's metrics.
type Metrics struct {
	Syncs       Counter   // result: success, error, held, deferred, dry_run
	Held        Counter   // reason: no_qualifying_nodes, node_list_failed
	Writes      Counter   // op: create, update, delete
	LastSuccess Gauge     // name
	Records     Gauge     // name, owner: managed, foreign
	Qualifying  Gauge     // nodes that qualify
	Requests    Counter   // method, status (0: no response)
	Duration    Histogram // result
	Leader      Gauge     // 1 while this process leads (or runs without leader election)
	Pending     Gauge     // names with a sync queued, running or waiting (Controller.Idle)

	all   []*vec
	start time.Time
}

// NewMetrics creates the metrics.
func NewMetrics() *Metrics {
	const ns = "dnssync_"
	m := &Metrics{
		Syncs:       Counter{newVec(ns+"syncs_total", "counter", "Syncs of one name, by result (success, error, held, deferred, dry_run).", "result")},
		Held:        Counter{newVec(ns+"held_total", "counter", "Syncs that kept every record instead of deleting, by reason.", "reason")},
		Writes:      Counter{newVec(ns+"writes_total", "counter", "Record writes applied, by operation.", "op")},
		LastSuccess: Gauge{newVec(ns+"last_success_timestamp_seconds", "gauge", "Unix time of the last successful sync of a name.", "name")},
		Records:     Gauge{newVec(ns+"records", "gauge", "Records at a name after the last sync, by owner (managed: ours; foreign: left alone).", "name", "owner")},
		Qualifying:  Gauge{newVec(ns+"qualifying_nodes", "gauge", "Nodes whose addresses belong in DNS.")},
		Requests:    Counter{newVec(ns+"cloudflare_requests_total", "counter", "Cloudflare API requests by method and HTTP status (0: no response).", "method", "status")},
		Duration:    Histogram{newVec(ns+"sync_duration_seconds", "histogram", "Duration of one name's sync.", "result")},
		Leader:      Gauge{newVec(ns+"leader", "gauge", "1 while this process writes records (leader, or no leader election), else 0.")},
		Pending:     Gauge{newVec(ns+"pending_names", "gauge", "Names with a sync queued, running, or waiting for a settle window, a retry or deferred deletions (0: idle).")},
		start:       time.Now(),
	}
	m.Duration.bounds = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m.all = []*vec{m.Syncs.vec, m.Held.vec, m.Writes.vec, m.LastSuccess.vec, m.Records.vec, m.Qualifying.vec,
		m.Requests.vec, m.Duration.vec, m.Leader.vec, m.Pending.vec}
	return m
}

// ObserveRequest counts one Cloudflare request (for Transport.Observe).
func (m *Metrics) ObserveRequest(method string, status int) {
	m.Requests.Inc(method, strconv.Itoa(status))
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func labelString(names, values []string, extra ...string) string {
	if len(names) == 0 && len(extra) == 0 {
		return ""
	}
	parts := make([]string, 0, len(names)+1)
	for i, n := range names {
		parts = append(parts, n+`="`+escapeLabel(values[i])+`"`)
	}
	if len(extra) == 2 {
		parts = append(parts, extra[0]+`="`+escapeLabel(extra[1])+`"`)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteText writes every metric in the Prometheus text format (version 0.0.4), series sorted.
func (m *Metrics) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, v := range m.all {
		v.mu.Lock()
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", v.name, v.help, v.name, v.typ)
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range v.vals {
				if !yield(k) {
					return
				}
			}
		})
		if len(v.labels) == 0 && len(keys) == 0 && v.typ != "histogram" {
			fmt.Fprintf(bw, "%s 0\n", v.name) // an unlabelled metric exists from the start
		}
		for _, k := range keys {
			s := v.vals[k]
			if v.typ != "histogram" {
				fmt.Fprintf(bw, "%s%s %s\n", v.name, labelString(v.labels, s.labelValues), formatFloat(s.v))
				continue
			}
			var cum uint64
			for i, b := range v.bounds {
				cum += s.buckets[i]
				fmt.Fprintf(bw, "%s_bucket%s %d\n", v.name, labelString(v.labels, s.labelValues, "le", formatFloat(b)), cum)
			}
			fmt.Fprintf(bw, "%s_bucket%s %d\n", v.name, labelString(v.labels, s.labelValues, "le", "+Inf"), s.count)
			fmt.Fprintf(bw, "%s_sum%s %s\n", v.name, labelString(v.labels, s.labelValues), formatFloat(s.v))
			fmt.Fprintf(bw, "%s_count%s %d\n", v.name, labelString(v.labels, s.labelValues), s.count)
		}
		v.mu.Unlock()
	}
	m.writeProcess(bw)
	return bw.Flush()
}

// writeProcess writes the process figures a dashboard needs: resident memory, CPU, heap, goroutines.
func (m *Metrics) writeProcess(w io.Writer) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	metric := func(name, typ, help, value string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, value)
	}
	if rss, cpu, ok := procSelf(); ok {
		metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", strconv.FormatUint(rss, 10))
		metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", formatFloat(cpu))
	}
	metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
		formatFloat(float64(m.start.UnixNano())/1e9))
	metric("go_memstats_heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.", strconv.FormatUint(ms.HeapInuse, 10))
	metric("go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system.", strconv.FormatUint(ms.Sys, 10))
	metric("go_goroutines", "gauge", "Number of goroutines that currently exist.", strconv.Itoa(runtime.NumGoroutine()))
}

// procSelf reads resident bytes and CPU seconds from /proc (Linux; ok false elsewhere).
func procSelf() (rss uint64, cpu float64, ok bool) {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0, 0, false
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if g := strings.Fields(s[i+2:]); len(g) > 12 {
			u, _ := strconv.ParseFloat(g[11], 64)
			st, _ := strconv.ParseFloat(g[12], 64)
			cpu = (u + st) / 100 // clock ticks (USER_HZ is 100 on Linux)
		}
	}
	return pages * uint64(os.Getpagesize()), cpu, true
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = m.WriteText(w)
	})
}
