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

// roomMetric is one value read from the room manager's stats at scrape
// time, so the hot paths only bump atomics.
type roomMetric struct {
	name, help string
	kind       prometheus.ValueType
	value      func(room.Stats) float64
}

var roomMetrics = []roomMetric{
	{"mcu_rooms", "Rooms open.", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.Rooms) }},
	{"mcu_participants", "Participants in all rooms.", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.Participants) }},
	{"mcu_mix_ticks_total", "Audio mix ticks run.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.Ticks) }},
	{"mcu_mix_ticks_late_total", "Audio mix ticks that started more than 5 ms late.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.LateTicks) }},
	{"mcu_mix_ticks_skipped_total", "Audio mix ticks skipped after the clock stalled beyond its catch-up bound.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.SkippedTicks) }},
	{"mcu_audio_concealed_frames_total", "Incoming audio frames synthesised by packet-loss concealment.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.ConcealedFrames) }},
	{"mcu_audio_fec_frames_total", "Incoming audio frames recovered from in-band FEC.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.FECFrames) }},
	{"mcu_audio_decode_errors_total", "Incoming audio packets that failed to decode.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.DecodeErrors) }},
	{"mcu_audio_encodes_total", "Audio frames encoded; listeners who contribute nothing to the mix share one encode per codec.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.AudioEncodes) }},
	{"mcu_audio_encode_errors_total", "Outgoing audio frames that failed to encode.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.EncodeErrors) }},
	{"mcu_limiter_samples_total", "Output samples compressed by the soft limiter.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.LimitedSamples) }},
	{"mcu_video_ticks_total", "Video clock ticks run (per room, at the canvas frame rate).", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.VideoTicks) }},
	{"mcu_video_ticks_skipped_total", "Video ticks skipped after the video clock stalled.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.VideoSkipped) }},
	{"mcu_video_frames_decoded_total", "Incoming video frames decoded.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.VideoDecoded) }},
	{"mcu_video_decode_errors_total", "Incoming video frames that failed to decode (a keyframe was requested).", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.VideoDecodeErrors) }},
	{"mcu_video_encode_errors_total", "Canvas frames that failed to encode.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.VideoEncodeErrors) }},
	{"mcu_video_keyframes_forced_total", "Keyframes forced on canvas encoders (new receivers, PLI/FIR).", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.KeyFramesForced) }},
	{"mcu_dtmf_keys_total", "Telephone keys (RFC 4733) received from plain-RTP legs.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.DTMF) }},
	{"mcu_video_encoders", "Canvas encoders running (one per distinct view and codec).", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.VideoEncoders) }},
}

// roomCollector exports roomMetrics.
type roomCollector struct {
	rooms *room.Manager
	descs []*prometheus.Desc // parallel to roomMetrics
}

func newRoomCollector(m *room.Manager) *roomCollector {
	c := &roomCollector{rooms: m}
	for _, rm := range roomMetrics {
		c.descs = append(c.descs, prometheus.NewDesc(rm.name, rm.help, nil, nil))
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
	for i, rm := range roomMetrics {
		ch <- prometheus.MustNewConstMetric(c.descs[i], rm.kind, rm.value(s))
	}
}
