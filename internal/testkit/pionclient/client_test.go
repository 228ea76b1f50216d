package pionclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer answers joins as the MCU does, but each client's "composite"
// is its own camera sent straight back, so a test sees its counter return.
type echoServer struct {
	URL string

	mu  sync.Mutex
	pcs []*webrtc.PeerConnection
	// cameras are the SSRCs of the cameras received, per connection.
	cameras map[*webrtc.PeerConnection]uint32
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	s := &echoServer{cameras: map[*webrtc.PeerConnection]uint32{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer, err := s.answer(api, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Location", r.URL.Path)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, answer)
	}))
	s.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, pc := range s.pcs {
			_ = pc.Close()
		}
	})
	return s
}

func (s *echoServer) answer(api *webrtc.API, r *http.Request) (string, error) {
	offer, err := io.ReadAll(r.Body)
	if err != nil {
		return "", err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.pcs = append(s.pcs, pc)
	s.mu.Unlock()
	echo, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "echo")
	if err != nil {
		return "", err
	}
	if _, err := pc.AddTrack(echo); err != nil {
		return "", err
	}
	// pion runs the handler on a goroutine of its own; it ends when
	// Close makes ReadRTP fail.
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		s.mu.Lock()
		s.cameras[pc] = uint32(tr.SSRC())
		s.mu.Unlock()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			_ = echo.WriteRTP(pkt)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// pli asks every client for a keyframe of its camera.
func (s *echoServer) pli() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pc, ssrc := range s.cameras {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLoopCounterEcho sends looped cameras with counters and reads the
// counters back from what returns: the hook sees every decoded picture,
// the send stamps follow the loop and jump to frame 0 on a PLI, and a
// counting-only receiver counts frames without pictures.
func TestLoopCounterEcho(t *testing.T) {
	s := startEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cam := VideoOptions{Y: 60, U: 100, V: 180, Width: 320, Height: 180, FPS: 30, Moving: true, Counter: true, ID: 5, Loop: 15}

	type read struct {
		at   time.Time
		n    int
		ok   bool
		id   int
		size int
	}
	var mu sync.Mutex
	var reads []read
	hook := func(at time.Time, pic *media.VideoFrame) {
		id, n, ok := ReadCounter(pic, 0, 0, pic.Width, pic.Height)
		mu.Lock()
		reads = append(reads, read{at: at, n: n, ok: ok, id: id, size: pic.Width * pic.Height})
		mu.Unlock()
	}
	camA := cam
	a, err := Join(ctx, Options{BaseURL: s.URL, Room: "echo", Name: "a", RecvOnly: true, Video: &camA, RecvVideo: true, OnComposite: hook})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	camB := cam
	b, err := Join(ctx, Options{BaseURL: s.URL, Room: "echo", Name: "b", RecvOnly: true, Video: &camB, RecvVideo: true, CountVideoOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.video.loop == nil || a.video.loop != b.video.loop {
		t.Fatal("identical cameras do not share their loop")
	}

	// Ask for a keyframe mid-loop, once the counter is back.
	waitFor(t, "a's counter to return", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reads) > 0
	})
	waitFor(t, "mid-loop", func() bool {
		st := a.SentVideoFrames()
		return len(st) > 0 && st[len(st)-1].N > 2 && st[len(st)-1].N < cam.Loop-4
	})
	s.pli()
	pliAt := len(a.SentVideoFrames())
	waitFor(t, "two loops after the PLI", func() bool { return len(a.SentVideoFrames()) > pliAt+2*cam.Loop })

	sent := a.SentVideoFrames()
	jumped, wrapped := false, false
	for i, st := range sent {
		if i == 0 {
			if st.N != 0 {
				t.Fatalf("first frame sent shows %d, want 0", st.N)
			}
			continue
		}
		prev := sent[i-1].N
		switch {
		case st.N == prev+1:
		case st.N == 0 && prev == cam.Loop-1:
			wrapped = true
		case st.N == 0:
			jumped = true
		default:
			t.Fatalf("frame %d shows %d after %d", i, st.N, prev)
		}
	}
	if !jumped || !wrapped {
		t.Errorf("restarts: on the PLI %v, at the loop's end %v", jumped, wrapped)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, r := range reads {
		if !r.ok || r.id != cam.ID || r.size != cam.Width*cam.Height {
			t.Fatalf("composite read %+v", r)
		}
		// Each picture left after the last send of its counter value
		// before it arrived.
		var left time.Time
		for _, st := range sent {
			if st.N == r.n && st.At.Before(r.at) {
				left = st.At
			}
		}
		if left.IsZero() {
			t.Fatalf("composite shows %d, never sent before %v", r.n, r.at)
		}
	}
	if pic, n := a.LatestVideo(); pic == nil || n != len(reads) {
		t.Errorf("a decoded %d pictures (latest %v), the hook saw %d", n, pic != nil, len(reads))
	}
	if pic, n := b.LatestVideo(); pic != nil || n == 0 || n != len(b.VideoFrameTimes()) {
		t.Errorf("counting-only receiver: picture %v, %d frames, %d arrivals", pic != nil, n, len(b.VideoFrameTimes()))
	}
}

// TestHistory: with History a client keeps at least the last History of
// audio and never more than twice that, however long it listens.
func TestHistory(t *testing.T) {
	c := &Client{opts: Options{History: time.Second}}
	start := time.Now()
	var at time.Time
	for n := range 500 { // 10 s of 20 ms frames
		at = start.Add(time.Duration(n) * 20 * time.Millisecond)
		c.frames = append(c.frames, Frame{At: at})
		c.forgetLocked(at)
		if span := at.Sub(c.frames[0].At); span > 2*time.Second || span < time.Second && at.Sub(start) >= time.Second {
			t.Fatalf("after %v the client keeps %v of audio, want 1 to 2 s", at.Sub(start), span)
		}
	}
	if kept := len(c.Frames()); kept < 51 || kept > 101 {
		t.Errorf("%d frames kept of the last 1 to 2 s", kept)
	}
}
