package main

import (
	"iter"
	"strconv"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"github.com/prometheus/client_golang/prometheus"
)

// tickMetrics implements room.Metrics with Prometheus histograms.
type tickMetrics struct {
	lateness, duration, playout prometheus.Histogram
}

func newTickMetrics(reg prometheus.Registerer) *tickMetrics {
	// Buckets from 0.1 ms to 200 ms: a healthy tick takes well under a
	// millisecond; lateness above 20 ms means a missed deadline. They are
	// dense from 1 to 5 ms, so a tick's p99 against room.LateTickThreshold
	// (5 ms, what operators and bench/'s capacity runs hold rooms to)
	// reads off them to the millisecond.
	buckets := []float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.2}
	m := &tickMetrics{
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mcu_mix_tick_lateness_seconds", Help: "How late each audio mix tick started after its deadline.", Buckets: buckets}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mcu_mix_tick_duration_seconds", Help: "Time spent in each audio mix tick (decode, mix, encode, send).", Buckets: buckets}),
	}
	// Playout waits: 1 ms to ~250 ms.
	m.playout = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mcu_audio_playout_wait_seconds", Help: "How long each incoming audio packet waited from arrival to the mix tick that decoded it (jitter buffer and mixing clock).", Buckets: prometheus.ExponentialBuckets(0.001, 1.5, 14)})
	reg.MustRegister(m.lateness, m.duration, m.playout)
	return m
}

func (m *tickMetrics) ObservePlayout(waited time.Duration) {
	m.playout.Observe(max(waited, 0).Seconds())
}

func (m *tickMetrics) ObserveTick(lateness, duration time.Duration) {
	m.lateness.Observe(max(lateness, 0).Seconds())
	m.duration.Observe(duration.Seconds())
}

// statsMetric is one value read from a stats snapshot (the room
// manager's, the transport engine's) at scrape time, so the hot paths only
// bump atomics.
type statsMetric[S any] struct {
	name, help string
	kind       prometheus.ValueType
	value      func(S) float64
}

// statsTable is a table of statsMetric with their descriptors, shared by
// the collectors that export one snapshot per scrape.
type statsTable[S any] struct {
	metrics []statsMetric[S]
	descs   []*prometheus.Desc // parallel to metrics
}

func newStatsTable[S any](metrics []statsMetric[S]) statsTable[S] {
	t := statsTable[S]{metrics: metrics}
	for _, m := range metrics {
		t.descs = append(t.descs, prometheus.NewDesc(m.name, m.help, nil, nil))
	}
	return t
}

func (t statsTable[S]) describe(ch chan<- *prometheus.Desc) {
	for _, d := range t.descs {
		ch <- d
	}
}

func (t statsTable[S]) collect(ch chan<- prometheus.Metric, s S) {
	for i, m := range t.metrics {
		ch <- prometheus.MustNewConstMetric(t.descs[i], m.kind, m.value(s))
	}
}

type roomMetric = statsMetric[room.Stats]

var roomMetrics = []roomMetric{
	{"mcu_rooms", "Rooms open.", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.Rooms) }},
	{"mcu_participants", "Participants in all rooms.", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.Participants) }},
	{"mcu_mix_ticks_total", "Audio mix ticks run.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.Ticks) }},
	{"mcu_mix_ticks_late_total", "Audio mix ticks that started more than 5 ms late.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.LateTicks) }},
	{"mcu_mix_ticks_skipped_total", "Audio mix ticks skipped after the clock stalled beyond its catch-up bound.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.SkippedTicks) }},
	{"mcu_audio_silent_frames_total", "Incoming audio frames recognised as repeated silence (muted or idle senders) and not decoded.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.SilentFrames) }},
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
	{"mcu_video_unchanged_frames_total", "Rung frames not encoded because nothing on their canvas changed.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.VideoUnchanged) }},
	{"mcu_video_keyframes_forced_total", "Keyframes forced on canvas encoders (new receivers, PLI/FIR).", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.KeyFramesForced) }},
	{"mcu_dtmf_keys_total", "Telephone keys (RFC 4733) received from plain-RTP legs.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.DTMF) }},
	{"mcu_participant_failures_total", "Participants removed because something they drove (decoding, their packet path) panicked; the others carried on.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.ParticipantFailures) }},
	{"mcu_video_encoders", "Canvas encoders running (one per distinct view, codec and ladder rung).", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.VideoEncoders) }},
	{"mcu_video_rung_switches_total", "Receivers moved between ladder rungs (pauses included).", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.RungSwitches) }},
	{"mcu_video_receivers_paused", "Video receivers getting audio only because their link cannot carry the lowest rung.", prometheus.GaugeValue, func(s room.Stats) float64 { return float64(s.VideoPaused) }},
	{"mcu_video_padding_bytes_total", "Padding sent to probe whether links carry the next rung up.", prometheus.CounterValue, func(s room.Stats) float64 { return float64(s.PaddingBytes) }},
}

