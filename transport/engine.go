// Package transport connects participants to rooms: pion PeerConnections,
// SDP negotiation, RTP to and from playout buffers, RTCP, and the HTTP join
// API. It never imports the room package: it satisfies room.Peer
// structurally and reaches rooms through the small Rooms interface.
package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mcu-project/mcu/transport/jitter"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// ICEServer is a STUN or TURN server handed to clients (JSON as in the
// browser's RTCIceServer).
type ICEServer struct {
	URLs       []string `json:"urls" yaml:"urls"`
	Username   string   `json:"username,omitempty" yaml:"username"`
	Credential string   `json:"credential,omitempty" yaml:"credential"`
}

// Config configures ICE and media transport.
type Config struct {
	// PublicIPs replace the host candidates' addresses (NAT 1:1, e.g. a
	// cloud VM's elastic IP).
	PublicIPs []string
	// UDPPortMin/Max bound the ephemeral ports of per-peer sockets.
	UDPPortMin, UDPPortMax uint16
	// UDPPort, when set, serves every peer from this one UDP port (ICE
	// demultiplexes by ufrag), easing firewall rules.
	UDPPort int
	// ICETCPAddr, when set, is where passive ICE-TCP candidates are
	// served (":7881"; an IP:port offers them on that address alone), for
	// clients that may not use UDP. Every peer shares the one listener.
	ICETCPAddr string
	// Interfaces, when set, limits candidate gathering to these network
	// interfaces (e.g. "lo" for loopback-only tests).
	Interfaces []string
	// IncludeLoopback gathers loopback candidates (tests, single-host use).
	IncludeLoopback bool
	// ICEServers are advertised to clients (web page, Link headers).
	ICEServers []ICEServer
	// GatherTimeout bounds ICE gathering before the answer is sent.
	GatherTimeout time.Duration
	// Jitter configures each participant's audio playout buffer.
	Jitter jitter.Config
	// ConnectTimeout drops a participant whose ICE has not connected this
	// long after its answer, or whose DTLS has not completed this long
	// after ICE (default 10 s each): a half-open join holds a place in
	// its room and nothing else.
	ConnectTimeout time.Duration
	// LegIdleTimeout removes a plain-RTP leg that sends nothing for this
	// long (default 30 s).
	LegIdleTimeout time.Duration
	// LegAllow are the networks plain-RTP legs may send to (-rtp-allow);
	// empty: any global unicast address. Loopback, link-local, multicast,
	// broadcast and unspecified addresses need a listed prefix inside
	// their range.
	LegAllow []netip.Prefix
	// LegLatchAny lets a leg latch to packets from any address LegAllow
	// allows (gateways behind NAT), not only from its remote's IP.
	LegLatchAny bool
	// MaxLegsPerRoom caps a room's live plain-RTP legs; 0: no cap.
	MaxLegsPerRoom int
	Logger         *slog.Logger
}

// Opus payload type and format parameters we answer with: browsers use 111,
// and in-band FEC lets a receiver recover single losses.
const (
	opusPayloadType = 111
	opusFmtp        = "minptime=10;useinbandfec=1"
)

// An ICE-TCP connection queues this many packets read and not yet taken,
// and this many bytes written and not yet sent (4 MiB, pion's advice).
const (
	iceTCPReadPackets = 64
	iceTCPWriteBytes  = 4 << 20
)

// Engine builds PeerConnections that share one configuration and, when
// UDPPort is set, one UDP socket.
type Engine struct {
	cfg    Config
	api    *webrtc.API
	mux    ice.UDPMux         // nil unless UDPPort is set
	tcpMux *ice.TCPMuxDefault // nil unless ICETCPAddr is set
	log    *slog.Logger

	// pion hands each new PeerConnection's bandwidth estimator and
	// departure log to callbacks during NewPeerConnection; pcMu serialises
	// creation so those in created and createdLog belong to the
	// connection just made.
	pcMu       sync.Mutex
	created    cc.BandwidthEstimator
	createdLog *sentLog

	// stats and sampled are shared by every peer and leg (see observer).
	stats   counters
	sampled *sampledLog

	// legPolicy and legs guard where plain-RTP legs send.
	legPolicy legPolicy
	legs      legBook
}

