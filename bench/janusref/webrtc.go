package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/bench/internal/proc"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// runWebRTC is the run with WebRTC participants, so that the harness's
// WebRTC rows compare WebRTC with WebRTC: bench/load's clients (pion peer
// connections replaying the same pre-encoded streams, with ICE, DTLS and
// SRTP) each join the room through Janus's HTTP API with their offer in
// the join request, and count the mix they decode. Janus's encoders get
// the same settings as the plain-RTP run's (-quality, -bitrate).
func runWebRTC(ctx context.Context, o options, jp *janusProc, api *janusAPI, room int64, loops [][][]byte, res result) (result, error) {
	type member struct {
		c      *pionclient.Client
		handle int64
	}
	members := make([]member, 0, o.n)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, m := range members {
			if _, err := api.message(cctx, m.handle, map[string]any{"request": "leave"}); err != nil {
				vlogf("leave: %v", err)
			}
			if err := api.detach(cctx, m.handle); err != nil {
				vlogf("detach: %v", err)
			}
			m.c.Close()
		}
	}()
	for i := range o.n {
		h, err := api.attach(ctx)
		if err != nil {
			return res, withLog(err, jp)
		}
		join := map[string]any{"request": "join", "room": room, "display": fmt.Sprintf("p%d", i), "muted": false}
		if o.quality > 0 {
			join["quality"] = o.quality
		}
		if o.bitrate > 0 {
			join["bitrate"] = o.bitrate
		}
		signal := func(ctx context.Context, offer string) (string, error) {
			noTrickle := false // the offer carries every candidate
			_, answer, err := api.messageJSEP(ctx, h, join, &jsep{Type: "offer", SDP: offer, Trickle: &noTrickle})
			if err != nil {
				return "", err
			}
			if answer == nil || answer.Type != "answer" {
				return "", errors.New("janus joined without an SDP answer")
			}
			return answer.SDP, nil
		}
		c, err := pionclient.Join(ctx, pionclient.Options{Name: fmt.Sprintf("p%d", i), Replay: loops[i], Signal: signal, Interfaces: []string{o.link.HostIf}})
		if err != nil {
			_ = api.detach(ctx, h)
			return res, withLog(fmt.Errorf("participant %d: %w", i, err), jp)
		}
		members = append(members, member{c, h})
	}
	// Every participant must be connected and hear the mix before we
	// measure.
	deadline := time.Now().Add(15 * time.Second)
	for i, m := range members {
		for m.c.FrameCount() == 0 {
			if !jp.alive() {
				return res, withLog(errors.New("janus exited"), jp)
			}
			if time.Now().After(deadline) {
				return res, withLog(fmt.Errorf("participant %d received nothing from janus within 15 s", i), jp)
			}
			if err := proc.Sleep(ctx, 50*time.Millisecond); err != nil {
				return res, err
			}
		}
	}
	vlogf("%d WebRTC participants joined and hear the mix", o.n)
	if err := proc.Sleep(ctx, o.settle); err != nil {
		return res, err
	}
	before := make([]int, len(members))
	lost0 := 0
	for i, m := range members {
		before[i] = m.c.FrameCount()
		a := m.c.AudioPackets()
		lost0 += a.Expected - a.Received
		for k, n := range m.c.OpusModes() {
			res.OpusModes[k] -= int64(n)
		}
	}
	elapsed, err := measureCPU(ctx, jp, o, &res)
	if err != nil {
		return res, err
	}
	res.OutPPSMin = math.Inf(1)
	lost := -lost0
	for i, m := range members {
		pps := float64(m.c.FrameCount()-before[i]) / elapsed.Seconds()
		res.OutPPSMin, res.OutPPSMax = min(res.OutPPSMin, pps), max(res.OutPPSMax, pps)
		a := m.c.AudioPackets()
		lost += a.Expected - a.Received
		for k, n := range m.c.OpusModes() {
			res.OpusModes[k] += int64(n)
		}
	}
	res.OutSeqGaps = int64(lost)
	levels := make([]float64, o.talkers) // each talker's tone in its voice
	for j := range levels {
		levels[j] = opusloop.VoiceToneLevel(opusloop.ToneHz(j), o.amp)
	}
	for i, m := range members {
		fr := m.c.Frames()
		var pcm []int16
		// The last loop's length (2 s): a voice's level at its talker's
		// tone is an average over its loop; over any one second of a
		// 31-voice mix coded CELT-only it fell to a third of it.
		for _, f := range fr[max(0, len(fr)-opusloop.LoopFrames):] {
			pcm = append(pcm, f.Samples...)
		}
		if err := hearsEveryTalker(pcm, i, levels); err != nil {
			return res, withLog(fmt.Errorf("participant %d: %w", i, err), jp)
		}
	}
	res.OutPPSMin, res.OutPPSMax = round3(res.OutPPSMin), round3(res.OutPPSMax)
	res.Impl = "janus-audiobridge-webrtc"
	return res, nil
}

// hearsEveryTalker checks that Janus did the work it is measured for: the
// mix participant self decoded (pcm) carries every other talker's tone at a
// quarter or more of its level in the talker's voice (levels). (Janus's
// CPU barely grows from 8 to 16 WebRTC participants, less than over plain
// RTP; this shows that all 16 are mixed all the same.)
func hearsEveryTalker(pcm []int16, self int, levels []float64) error {
	for j, level := range levels {
		if a := codectest.Goertzel(pcm, opusloop.ToneHz(j)); j != self && a < level/4 {
			return fmt.Errorf("the mix from janus carries talker %d's %.0f Hz tone at amplitude %.0f in %d samples, want about %.0f", j, opusloop.ToneHz(j), a, len(pcm), level)
		}
	}
	return nil
}
