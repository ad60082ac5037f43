package daemon

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are counterd's Prometheus metrics, in their own registry.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	increments  prometheus.Counter
	redisErrors *prometheus.CounterVec
}

// NewMetrics registers counterd's metrics and the Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "counterd_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "counterd_http_request_duration_seconds", Help: "Time to answer HTTP requests (to the end of the stream for /events).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		increments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "counterd_increments_total", Help: "Successful increments made through this counterd.",
		}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "counterd_redis_errors_total", Help: "Failed Redis operations by operation.",
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.increments, m.redisErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RedisError counts a failed Redis operation; it fits store.Options.OnRedisError.
func (m *Metrics) RedisError(op string, _ error) { m.redisErrors.WithLabelValues(op).Inc() }

// watch exports the age of the held value and the number of event streams.
func (m *Metrics) watch(values valueReader, hub *Hub, now func() time.Time) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "counterd_value_age_seconds", Help: "Time since Redis last confirmed the value this counterd serves.",
		}, func() float64 {
			_, confirmed := values.Value()
			return now().Sub(confirmed).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "counterd_event_streams", Help: "Open /events streams.",
		}, func() float64 { return float64(hub.Clients()) }),
	)
	if mw, ok := values.(masterWatcher); ok {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "counterd_master_down",
			Help: "1 while this replica's master is down in the eyes of a majority of the sentinels (then /readyz stays ready with an old value), else 0.",
		}, func() float64 {
			if _, down := mw.MasterDown(); down {
				return 1
			}
			return 0
		}))
	}
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// routeMetrics are one route's series, resolved once: label lookups cost more
// than the page itself.
type routeMetrics struct {
	name    string
	ok      prometheus.Counter
	latency prometheus.Observer
	m       *Metrics
}

func (m *Metrics) forRoute(name string) *routeMetrics {
	return &routeMetrics{name: name, ok: m.requests.WithLabelValues(name, "200"),
		latency: m.latency.WithLabelValues(name), m: m}
}

// observe records one answered request.
func (r *routeMetrics) observe(code int, took time.Duration) {
	if code == http.StatusOK {
		r.ok.Inc()
	} else {
		r.m.requests.WithLabelValues(r.name, strconv.Itoa(code)).Inc()
	}
	r.latency.Observe(took.Seconds())
}
