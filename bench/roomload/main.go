// Command roomload joins N participants (each talker sending its own voice, and
// with -video a moving camera picture) to one room of a running mcu from
// this separate process, holds them for a duration, and reports the mcu
// process's CPU use (from /proc) and what every participant received.
//
//	roomload -url http://127.0.0.1:8080 -n 20 -d 30s -pid $(pidof mcu)
//	roomload -n 4 -video 640x360 -codecs VP8,H264 -d 30s -pid $(pidof mcu)
//	roomload -rtp -n 50 -talkers 3 -d 30s -pid $(pidof mcu)
//	roomload -rtp -n 5 -talkers 3 -rooms 40 -audio-codecs opus,PCMU -d 30s -pid $(pidof mcu)
//	roomload -n 8 -video 320x240 -relay udp -d 30s -pid $(pidof mcu)
//
// With -rtp every participant is a plain-RTP audio leg (POST
// /rooms/{room}/rtp: no ICE, DTLS or SRTP, as Janus AudioBridge's
// participants in bench/janusref) instead of a WebRTC peer; the legs
// listen on loopback, so the mcu needs -rtp-allow 127.0.0.0/8 (and
// -max-legs-per-room 0 beyond 16 legs a room).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/mcu-project/mcu/bench/load"
)

func main() {
	var o load.Options
	flag.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "mcu base URL")
	flag.StringVar(&o.MetricsURL, "metrics-url", "http://127.0.0.1:9091", "the mcu's admin listener (for /metrics)")
	flag.StringVar(&o.Room, "room", "load", "room name")
	flag.IntVar(&o.N, "n", 20, "participants")
	flag.IntVar(&o.Talkers, "talkers", -1, "how many participants talk (send a voice); the rest send silence (-1: all)")
	flag.StringVar(&o.Video, "video", "", "camera size WIDTHxHEIGHT (at 30 fps); empty: audio only")
	codecs := flag.String("codecs", "VP8", "video codecs handed to participants in turn, e.g. VP8,H264")
	flag.DurationVar(&o.D, "d", 30e9, "measurement duration (after all joined)")
	flag.IntVar(&o.PID, "pid", 0, "mcu process ID, for CPU accounting (0: skip)")
	flag.BoolVar(&o.Latency, "latency", false, "measure the audio latency the mcu adds (participant 0 toggles its tone)")
	rtp := flag.Bool("rtp", false, "join plain-RTP audio legs instead of WebRTC peers (no -video, no -latency)")
	flag.BoolVar(&o.CheapVideo, "cheap-video", false, "with -video, replay cameras encoded once and count the composites without decoding them (many rooms from one machine)")
	flag.IntVar(&o.Rooms, "rooms", 1, "rooms of -n participants each (named ROOM-1, ROOM-2, ... when more than one)")
	flag.StringVar(&o.Relay, "relay", "", "udp or tcp: every participant is relayed by the TURN server /config names for that transport (the mcu's own with -turn)")
	audioCodecs := flag.String("audio-codecs", "opus", "with -rtp, audio codecs handed to legs in turn: opus, PCMU")
	flag.Parse()
	o.Codecs, o.AudioCodecs = strings.Split(*codecs, ","), strings.Split(*audioCodecs, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	run := load.Run
	if *rtp {
		if o.Relay != "" {
			fmt.Fprintln(os.Stderr, "roomload: -relay is for WebRTC peers, not -rtp legs")
			os.Exit(2)
		}
		run = load.RunRTP
	}
	r, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "roomload:", err)
		os.Exit(1)
	}
	fmt.Printf("participants: %d (%d talking) in each of %d room(s), duration: %.1f s\n", r.N, r.Talkers, r.Rooms, r.Duration.Seconds())
	if r.AudioRated > 0 {
		fmt.Printf("received audio packets/s per participant hearing someone: min %.1f, max %.1f (want 50)\n", r.AudioPPSMin, r.AudioPPSMax)
	}
	if o.Video != "" {
		fmt.Printf("composite frames/s per participant: min %.1f, max %.1f\n", r.VideoFPSMin, r.VideoFPSMax)
	}
	if len(r.VideoLatencyMs) > 0 {
		fmt.Printf("video latency (camera frame sent to the composite showing it): median %.1f ms over %d frames\n", load.Median(r.VideoLatencyMs), len(r.VideoLatencyMs))
	}
	if len(r.LatencyMs) > 0 {
		fmt.Printf("audio onset latency: median %.1f ms over %d onsets\n", load.Median(r.LatencyMs), len(r.LatencyMs))
	}
	if m := r.OpusModes; m != [3]int64{} {
		fmt.Printf("Opus packets received by mode, SILK/hybrid/CELT: %d/%d/%d\n", m[0], m[1], m[2])
	}
	fmt.Printf("worst participant's packet loss: audio %.2f %%, video %.2f %%\n", 100*r.AudioLossMax, 100*r.VideoLossMax)
	fmt.Printf("mcu mix ticks: %.0f, %.2f %% over 5 ms late; lateness p50 %.2f ms, p99 %.2f ms\n", r.Ticks, 100*r.LateTickShare, r.TickLateP50Ms, r.TickLateP99Ms)
	if o.PID != 0 {
		fmt.Printf("mcu RSS: %.1f MiB (peak %.1f MiB)\n", float64(r.RSSBytes)/(1<<20), float64(r.RSSPeakBytes)/(1<<20))
		fmt.Printf("mcu CPU: %.2f s over %.1f s = %.1f %% of one core; %.3f CPU-s per participant-minute\n",
			r.CPUSeconds, r.Duration.Seconds(), 100*r.CPUSeconds/r.Duration.Seconds(), r.CPUPerParticipantMinute())
	}
}
