package dnssync

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written exposition must parse with Prometheus' own parser and carry every value.
func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	m.Syncs.Inc("success")
	m.Syncs.Inc("success")
	m.Writes.Inc("update")
	m.Records.Set(3, "k.example.com", "managed")
	m.Records.Set(1, `we"ird\name`, "foreign")
	m.Duration.Observe(0.007, "success")
	m.Duration.Observe(3, "success")
	m.ObserveRequest("PUT", 200)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", rec.Header().Get("Content-Type"))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	require.NoError(t, err, rec.Body.String())

	assert.Equal(t, 2.0, fams["dnssync_syncs_total"].Metric[0].GetCounter().GetValue())
	assert.Equal(t, 1.0, fams["dnssync_cloudflare_requests_total"].Metric[0].GetCounter().GetValue())
	assert.Len(t, fams["dnssync_records"].Metric, 2)
	var names []string
	for _, mt := range fams["dnssync_records"].Metric {
		names = append(names, mt.Label[0].GetValue())
	}
	assert.ElementsMatch(t, []string{"k.example.com", `we"ird\name`}, names, "label values escaped and read back")
	h := fams["dnssync_sync_duration_seconds"].Metric[0].GetHistogram()
	assert.Equal(t, uint64(2), h.GetSampleCount())
	assert.InDelta(t, 3.007, h.GetSampleSum(), 1e-9)
	for _, b := range h.Bucket {
		switch b.GetUpperBound() {
		case 0.005:
			assert.Equal(t, uint64(0), b.GetCumulativeCount())
		case 0.01, 2.5:
			assert.Equal(t, uint64(1), b.GetCumulativeCount())
		case 5:
			assert.Equal(t, uint64(2), b.GetCumulativeCount())
		}
	}
	assert.Contains(t, fams, "dnssync_qualifying_nodes", "an unlabelled gauge is there from the start")
	assert.Contains(t, fams, "process_resident_memory_bytes")
	assert.Positive(t, fams["process_resident_memory_bytes"].Metric[0].GetGauge().GetValue())
}