// roomCollector exports roomMetrics and the encoders per rung.
type roomCollector struct {
	rooms        *room.Manager
	table        statsTable[room.Stats]
	rungEncoders *prometheus.Desc
	rungKeys     *prometheus.Desc
}

func newRoomCollector(m *room.Manager) *roomCollector {
	return &roomCollector{rooms: m, table: newStatsTable(roomMetrics), rungEncoders: prometheus.NewDesc("mcu_video_rung_encoders",
		"Canvas encoders running per ladder rung (0 the top).", []string{"rung"}, nil),
		rungKeys: prometheus.NewDesc("mcu_video_rung_keyframes_forced_total",
			"Keyframes forced per ladder rung (its receivers' requests, new or switching receivers).", []string{"rung"}, nil)}
}

func (c *roomCollector) Describe(ch chan<- *prometheus.Desc) {
	c.table.describe(ch)
	ch <- c.rungEncoders
	ch <- c.rungKeys
}

func (c *roomCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rooms.Stats()
	c.table.collect(ch, s)
	for i, n := range s.RungEncoders {
		ch <- prometheus.MustNewConstMetric(c.rungEncoders, prometheus.GaugeValue, float64(n), strconv.Itoa(i))
	}
	for i, n := range s.RungKeyFramesForced {
		ch <- prometheus.MustNewConstMetric(c.rungKeys, prometheus.CounterValue, float64(n), strconv.Itoa(i))
	}
}

// transportMetrics are the transport engine's counters: what the packet
// paths drop or cannot use, summed over every peer and leg since start.
var transportMetrics = []statsMetric[transport.Stats]{
	{"mcu_video_in_dropped_frames_total", "Incoming video frames not handed to the decoder (its queue was full, or frames after a loss waited for a keyframe).", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.VideoInDropped) }},
	{"mcu_video_out_dropped_frames_total", "Encoded video frames not sent to a receiver (its send queue was full, or frames after such a drop waited for a keyframe).", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.VideoOutDropped) }},
	{"mcu_rtp_bad_packets_total", "Incoming media packets that did not parse as RTP (WebRTC audio, plain-RTP legs).", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.BadRTP) }},
	{"mcu_transport_padding_bytes_total", "Probe padding bytes actually sent on video streams.", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.PaddingBytes) }},
	{"mcu_audio_red_packets_total", "Audio packets sent as RED (RFC 2198) to receivers that negotiated it.", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.REDPackets) }},
	{"mcu_audio_red_redundant_packets_total", "RED audio packets that also carried the previous frame (the receiver reported loss).", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.REDRedundant) }},
	{"mcu_pacer_dropped_frames_total", "Encoded video frames receivers' pacers dropped (they would have waited too long), and the frames after them up to a keyframe.", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.PacerDropped) }},
	{"mcu_pacer_packets_total", "Video packets sent through receivers' pacers.", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.PacedPackets) }},
	{"mcu_pacer_queue_seconds_total", "Time video packets waited in receivers' pacers, summed: over mcu_pacer_packets_total, the mean queue delay.", prometheus.CounterValue, func(s transport.Stats) float64 { return s.PaceDelay.Seconds() }},
	{"mcu_connect_timeouts_total", "Participants dropped because ICE or DTLS did not connect within the timeout.", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.ConnectTimeouts) }},
	{"mcu_transport_panics_total", "Participants whose transport broke (a goroutine of theirs panicked); each is also a participant failure.", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.Panics) }},
	{"mcu_rtp_leg_foreign_packets_total", "Packets plain-RTP legs dropped because they came from an address the leg does not latch to (not its remote's IP).", prometheus.CounterValue, func(s transport.Stats) float64 { return float64(s.LegForeignPackets) }},
}