// NewEngine validates cfg and prepares pion.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = 5 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.LegIdleTimeout <= 0 {
		cfg.LegIdleTimeout = defaultLegIdleTimeout
	}
	if cfg.Jitter == (jitter.Config{}) {
		cfg.Jitter = jitter.DefaultConfig()
	}
	if _, err := jitter.New(cfg.Jitter); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("%w: public IP %q is not an IP address", ErrBadConfig, ip)
		}
	}
	if cfg.UDPPortMin > cfg.UDPPortMax {
		return nil, fmt.Errorf("%w: UDP port range %d-%d", ErrBadConfig, cfg.UDPPortMin, cfg.UDPPortMax)
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("%w: UDP port %d", ErrBadConfig, cfg.UDPPort)
	}
	allow := make([]netip.Prefix, len(cfg.LegAllow))
	for i, p := range cfg.LegAllow {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: RTP leg network %v", ErrBadConfig, p)
		}
		allow[i] = p.Masked()
	}
	if cfg.MaxLegsPerRoom < 0 {
		return nil, fmt.Errorf("%w: %d legs per room", ErrBadConfig, cfg.MaxLegsPerRoom)
	}
	log := cfg.Logger.With("component", "transport")

	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggers{log}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if len(cfg.Interfaces) > 0 {
		allowed := map[string]bool{}
		for _, name := range cfg.Interfaces {
			allowed[name] = true
		}
		se.SetInterfaceFilter(func(name string) bool { return allowed[name] })
	}
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("%w: public IPs: %w", ErrBadConfig, err)
		}
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("%w: port range: %w", ErrBadConfig, err)
		}
	}
	e := &Engine{cfg: cfg, log: log, sampled: newSampledLog(sampleEvery, time.Now), legPolicy: legPolicy{allow}}
	if cfg.UDPPort != 0 {
		mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, ice.UDPMuxFromPortWithLoopback())
		if err != nil {
			return nil, fmt.Errorf("listen on UDP port %d: %w", cfg.UDPPort, err)
		}
		se.SetICEUDPMux(mux)
		e.mux = mux
	}
	if cfg.ICETCPAddr != "" {
		ln, err := net.Listen("tcp", cfg.ICETCPAddr)
		if err != nil {
			_ = e.Close()
			return nil, fmt.Errorf("ICE-TCP: %w", err)
		}
		// A write buffer makes a slow TCP client lose packets, as it
		// would over UDP, instead of blocking the writer of its media.
		e.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: ln, Logger: pionLoggers{log}.NewLogger("ice-tcp"),
			ReadBufferSize: iceTCPReadPackets, WriteBufferSize: iceTCPWriteBytes})
		se.SetICETCPMux(e.tcpMux)
		// pion gathers UDP only unless told otherwise.
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}

	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		_ = e.Close()
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := e.configureInterceptors(me, ir); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.api = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	return e, nil
}

// registerCodecs declares what we can receive and send. Video codecs are
// declared so that video m-lines are negotiated (and answered inactive)
// rather than rejected.
func registerCodecs(me *webrtc.MediaEngine) error {
	fb := []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp, RTCPFeedback: fb},
		PayloadType:        opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	// RED after Opus: pion answers in the offer's order, so the offerer
	// keeps sending plain Opus, and one that does not offer RED gets none.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: redCapability,
		PayloadType:        redPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	for _, c := range videoCodecs {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	return nil
}

var videoFB = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: webrtc.TypeRTCPFBTransportCC}}

// videoCodecs are the video formats we take and send. H.264 is constrained
// baseline (what our encoder makes) in packetization mode 1; browsers
// offer it as profile-level-id 42e01f and 42001f, and a baseline stream
// decodes in any profile's decoder.
var videoCodecs = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB}, PayloadType: 96},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFB,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFB,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"}, PayloadType: 106},
}

// codecParams returns our registered parameters for mimeType.
func codecParams(mimeType string) []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for _, c := range videoCodecs {
		if strings.EqualFold(c.MimeType, mimeType) {
			out = append(out, c)
		}
	}
	return out
}

// configureInterceptors adds NACK generation and response, receiver
// reports, transport-wide congestion control feedback for what we receive,
// and for what we send: transport-wide sequence numbers and a send-side
// bandwidth estimator per connection. Sender reports are ours (see peer.go):
// pion's would map NTP to RTP from the moment a packet is written, while ours
// use the room clock that stamped it, so every stream of a room shares one
// mapping.
//
// The order matters. An interceptor registered earlier sits nearer the
// network: it writes after, and reads before, the ones registered later.
// The departure log, the estimator and the transport-wide sequence numbers
// come first, so the NACK responder keeps packets before they are numbered
// and each retransmission is numbered afresh and counted by the estimator,
// as libwebrtc does. In pion's default order a retransmission left with its
// original number, which reads as a packet from seconds ago: pion
// receivers then restarted their feedback there and reported hundreds of
// packets they had received as lost (up to 1,700 a second toward a paused
// receiver), which the estimator took for loss. (Resends go on the media
// stream itself: we do not negotiate RTX, whose separate SSRC pion's
// estimator, bound per stream, would refuse to write.)
func (e *Engine) configureInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	ir.Add(sentLogFactory{created: func(l *sentLog) { e.createdLog = l }}) // nearest the network: when packets leave
	bwe, err := cc.NewInterceptor(newEstimator)
	if err != nil {
		return err
	}
	bwe.OnNewPeerConnection(func(_ string, est cc.BandwidthEstimator) { e.created = est })
	ir.Add(bwe)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
		return err
	}
	ir.Add(nackLimiterFactory{}) // before the NACK responder: it sees only what this lets through
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return err
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	ir.Add(rr)
	return webrtc.ConfigureTWCCSender(me, ir)
}

// newPeerConnection creates a connection and returns it with its
// bandwidth estimator and departure log.
func (e *Engine) newPeerConnection() (*webrtc.PeerConnection, cc.BandwidthEstimator, *sentLog, error) {
	e.pcMu.Lock()
	defer e.pcMu.Unlock()
	e.created, e.createdLog = nil, nil
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	return pc, e.created, e.createdLog, err
}

// ICEServers returns the servers advertised to clients.
func (e *Engine) ICEServers() []ICEServer { return e.cfg.ICEServers }

// ICETCPAddr is where ICE-TCP is served (nil when it is not).
func (e *Engine) ICETCPAddr() net.Addr {
	if e.tcpMux == nil {
		return nil
	}
	return e.tcpMux.LocalAddr()
}

// Close releases the shared UDP socket and ICE-TCP listener, if any.
// Close peers first.
func (e *Engine) Close() error {
	var errs []error
	if e.mux != nil {
		errs = append(errs, e.mux.Close())
	}
	if e.tcpMux != nil {
		errs = append(errs, e.tcpMux.Close())
	}
	return errors.Join(errs...)
}
