// Package pionclient is a scripted WebRTC participant for end-to-end tests
// and load generation: it joins a room over the HTTP join API, sends a sine
// tone through Opus at real-time pace, and records what it hears with arrival
// times so tests can analyse any window of it.
package pionclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/media"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
)

// Options describe one participant.
type Options struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Room    string
	Name    string
	// Token is sent as "Authorization: Bearer <token>" on the join and
	// the leave (empty: none).
	Token string
	// ToneHz is the frequency this client sends; 0 sends silence.
	ToneHz float64
	// ToneAmp is the tone's peak amplitude (int16 scale); default 8192.
	ToneAmp float64
	// FEC makes the sender's Opus encoder add in-band FEC and expect 10 %
	// loss, as browsers do on lossy links; libopus then favours its SILK
	// (speech) modes. Without it a tone is coded with CELT.
	FEC bool
	// RED offers to receive audio/red (RFC 2198) over Opus as Chrome does
	// (red/48000/2, fmtp 111/111); the client then recovers a lost packet's
	// frame from the next packet's redundant block (RecoveredFrames).
	RED bool
	// SendOnly / RecvOnly restrict the audio direction (default sendrecv).
	SendOnly, RecvOnly bool
	// Video, when set, sends a camera of that colour; RecvVideo asks for
	// the room's composite.
	Video     *VideoOptions
	RecvVideo bool
	// HTTP makes the join and leave requests (nil: http.DefaultClient), so
	// a caller can close its idle connections when done.
	HTTP *http.Client
	// OnComposite, when set, is called with every composite picture
	// decoded, and the arrival of the packet that completed its frame, on
	// the goroutine receiving the video: pic is the decoder's, valid only
	// during the call, so the hook must be quick and copy what it keeps
	// (e.g. ReadCounter's result). Never called with CountVideoOnly.
	OnComposite func(at time.Time, pic *media.VideoFrame)
	// CountVideoOnly assembles and counts the composite's frames without
	// decoding them (no decoder, hence no keyframe requests), so a load
	// generator can run many receivers cheaply; LatestVideo then returns
	// no picture, only the count.
	CountVideoOnly bool
	// VideoCodec limits the client's offer to one video codec
	// ("video/VP8" or "video/H264"), as a browser that has only that one;
	// empty offers pion's defaults (VP8 first).
	VideoCodec string
	// Feedback makes the client report on what it receives as a browser
	// does: NACKs, receiver reports and transport-wide congestion-control
	// feedback (so the server can estimate the link toward it).
	Feedback bool
	// Replay, when set, is Opus frames (20 ms each) sent in a loop instead
	// of the tone encoded live: a load generator with many clients then
	// spends no CPU encoding. ToneHz and SetTone are ignored. The loop
	// runs in step with the wall clock (replayStep), not from where the
	// client joined.
	Replay [][]byte
	// History, when set, keeps only the audio received within the last
	// History (Frames, Received and FrameCount see no further back), so a
	// listener that runs for minutes holds a bounded amount of it; zero
	// keeps everything.
	History time.Duration
	// KeepSent keeps every frame it sends, as its own decoder hears it,
	// with the send time (Sent): latency is then measured from the first
	// sent frame that carries a sound to the first received one, so the
	// sender's packetisation and encoder delay are not counted.
	KeepSent bool
	// Interfaces are the network interfaces it gathers candidates on
	// (default: loopback only).
	Interfaces []string
	// NetworkTypes limits the candidates it gathers and pairs with
	// (default: pion's, UDP only); TCP alone is a client whose UDP is
	// blocked, which connects to the server's passive ICE-TCP candidates.
	NetworkTypes []webrtc.NetworkType
	// ICEServers are the STUN and TURN servers it gathers candidates
	// through; RelayOnly keeps only relayed ones, as a browser's
	// iceTransportPolicy "relay" (and, as a browser, nominating the first
	// relayed pair that works).
	ICEServers []webrtc.ICEServer
	RelayOnly  bool
	// Via, when set, routes the media through a relay: the offer goes to
	// the server without the client's candidates (so the server can only
	// learn the relay's address), and Via rewrites the server's answer,
	// typically to replace its candidates with the relay's. An ICE
	// restart's answer (a fragment) goes through it too.
	Via func(answer string) (string, error)
	// Endpoint is the path the offer is posted to: by default the join
	// API's /rooms/{Room}/join, or e.g. /whip/{room} or /whep/{room}.
	Endpoint string
	// Screen, when set (with Video), sends a second video track on its own
	// m-line, send only: a screen share of that picture (StopScreen ends
	// it). Default 1920×1080 at 5 fps.
	Screen *VideoOptions
	// Signal, when set, takes the offer to another server's signalling
	// instead of the join API (e.g. Janus's HTTP API in bench/janusref) and
	// returns its answer; BaseURL, Room, Endpoint and Token are unused.
	Signal func(ctx context.Context, offer string) (answer string, err error)
}