// transportCollector exports transportMetrics from a snapshot function
// (the engine's Stats).
type transportCollector struct {
	stats func() transport.Stats
	table statsTable[transport.Stats]
}

func newTransportCollector(stats func() transport.Stats) *transportCollector {
	return &transportCollector{stats: stats, table: newStatsTable(transportMetrics)}
}

func (c *transportCollector) Describe(ch chan<- *prometheus.Desc) { c.table.describe(ch) }

func (c *transportCollector) Collect(ch chan<- prometheus.Metric) { c.table.collect(ch, c.stats()) }

// roomParticipants lists every room's participants, as they are when
// iterated.
type roomParticipants = iter.Seq2[media.RoomID, []room.Participant]

func managerParticipants(m *room.Manager) roomParticipants {
	return func(yield func(media.RoomID, []room.Participant) bool) {
		for _, id := range m.Rooms() {
			r, err := m.Room(id)
			if err == nil && !yield(id, r.Participants()) { // err: the room has just gone
				return
			}
		}
	}
}

// receiverCollector exports each video receiver's place on the ladder,
// read from the rooms at scrape time so that no series outlives its
// participant.
type receiverCollector struct {
	list                           roomParticipants
	rung, estimate, loss, switches *prometheus.Desc
}

func newReceiverCollector(list roomParticipants) *receiverCollector {
	labels := []string{"room", "participant"}
	return &receiverCollector{
		list:     list,
		rung:     prometheus.NewDesc("mcu_receiver_rung", "Ladder rung each video receiver gets (0 the top, -1 paused).", labels, nil),
		estimate: prometheus.NewDesc("mcu_receiver_estimate_bps", "Link estimate each video receiver's rung follows, bits per second.", labels, nil),
		loss:     prometheus.NewDesc("mcu_receiver_loss_ratio", "Loss fraction each video receiver reports.", labels, nil),
		switches: prometheus.NewDesc("mcu_receiver_rung_switches_total", "Rung changes of each video receiver since it joined.", labels, nil),
	}
}

func (c *receiverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rung
	ch <- c.estimate
	ch <- c.loss
	ch <- c.switches
}

func (c *receiverCollector) Collect(ch chan<- prometheus.Metric) {
	for id, ps := range c.list {
		for _, p := range ps {
			v := p.Video
			if v == nil {
				continue
			}
			labels := []string{string(id), string(p.ID)}
			ch <- prometheus.MustNewConstMetric(c.rung, prometheus.GaugeValue, float64(v.Rung), labels...)
			ch <- prometheus.MustNewConstMetric(c.estimate, prometheus.GaugeValue, float64(v.EstimateBps), labels...)
			ch <- prometheus.MustNewConstMetric(c.loss, prometheus.GaugeValue, v.Loss, labels...)
			ch <- prometheus.MustNewConstMetric(c.switches, prometheus.CounterValue, float64(v.Switches), labels...)
		}
	}
}

// turnMetrics are the embedded TURN server's figures, read at scrape
// time.
func turnMetrics(t *transport.TURNServer) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mcu_turn_allocations", Help: "Live relays of the embedded TURN server."},
			func() float64 { return float64(t.Allocations()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mcu_turn_refused_total", Help: "Permissions and packets the embedded TURN server refused: not toward this MCU's media."},
			func() float64 { return float64(t.Refused()) }),
	}
}
