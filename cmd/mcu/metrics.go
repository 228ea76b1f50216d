package main

import (
	"time"

	"github.com/mcu-project/mcu/room"
	"github.com/prometheus/client_golang/prometheus"
)

// tickMetrics implements room.Metrics with Prometheus histograms.
type tickMetrics struct {
	lateness, duration prometheus.Histogram
}

func newTickMetrics(reg prometheus.Registerer) *tickMetrics {
	// Buckets from 0.1 ms to ~200 ms: a healthy tick takes well under a
	// millisecond; lateness above 20 ms means a missed deadline.
	buckets := prometheus.ExponentialBuckets(0.0001, 2, 12)
	m := &tickMetrics{
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mcu_mix_tick_lateness_seconds", Help: "How late each audio mix tick started after its deadline.", Buckets: buckets}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mcu_mix_tick_duration_seconds", Help: "Time spent in each audio mix tick (decode, mix, encode, send).", Buckets: buckets}),
	}
	reg.MustRegister(m.lateness, m.duration)
	return m
}

func (m *tickMetrics) ObserveTick(lateness, duration time.Duration) {
	m.lateness.Observe(max(lateness, 0).Seconds())
	m.duration.Observe(duration.Seconds())
}

// roomCollector reads the room manager's counters at scrape time, so the
// hot path only bumps atomics.
type roomCollector struct {
	rooms *room.Manager
	descs map[string]*prometheus.Desc
}

var roomMetricHelp = map[string]string{
	"mcu_rooms":                        "Rooms open.",
	"mcu_participants":                 "Participants in all rooms.",
	"mcu_mix_ticks_total":              "Audio mix ticks run.",
	"mcu_mix_ticks_late_total":         "Audio mix ticks that started more than 5 ms late.",
	"mcu_mix_ticks_skipped_total":      "Audio mix ticks skipped after the clock stalled beyond its catch-up bound.",
	"mcu_audio_concealed_frames_total": "Incoming audio frames synthesised by packet-loss concealment.",
	"mcu_audio_fec_frames_total":       "Incoming audio frames recovered from in-band FEC.",
	"mcu_audio_decode_errors_total":    "Incoming audio packets that failed to decode.",
	"mcu_audio_encode_errors_total":    "Outgoing audio frames that failed to encode.",
	"mcu_limiter_samples_total":        "Output samples compressed by the soft limiter.",
}

func newRoomCollector(m *room.Manager) *roomCollector {
	c := &roomCollector{rooms: m, descs: map[string]*prometheus.Desc{}}
	for name, help := range roomMetricHelp {
		c.descs[name] = prometheus.NewDesc(name, help, nil, nil)
	}
	return c
}

func (c *roomCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *roomCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rooms.Stats()
	gauge := func(name string, v int) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, float64(v))
	}
	counter := func(name string, v uint64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v))
	}
	gauge("mcu_rooms", s.Rooms)
	gauge("mcu_participants", s.Participants)
	counter("mcu_mix_ticks_total", s.Ticks)
	counter("mcu_mix_ticks_late_total", s.LateTicks)
	counter("mcu_mix_ticks_skipped_total", s.SkippedTicks)
	counter("mcu_audio_concealed_frames_total", s.ConcealedFrames)
	counter("mcu_audio_fec_frames_total", s.FECFrames)
	counter("mcu_audio_decode_errors_total", s.DecodeErrors)
	counter("mcu_audio_encode_errors_total", s.EncodeErrors)
	counter("mcu_limiter_samples_total", s.LimitedSamples)
}