// Frame is 20 ms of received audio: when it arrived and its RTP timestamp.
type Frame struct {
	At      time.Time
	TS      uint32
	Samples []int16
}

// SenderReport is an RTCP sender report as received.
type SenderReport struct {
	At      time.Time
	NTP     time.Time
	RTPTime uint32
	Packets uint32
}

// Client is a joined participant.
type Client struct {
	opts     Options
	pc       *webrtc.PeerConnection
	Location string // participant URL from the join response
	Answer   string // the server's SDP answer
	// ETag is the entity-tag of the current ICE session: from the join
	// response, then from each ICE restart's.
	ETag string
	// ICEServerLinks are the join response's Link: rel="ice-server" headers.
	ICEServerLinks []string

	video  videoClient
	screen sendState     // Options.Screen's track
	toneHz atomic.Uint64 // float64 bits; 0 sends silence

	mu              sync.Mutex
	frames          []Frame
	sent            []Frame // with KeepSent
	reports         []SenderReport
	receiverReports int // RTCP receiver reports about what this client sends
	audioSeq        seqCounter
	audioBytes      int // audio RTP bytes received (AudioBytes)
	opusModes       [3]int
	red             redReceiver

	connected chan struct{}
	ended     chan struct{} // closed when the connection drops or closes
	stop      chan struct{}
	wg        sync.WaitGroup
	lifeMu    sync.Mutex // orders worker registration before Close's Wait
	closed    bool
}

// startWorker registers a goroutine Close waits for; false once closing.
func (c *Client) startWorker() bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// mediaEngine offers Opus and either pion's default video codecs or just
// videoCodec.
func mediaEngine(videoCodec string) (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	if videoCodec == "" {
		return me, me.RegisterDefaultCodecs()
	}
	err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio)
	if err != nil {
		return nil, err
	}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	video := webrtc.RTPCodecCapability{MimeType: videoCodec, ClockRate: 90000, RTCPFeedback: fb}
	if strings.EqualFold(videoCodec, webrtc.MimeTypeH264) {
		video.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	return me, me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: video, PayloadType: 102}, webrtc.RTPCodecTypeVideo)
}

