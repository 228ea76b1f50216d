package main

import (
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"github.com/prometheus/client_golang/prometheus"
)

// viewer is a peer that only receives the room's video, and drops it.
type viewer struct{ frames chan []byte }

func (viewer) ReadAudio(time.Time) media.EncodedAudio           { return media.EncodedAudio{} }
func (viewer) WriteAudio([]byte, uint32, time.Time) error       { return nil }
func (viewer) Close() error                                     { return nil }
func (v viewer) VideoFrames() <-chan []byte                     { return v.frames }
func (viewer) RequestKeyFrame()                                 {}
func (viewer) WriteVideo([]byte, bool, uint32, time.Time) error { return nil }
func (viewer) TakeKeyFrameRequest() bool                        { return false }

// scrape gathers reg and renders each sample as name{labels} value.
func scrape(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out = append(out, mf.GetName()+"{"+strings.Join(labels, ",")+"} "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return out
}

// requireSamples fails the test unless c alone exports exactly want (as
// scrape renders them, in its order).
func requireSamples(t *testing.T, c prometheus.Collector, want []string) {
	t.Helper()
	prom := prometheus.NewRegistry()
	prom.MustRegister(c)
	if got := scrape(t, prom); !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMetricsLadder: the ladder's manager-wide metrics are exported, and
// each video receiver has its series exactly while it is in a room.
func TestMetricsLadder(t *testing.T) {
	var reg codec.Registry
	if err := vpx.Register(&reg); err != nil {
		t.Fatal(err)
	}
	rooms, err := room.NewManager(room.Config{Registry: &reg, Defaults: room.DefaultOptions(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rooms.Close(); err != nil {
			t.Error(err)
		}
	}()
	prom := prometheus.NewRegistry()
	prom.MustRegister(newRoomCollector(rooms), newReceiverCollector(managerParticipants(rooms)))

	pid, err := rooms.Join("lobby", room.JoinParams{Peer: viewer{make(chan []byte)}, SendVideoCodec: "video/VP8", Kind: "webrtc"})
	if err != nil {
		t.Fatal(err)
	}
	got := scrape(t, prom)
	for _, want := range []string{
		"mcu_video_rung_switches_total{} 0",
		"mcu_video_receivers_paused{} 0",
		"mcu_video_padding_bytes_total{} 0",
		"mcu_video_rung_encoders{rung=0}",
		"mcu_video_rung_encoders{rung=1}",
		"mcu_video_rung_encoders{rung=2}",
		"mcu_receiver_rung{participant=" + string(pid) + ",room=lobby} 0",
		"mcu_receiver_estimate_bps{participant=" + string(pid) + ",room=lobby}",
		"mcu_receiver_loss_ratio{participant=" + string(pid) + ",room=lobby}",
		"mcu_receiver_rung_switches_total{participant=" + string(pid) + ",room=lobby} 0",
	} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("no sample %q in\n%s", want, strings.Join(got, "\n"))
		}
	}

	if err := rooms.Leave("lobby", pid); err != nil {
		t.Fatal(err)
	}
	for _, s := range scrape(t, prom) {
		if strings.HasPrefix(s, "mcu_receiver_") {
			t.Errorf("stale series after leaving: %s", s)
		}
	}
}

// TestMetricsReceiverValues: a paused receiver and one on a lower rung
// report their rung, estimate, loss and switches; participants receiving
// no video have no series.
func TestMetricsReceiverValues(t *testing.T) {
	list := func(yield func(media.RoomID, []room.Participant) bool) {
		yield("r1", []room.Participant{
			{ID: "a", Video: &room.VideoReception{Rung: 1, EstimateBps: 700_000, Loss: 0.02, Switches: 3}},
			{ID: "phone"},
			{ID: "b", Video: &room.VideoReception{Rung: -1, EstimateBps: 90_000, Loss: 0.25, Switches: 1}},
		})
	}
	requireSamples(t, newReceiverCollector(list), []string{
		"mcu_receiver_estimate_bps{participant=a,room=r1} 700000",
		"mcu_receiver_estimate_bps{participant=b,room=r1} 90000",
		"mcu_receiver_loss_ratio{participant=a,room=r1} 0.02",
		"mcu_receiver_loss_ratio{participant=b,room=r1} 0.25",
		"mcu_receiver_rung{participant=a,room=r1} 1",
		"mcu_receiver_rung{participant=b,room=r1} -1",
		"mcu_receiver_rung_switches_total{participant=a,room=r1} 3",
		"mcu_receiver_rung_switches_total{participant=b,room=r1} 1",
	})
}

// TestMetricsTransport: the transport engine's drop, bad-packet, padding,
// pacer, RED and foreign-packet counters are exported under their names, each from its own
// field, and the server registers them.
func TestMetricsTransport(t *testing.T) {
	requireSamples(t, newTransportCollector(func() transport.Stats {
		return transport.Stats{VideoInDropped: 1, VideoOutDropped: 2, BadRTP: 3, PaddingBytes: 4, ConnectTimeouts: 5, LegForeignPackets: 6, Panics: 7,
			PacerDropped: 8, PacedPackets: 9, PaceDelay: 1500 * time.Millisecond, REDPackets: 10, REDRedundant: 11}
	}), []string{
		"mcu_audio_red_packets_total{} 10",
		"mcu_audio_red_redundant_packets_total{} 11",
		"mcu_connect_timeouts_total{} 5",
		"mcu_pacer_dropped_frames_total{} 8",
		"mcu_pacer_packets_total{} 9",
		"mcu_pacer_queue_seconds_total{} 1.5",
		"mcu_rtp_bad_packets_total{} 3",
		"mcu_rtp_leg_foreign_packets_total{} 6",
		"mcu_transport_padding_bytes_total{} 4",
		"mcu_transport_panics_total{} 7",
		"mcu_video_in_dropped_frames_total{} 1",
		"mcu_video_out_dropped_frames_total{} 2",
	})

	s := startServer(t)
	for _, name := range []string{"mcu_video_in_dropped_frames_total", "mcu_video_out_dropped_frames_total", "mcu_rtp_bad_packets_total", "mcu_transport_padding_bytes_total", "mcu_rtp_leg_foreign_packets_total"} {
		if v := s.metric(t, name); v != 0 {
			t.Errorf("%s = %v on a new server", name, v)
		}
	}
}
