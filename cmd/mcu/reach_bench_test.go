package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
	"github.com/pion/webrtc/v4"
)

// BenchmarkJoinToFirstFrame: how long a participant waits from its join
// (its offer made with its candidates gathered, then the POST) to its
// first decoded composite frame, directly over UDP, over ICE-TCP, and
// relayed by the embedded TURN server over UDP and over TCP. Each round
// joins once in every mode, in turn, to the same server and room, where a
// camera is on; it logs the medians side by side, and reports them.
//
//	go test -run '^$' -bench JoinToFirstFrame -benchtime 10x ./cmd/mcu/
func BenchmarkJoinToFirstFrame(b *testing.B) {
	s := startServer(b, withTURN, func(c *Config) { c.ICETCPPort, c.Canvas = "127.0.0.1:0", "640x360@15" })
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.N)*time.Minute)
	defer cancel()
	camera, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "first", Name: "camera", ToneHz: 440,
		Video: &pionclient.VideoOptions{Y: red.y, U: red.u, V: red.v, FPS: 15}})
	if err != nil {
		b.Fatal(err)
	}
	defer camera.Close()
	if err := camera.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	modes := []struct {
		name string
		opts pionclient.Options
	}{
		{"direct UDP", pionclient.Options{}},
		{"ICE-TCP", pionclient.Options{NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}}},
		{"TURN/UDP", pionclient.Options{ICEServers: configICEServers(b, s, "?transport=udp"), RelayOnly: true}},
		{"TURN/TCP", pionclient.Options{ICEServers: configICEServers(b, s, "?transport=tcp"), RelayOnly: true}},
	}
	answered, connected, first := make([][]float64, len(modes)), make([][]float64, len(modes)), make([][]float64, len(modes))
	for b.Loop() {
		for i, m := range modes {
			a, c, f, err := joinToFirstFrame(ctx, s, m.opts)
			if err != nil {
				b.Fatalf("%s: %v", m.name, err)
			}
			answered[i], connected[i], first[i] = append(answered[i], ms(a)), append(connected[i], ms(c)), append(first[i], ms(f))
			// The canvas's encoder stops with its last receiver: every
			// join starts it afresh.
			time.Sleep(500 * time.Millisecond)
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "join to (median of %d, ms): %-10s %-10s %-12s\n", len(first[0]), "answer", "connected", "first frame")
	for i, m := range modes {
		fmt.Fprintf(&table, "%-31s %-10.0f %-10.0f %-12.0f\n", m.name, median(answered[i]), median(connected[i]), median(first[i]))
		b.ReportMetric(median(first[i]), "ms-"+strings.NewReplacer(" ", "-", "/", "-").Replace(m.name))
	}
	b.Log("\n" + table.String())
}

// joinToFirstFrame joins a receiver with opts and times its answer, its
// connection and its first decoded composite, then leaves.
func joinToFirstFrame(ctx context.Context, s *testServer, opts pionclient.Options) (answered, connected, first time.Duration, err error) {
	frame := make(chan time.Time, 1)
	opts.BaseURL, opts.Room, opts.Name, opts.RecvOnly, opts.RecvVideo = s.URL, "first", "probe", true, true
	opts.OnComposite = func(at time.Time, _ *media.VideoFrame) {
		select {
		case frame <- at:
		default:
		}
	}
	start := time.Now()
	c, err := pionclient.Join(ctx, opts)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	answered = time.Since(start)
	if err := c.WaitConnected(ctx); err != nil {
		return 0, 0, 0, err
	}
	connected = time.Since(start)
	select {
	case at := <-frame:
		first = at.Sub(start)
	case <-ctx.Done():
		return 0, 0, 0, ctx.Err()
	}
	_, err = c.Leave(ctx)
	return answered, connected, first, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