// Join negotiates with the MCU and starts sending and recording.
func Join(ctx context.Context, opts Options) (c *Client, err error) {
	if opts.ToneAmp == 0 {
		opts.ToneAmp = 8192
	}
	var se webrtc.SettingEngine
	ifaces := opts.Interfaces
	if len(ifaces) == 0 {
		ifaces = []string{"lo"}
	}
	se.SetIncludeLoopbackCandidate(slices.Contains(ifaces, "lo"))
	se.SetInterfaceFilter(func(name string) bool { return slices.Contains(ifaces, name) })
	if len(opts.NetworkTypes) > 0 {
		se.SetNetworkTypes(opts.NetworkTypes)
	}
	if opts.RelayOnly {
		// pion waits 2 s before it nominates a relayed pair, in case a
		// better one turns up; with relays only, none will.
		se.SetRelayAcceptanceMinWait(0)
	}
	me, err := mediaEngine(opts.VideoCodec)
	if err != nil {
		return nil, err
	}
	if opts.RED {
		// After Opus: the client keeps sending plain Opus.
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"},
			PayloadType:        63,
		}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	if opts.Feedback {
		if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
			return nil, err
		}
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	pcCfg := webrtc.Configuration{ICEServers: opts.ICEServers}
	if opts.RelayOnly {
		pcCfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(pcCfg)
	if err != nil {
		return nil, err
	}
	c = &Client{opts: opts, pc: pc, connected: make(chan struct{}), ended: make(chan struct{}), stop: make(chan struct{})}
	// The callback keeps its own reference: a failed join returns a nil
	// c while pion still reports the connection closing.
	connected, ended := c.connected, c.ended
	var connOnce, endOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connOnce.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			endOnce.Do(func() { close(ended) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		if c.startWorker() {
			go c.readReports(rx, tr.Kind() == webrtc.RTPCodecTypeVideo)
		}
		if !c.startWorker() {
			return
		}
		defer c.wg.Done()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			c.recordVideo(tr)
			return
		}
		c.record(tr)
	})

	var track *webrtc.TrackLocalStaticSample
	var sender *webrtc.RTPSender
	switch {
	case opts.RecvOnly:
		_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	default:
		track, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", opts.Name)
		if err == nil {
			dir := webrtc.RTPTransceiverDirectionSendrecv
			if opts.SendOnly {
				dir = webrtc.RTPTransceiverDirectionSendonly
			}
			var tr *webrtc.RTPTransceiver
			if tr, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: dir}); err == nil {
				sender = tr.Sender()
			}
		}
	}
	var vtrack *webrtc.TrackLocalStaticSample
	var vsender *webrtc.RTPSender
	if err == nil {
		vtrack, vsender, err = addVideo(pc, &opts)
	}
	if err == nil && vtrack != nil && opts.Video.Loop > 0 {
		c.video.loop, err = sharedLoop(vtrack.Codec().MimeType, *opts.Video)
	}
	var strack *webrtc.TrackLocalStaticSample
	var ssender *webrtc.RTPSender
	if err == nil && opts.Screen != nil {
		strack, ssender, err = c.addScreen(pc, opts.Screen)
	}
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		_ = pc.Close()
		return nil, err
	}
	<-gathered
	offerSDP := pc.LocalDescription().SDP
	if opts.Via != nil {
		offerSDP = candidateLine.ReplaceAllString(offerSDP, "")
	}
	var res joined
	if opts.Signal != nil {
		res.answer, err = opts.Signal(ctx, offerSDP)
	} else {
		res, err = post(ctx, opts, offerSDP)
	}
	answer := res.answer
	if err == nil && opts.Via != nil {
		answer, err = opts.Via(answer)
	}
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	c.Location, c.ICEServerLinks, c.Answer, c.ETag = res.location, res.links, answer, res.etag
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetTone(opts.ToneHz)
	if track != nil && c.startWorker() {
		go c.send(track)
	}
	if sender != nil && c.startWorker() {
		go c.readSenderRTCP(sender, c.countReceiverReport)
	}
	if vtrack != nil {
		c.startSending(vtrack, vsender, *opts.Video, &c.video.sendState)
	}
	if strack != nil {
		c.startSending(strack, ssender, *opts.Screen, &c.screen)
	}
	return c, nil
}

// addVideo adds the camera and/or composite transceiver the options ask for.
func addVideo(pc *webrtc.PeerConnection, opts *Options) (*webrtc.TrackLocalStaticSample, *webrtc.RTPSender, error) {
	switch {
	case opts.Video != nil:
		v := opts.Video
		if v.Width == 0 {
			v.Width, v.Height = 320, 240
		}
		if v.FPS == 0 {
			v.FPS = 15
		}
		if err := v.check(); err != nil {
			return nil, nil, err
		}
		track, err := webrtc.NewTrackLocalStaticSample(cameraCapability(opts.VideoCodec), "video", opts.Name)
		if err != nil {
			return nil, nil, err
		}
		dir := webrtc.RTPTransceiverDirectionSendonly
		if opts.RecvVideo {
			dir = webrtc.RTPTransceiverDirectionSendrecv
		}
		tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: dir})
		if err != nil {
			return nil, nil, err
		}
		return track, tr.Sender(), nil
	case opts.RecvVideo:
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		return nil, nil, err
	}
	return nil, nil, nil
}

