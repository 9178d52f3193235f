// Package telemetry holds the agent's metrics in a prometheus registry and
// renders them both as Prometheus text and as the JSON shape of Consul's
// /v1/agent/metrics.
package telemetry

import (
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are the agent's instruments.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests   *prometheus.CounterVec
	HTTPDuration   *prometheus.HistogramVec
	BlockingActive prometheus.Gauge
	KVApplies      prometheus.Counter
	CatalogWrites  prometheus.Counter
}

// New registers the instruments and the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_http_requests_total", Help: "HTTP API requests by method, endpoint and status code.",
		}, []string{"method", "endpoint", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "beacon_http_request_duration_seconds", Help: "HTTP API request latency, blocking waits excluded.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1},
		}, []string{"method", "endpoint"}),
		BlockingActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "beacon_http_blocking_queries", Help: "Blocking queries currently parked.",
		}),
		KVApplies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_kvs_apply_total", Help: "KV writes applied.",
		}),
		CatalogWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_catalog_writes_total", Help: "Catalog register and deregister writes applied.",
		}),
	}
	reg.MustRegister(m.HTTPRequests, m.HTTPDuration, m.BlockingActive, m.KVApplies, m.CatalogWrites,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// JSON is the shape of Consul's /v1/agent/metrics.
type JSON struct {
	Timestamp string
	Gauges    []Value
	Points    []Value
	Counters  []Sample
	Samples   []Sample
}

// Value is one gauge.
type Value struct {
	Name   string
	Value  float64
	Labels map[string]string
}

// Sample is one counter or distribution summary.
type Sample struct {
	Name   string
	Count  uint64
	Sum    float64
	Min    float64
	Max    float64
	Mean   float64
	Stddev float64
	Labels map[string]string
}

// Snapshot renders the registry in Consul's JSON shape.
func (m *Metrics) Snapshot() (*JSON, error) {
	fams, err := m.Registry.Gather()
	if err != nil {
		return nil, err
	}
	out := &JSON{
		Timestamp: time.Now().UTC().Truncate(10 * time.Second).Format("2006-01-02 15:04:05 -0700 MST"),
		Gauges:    []Value{}, Points: []Value{}, Counters: []Sample{}, Samples: []Sample{},
	}
	for _, f := range fams {
		name := strings.ReplaceAll(f.GetName(), "_", ".")
		for _, mt := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range mt.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				out.Gauges = append(out.Gauges, Value{Name: name, Value: mt.GetGauge().GetValue(), Labels: labels})
			case dto.MetricType_COUNTER:
				v := mt.GetCounter().GetValue()
				out.Counters = append(out.Counters, Sample{Name: name, Count: uint64(v), Sum: v, Labels: labels})
			case dto.MetricType_HISTOGRAM:
				h := mt.GetHistogram()
				s := Sample{Name: name, Count: h.GetSampleCount(), Sum: h.GetSampleSum(), Labels: labels}
				if s.Count > 0 {
					s.Mean = s.Sum / float64(s.Count)
				}
				out.Samples = append(out.Samples, s)
			case dto.MetricType_SUMMARY:
				sm := mt.GetSummary()
				s := Sample{Name: name, Count: sm.GetSampleCount(), Sum: sm.GetSampleSum(), Labels: labels}
				if s.Count > 0 {
					s.Mean = s.Sum / float64(s.Count)
				}
				out.Samples = append(out.Samples, s)
			}
		}
	}
	sort.Slice(out.Gauges, func(i, j int) bool { return out.Gauges[i].Name < out.Gauges[j].Name })
	return out, nil
}
