package main

import (
	"slices"
	"testing"
	"time"
)

// TestSenderReportsMapRoomClock (and receiver reports): the mix arrives with RTCP sender reports
// whose NTP↔RTP mapping predicts when each packet was sent, so a browser can
// line audio up with video from the same room clock. On loopback, arrival is
// send time plus scheduling delay: no packet may arrive before the time the
// mapping gives its timestamp (that would mean a wrong mapping), the typical
// (median) packet must arrive within 10 ms of it, and the reports' RTP rate
// must be 48 kHz.
func TestSenderReportsMapRoomClock(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	s := startServer(t)
	clients := joinAll(t, s, "sr", []float64{500, 900}, 8192)
	time.Sleep(3500 * time.Millisecond)
	for i, c := range clients {
		srs := c.SenderReports()
		if len(srs) < 2 {
			t.Fatalf("client %d got %d sender reports in 3.5 s, want ≥ 2", i, len(srs))
		}
		a, b := srs[0], srs[len(srs)-1]
		rate := float64(b.RTPTime-a.RTPTime) / b.NTP.Sub(a.NTP).Seconds()
		if rate < 47900 || rate > 48100 {
			t.Errorf("client %d: sender reports advance at %.0f RTP units per second", i, rate)
		}
		// The room clock may slide toward the speaker by one sample per
		// 20 ms tick (room/phase.go): a packet may leave up to 0.1 % of
		// the time since the report earlier than the report maps it.
		var offsets []time.Duration
		for _, f := range c.Frames() {
			sent := b.NTP.Add(time.Duration(float64(int32(f.TS-b.RTPTime)) / 48000 * float64(time.Second)))
			slide := max(f.At.Sub(b.NTP), 0) / 960
			offsets = append(offsets, f.At.Sub(sent)+slide)
		}
		slices.Sort(offsets)
		earliest, median := offsets[0], offsets[len(offsets)/2]
		t.Logf("client %d: %d reports; arrival minus mapped send time (less the clock's slide): earliest %v, median %v, latest %v", i, len(srs), earliest, median, offsets[len(offsets)-1])
		if earliest < -2*time.Millisecond {
			t.Errorf("client %d: a packet arrived %v before its mapped send time", i, -earliest)
		}
		if median > 10*time.Millisecond {
			t.Errorf("client %d: packets arrive %v after their mapped send time (median)", i, median)
		}
		// The server reports on what it receives, so senders can adapt.
		if rr := c.ReceiverReports(); rr == 0 {
			t.Errorf("client %d got no RTCP receiver reports about its audio", i)
		}
	}
}

// TestVideoSenderReportsShareAudioMapping: the composite carries sender
// reports from the same room clock as the mix. A report maps RTP time to
// the room-clock time of the picture (when it was composed), so a frame
// arrives after its mapped time by the compose-encode-send delay: never
// before it (the mapping would be wrong), and within a bounded delay.
func TestVideoSenderReportsShareAudioMapping(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	s := videoServer(t, false)
	c := joinVideo(t, s, "sync", red)
	time.Sleep(3500 * time.Millisecond)
	audio, video := c.SenderReports(), c.VideoSenderReports()
	if len(audio) < 2 || len(video) < 2 {
		t.Fatalf("%d audio and %d video sender reports in 3.5 s", len(audio), len(video))
	}
	vsr := video[len(video)-1]
	rate := float64(vsr.RTPTime-video[0].RTPTime) / vsr.NTP.Sub(video[0].NTP).Seconds()
	if rate < 89800 || rate > 90200 {
		t.Errorf("video sender reports advance at %.0f per second, want 90000", rate)
	}
	var offsets []time.Duration
	for _, f := range c.VideoFrameTimes() {
		sent := vsr.NTP.Add(time.Duration(float64(int32(f.TS-vsr.RTPTime)) / 90000 * float64(time.Second)))
		offsets = append(offsets, f.At.Sub(sent))
	}
	slices.Sort(offsets)
	earliest, median := offsets[0], offsets[len(offsets)/2]
	t.Logf("video: arrival minus mapped room-clock time: earliest %v, median %v", earliest, median)
	if earliest < -2*time.Millisecond {
		t.Errorf("a frame arrived %v before its mapped time", -earliest)
	}
	if median > 200*time.Millisecond {
		t.Errorf("frames arrive %v after their mapped time (median)", median)
	}
}