// cameraCapability is what a client sends its video in: VP8 unless
// videoCodec asks for H.264.
func cameraCapability(videoCodec string) webrtc.RTPCodecCapability {
	if strings.EqualFold(videoCodec, webrtc.MimeTypeH264) {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
}

var candidateLine = regexp.MustCompile(`(?m)^a=(candidate|end-of-candidates).*\r?\n`)

func (o *Options) httpClient() *http.Client {
	if o.HTTP != nil {
		return o.HTTP
	}
	return http.DefaultClient
}

// authorize adds the bearer token, if any.
func (o *Options) authorize(req *http.Request) {
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
}

// joined is what a join response told.
type joined struct {
	answer, location, etag string
	links                  []string
}

func post(ctx context.Context, opts Options, offer string) (joined, error) {
	u := opts.BaseURL + "/rooms/" + url.PathEscape(opts.Room) + "/join"
	if opts.Endpoint != "" {
		u = opts.BaseURL + opts.Endpoint
	}
	if opts.Name != "" {
		u += "?name=" + url.QueryEscape(opts.Name)
	}
	res, body, err := opts.do(ctx, http.MethodPost, u, "application/sdp", offer, nil)
	if err != nil {
		return joined{}, err
	}
	if res.StatusCode != http.StatusCreated {
		return joined{}, fmt.Errorf("join: %s: %s", res.Status, strings.TrimSpace(body))
	}
	return joined{body, res.Header.Get("Location"), res.Header.Get("ETag"), res.Header.Values("Link")}, nil
}

// do sends one request with the token and returns the response and its
// body.
func (o *Options) do(ctx context.Context, method, u, ctype, body string, header http.Header) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	o.authorize(req)
	res, err := o.httpClient().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// ConfigICEServers fetches the server's /config (with the options'
// token, if any) and returns the ICE servers whose URL contains keep
// ("?transport=tcp", say), one URL each, as pion takes them.
func ConfigICEServers(ctx context.Context, opts Options, keep string) ([]webrtc.ICEServer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.BaseURL+"/config", nil)
	if err != nil {
		return nil, err
	}
	opts.authorize(req)
	res, err := opts.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/config: %s", res.Status)
	}
	var cfg struct {
		ICEServers []struct {
			URLs                 []string
			Username, Credential string
		} `json:"iceServers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("/config: %w", err)
	}
	var out []webrtc.ICEServer
	for _, ice := range cfg.ICEServers {
		for _, u := range ice.URLs {
			if strings.Contains(u, keep) {
				out = append(out, webrtc.ICEServer{URLs: []string{u}, Username: ice.Username, Credential: ice.Credential})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/config names no ICE server with %q", keep)
	}
	return out, nil
}

// WaitConnected waits for ICE and DTLS to complete.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: not connected: %w", c.opts.Name, ctx.Err())
	}
}

// Path is the candidate pair the connection uses (nil before it has
// one): whether it is direct or relayed, over UDP or TCP.
func (c *Client) Path() (*webrtc.ICECandidatePair, error) {
	for _, tr := range c.pc.GetTransceivers() {
		if t := tr.Receiver().Transport(); t != nil {
			return t.ICETransport().GetSelectedCandidatePair()
		}
	}
	return nil, errors.New("no transport")
}

// SetTone changes the tone the client sends (0: silence), e.g. to make it
// start or stop talking.
func (c *Client) SetTone(hz float64) { c.toneHz.Store(math.Float64bits(hz)) }

// WaitClosed waits until the connection is lost or closed (e.g. the server
// hung up).
func (c *Client) WaitClosed(ctx context.Context) error {
	select {
	case <-c.ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: still connected: %w", c.opts.Name, ctx.Err())
	}
}

// send paces Opus frames of the tone on absolute 20 ms deadlines.
func (c *Client) send(track *webrtc.TrackLocalStaticSample) {
	defer c.wg.Done()
	// With FEC, send like a browser: 32 kb/s, where libopus codes speech
	// (and our tones) in its SILK modes, the ones that carry FEC. At 64 kb/s
	// it may settle on CELT for a tone, which has none.
	rate := 64000
	if c.opts.FEC {
		rate = 32000
	}
	enc, err := opus.NewEncoder(codec.EncoderParams{BitrateBps: rate, FEC: c.opts.FEC})
	if err != nil {
		return
	}
	defer enc.Close()
	if c.opts.FEC {
		_ = enc.SetPacketLossPercent(10)
	}
	var self *opus.Decoder // with KeepSent: what a listener of ours would decode
	if c.opts.KeepSent {
		if self, err = opus.NewDecoder(); err != nil {
			return
		}
		defer self.Close()
	}
	pcm := make([]int16, 960)
	pkt := make([]byte, 1500)
	start := time.Now()
	step := 0
	if len(c.opts.Replay) > 0 {
		step = replayStep(start, len(c.opts.Replay))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		var size int
		if r := c.opts.Replay; len(r) > 0 {
			size = copy(pkt, r[(n+step)%len(r)])
		} else {
			hz := math.Float64frombits(c.toneHz.Load())
			for i := range pcm {
				pcm[i] = int16(c.opts.ToneAmp * math.Sin(2*math.Pi*hz*float64(n*960+i)/48000))
			}
			size, err = enc.Encode(pcm, pkt)
		}
		if err == nil {
			_ = track.WriteSample(pmedia.Sample{Data: append([]byte(nil), pkt[:size]...), Duration: 20 * time.Millisecond})
			if self != nil {
				c.keepSent(self, pkt[:size])
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * 20 * time.Millisecond)))
	}
}

// record decodes the incoming audio and appends it, with arrival time.
func (c *Client) record(tr *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder()
	if err != nil {
		return
	}
	defer dec.Close()
	pcm := make([]int16, opus.MaxPacketSamples)
	red := strings.EqualFold(tr.Codec().MimeType, MimeTypeRED)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.audioSeq.add(pkt.SequenceNumber)
		c.audioBytes += pkt.MarshalSize()
		frames := []redFrame{{pkt.Timestamp, pkt.Payload}}
		if red {
			frames = c.red.frames(pkt)
		}
		if len(frames) > 0 && len(frames[len(frames)-1].payload) > 0 { // the primary, for RED
			c.opusModes[opus.PacketMode(frames[len(frames)-1].payload[0])]++
		}
		c.mu.Unlock()
		for _, f := range frames {
			n, err := dec.Decode(f.payload, pcm)
			if err != nil {
				continue
			}
			now := time.Now()
			c.mu.Lock()
			c.frames = append(c.frames, Frame{At: now, TS: f.ts, Samples: append([]int16(nil), pcm[:n]...)})
			c.forgetLocked(now)
			c.mu.Unlock()
		}
	}
}

// replayStep is the frame of a loop of n frames that plays at start when
// loops play in step with the wall clock: clients replaying loops of one
// length then send the same frame at once (to within a frame) whenever
// each joined, so what a server mixes from them does not depend on the
// order and timing of their joins (bench/load's talkers: their loops'
// rotations alone set them apart).
func replayStep(start time.Time, n int) int {
	return int(start.UnixNano() / int64(20*time.Millisecond) % int64(n))
}

// MimeTypeRED is audio/red, RFC 2198 redundant audio (pion has no
// constant for it).
const MimeTypeRED = "audio/red"

// RecoveredFrames counts the audio frames recovered from RED redundant
// blocks (Options.RED).
func (c *Client) RecoveredFrames() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.red.recovered
}

// forgetLocked drops the frames older than Options.History once they
// span another History, so the copy is paid once per History of audio
// rather than on every frame.
func (c *Client) forgetLocked(now time.Time) {
	h := c.opts.History
	if h <= 0 || now.Sub(c.frames[0].At) <= 2*h {
		return
	}
	i, _ := slices.BinarySearchFunc(c.frames, now.Add(-h), func(f Frame, t time.Time) int { return f.At.Compare(t) })
	c.frames = slices.Clone(c.frames[i:])
}

// seqCounter counts the packets of an RTP stream that arrived against
// those sent (from the sequence-number span).
type seqCounter struct {
	started  bool
	first    int64
	highest  int64 // extended over wraps
	received int
}

func (s *seqCounter) add(seq uint16) { s.addWrapping(int64(seq), 16) }

// addWrapping counts v, a counter that wraps after bits bits.
func (s *seqCounter) addWrapping(v int64, bits uint) {
	if !s.started {
		s.started, s.first, s.highest = true, v, v
	}
	// Extend v to the wrap cycle nearest the highest so far.
	full := int64(1) << bits
	ext := s.highest&^(full-1) | v
	switch {
	case ext < s.highest-full/2:
		ext += full
	case ext > s.highest+full/2:
		ext -= full
	}
	s.highest = max(s.highest, ext)
	s.received++
}

// Counts is what arrived of a stream and what was sent.
type Counts struct{ Received, Expected int }

func (s *seqCounter) counts() Counts {
	if !s.started {
		return Counts{}
	}
	return Counts{Received: s.received, Expected: int(s.highest - s.first + 1)}
}

// AudioPackets counts the audio packets received and sent to this client.
func (c *Client) AudioPackets() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.audioSeq.counts()
}

// OpusModes counts the audio packets received by Opus mode
// (opus.PacketMode: SILK-only, hybrid, CELT-only).
func (c *Client) OpusModes() [3]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opusModes
}

// AudioBytes counts the audio RTP bytes received (headers included, after
// SRTP).
func (c *Client) AudioBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.audioBytes
}

// readReports keeps the sender reports of an incoming stream.
func (c *Client) readReports(rx *webrtc.RTPReceiver, video bool) {
	defer c.wg.Done()
	for {
		pkts, _, err := rx.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			sr, ok := p.(*rtcp.SenderReport)
			if !ok {
				continue
			}
			r := SenderReport{At: time.Now(), NTP: fromNTP(sr.NTPTime), RTPTime: sr.RTPTime, Packets: sr.PacketCount}
			if video {
				c.video.mu.Lock()
				c.video.reports = append(c.video.reports, r)
				c.video.mu.Unlock()
				continue
			}
			c.mu.Lock()
			c.reports = append(c.reports, r)
			c.mu.Unlock()
		}
	}
}

// readSenderRTCP hands each RTCP packet the server sends about one of
// this client's streams to on, until the sender closes.
func (c *Client) readSenderRTCP(s *webrtc.RTPSender, on func(rtcp.Packet)) {
	defer c.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			on(p)
		}
	}
}

// countReceiverReport counts the receiver reports about our audio.
func (c *Client) countReceiverReport(p rtcp.Packet) {
	if _, ok := p.(*rtcp.ReceiverReport); ok {
		c.mu.Lock()
		c.receiverReports++
		c.mu.Unlock()
	}
}

// ReceiverReports returns how many RTCP receiver reports arrived about the
// audio this client sends.
func (c *Client) ReceiverReports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receiverReports
}

// fromNTP converts a 64-bit NTP timestamp to time.Time.
func fromNTP(ntp uint64) time.Time {
	const ntpEpochOffset = 2208988800
	secs := int64(ntp>>32) - ntpEpochOffset
	nanos := (int64(ntp&0xffffffff) * 1e9) >> 32
	return time.Unix(secs, nanos)
}

// SenderReports returns the sender reports received so far.
func (c *Client) SenderReports() []SenderReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]SenderReport(nil), c.reports...)
}

// keepSent decodes a frame just sent and keeps it with its send time.
func (c *Client) keepSent(dec *opus.Decoder, pkt []byte) {
	at := time.Now()
	pcm := make([]int16, opus.MaxPacketSamples)
	n, err := dec.Decode(pkt, pcm)
	if err != nil {
		return
	}
	c.mu.Lock()
	c.sent = append(c.sent, Frame{At: at, Samples: pcm[:n]})
	c.mu.Unlock()
}

// Sent returns the frames sent so far, as decoded, with their send times
// (empty unless Options.KeepSent).
func (c *Client) Sent() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.sent...)
}

// Frames returns the frames received so far.
func (c *Client) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// Received returns the samples that arrived in [from, to).
func (c *Client) Received(from, to time.Time) []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int16
	for _, f := range c.frames {
		if !f.At.Before(from) && f.At.Before(to) {
			out = append(out, f.Samples...)
		}
	}
	return out
}

// FrameCount returns how many frames arrived so far.
func (c *Client) FrameCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// Leave asks the MCU to remove this participant (HTTP DELETE) and returns
// the response status.
func (c *Client) Leave(ctx context.Context) (int, error) {
	if c.Location == "" {
		return 0, errors.New("not joined")
	}
	res, _, err := c.opts.do(ctx, http.MethodDelete, c.opts.BaseURL+c.Location, "", "", nil)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// Close stops sending, closes the connection and waits for the client's
// goroutines.
func (c *Client) Close() {
	c.lifeMu.Lock()
	if c.closed {
		c.lifeMu.Unlock()
		return
	}
	c.closed = true
	c.lifeMu.Unlock()
	close(c.stop)
	_ = c.pc.Close()
	c.wg.Wait()
}
