package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/cluster"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"gopkg.in/yaml.v3"
)

// Config is the whole server configuration. Sources, later ones winning:
// built-in defaults, the YAML file (-config or MCU_CONFIG), MCU_* environment
// variables, command-line flags.
type Config struct {
	HTTP            string                `yaml:"http"`
	GRPC            string                `yaml:"grpc"`
	GRPCToken       string                `yaml:"grpc_token"`
	GRPCCert        string                `yaml:"grpc_cert"`
	GRPCKey         string                `yaml:"grpc_key"`
	GRPCClientCA    string                `yaml:"grpc_client_ca"`
	LogLevel        string                `yaml:"log_level"`
	LogFormat       string                `yaml:"log_format"`
	PublicIPs       []string              `yaml:"public_ips"`
	UDPPort         int                   `yaml:"udp_port"`
	UDPPortRange    string                `yaml:"udp_port_range"`
	Interfaces      []string              `yaml:"interfaces"`
	IncludeLoopback bool                  `yaml:"include_loopback"`
	ICEServers      []transport.ICEServer `yaml:"ice_servers"`
	MaxParticipants int                   `yaml:"max_participants"`
	AudioComplexity int                   `yaml:"audio_complexity"`
	Canvas          string                `yaml:"canvas"`
	Ladder          string                `yaml:"ladder"`
	ExcludeSelf     bool                  `yaml:"exclude_self"`
	VideoCodecs     []string              `yaml:"video_codecs"`
	PProf           bool                  `yaml:"pprof"`
	// The front door (issue 17): join tokens, ephemeral TURN credentials,
	// the admin listener, limits and the drain.
	AuthSecret            string        `yaml:"auth_secret"`
	TURNSecret            string        `yaml:"turn_secret"`
	AdminHTTP             string        `yaml:"admin_http"`
	MaxRooms              int           `yaml:"max_rooms"`
	MaxServerParticipants int           `yaml:"max_server_participants"`
	JoinRate              float64       `yaml:"join_rate"`
	JoinBurst             int           `yaml:"join_burst"`
	DrainTimeout          time.Duration `yaml:"drain_timeout"`

	RTPAllow       []string `yaml:"rtp_allow"`
	RTPLatchAny    bool     `yaml:"rtp_latch_any"`
	MaxLegsPerRoom int      `yaml:"max_legs_per_room"`

	// The cluster (issue 19): NATS, this node's name and address, and
	// what its stress is measured against.
	NATS         []string      `yaml:"nats"`
	NodeID       string        `yaml:"node_id"`
	PublicURL    string        `yaml:"public_url"`
	NATSReplicas int           `yaml:"nats_replicas"`
	CPUTarget    float64       `yaml:"cpu_target"`
	TickTarget   time.Duration `yaml:"tick_target"`

	legIdleTimeout time.Duration   // tests only: shorter than the 30 s default
	connectTimeout time.Duration   // tests only: shorter than the 10 s default
	stopNow        <-chan struct{} // a second signal: end the drain at once

	// Reaching every client (issue 18): the embedded TURN server, an
	// external one, ICE-TCP.
	TURN              bool     `yaml:"turn"`
	TURNPort          int      `yaml:"turn_port"`
	TURNListen        string   `yaml:"turn_listen"`
	TURNPublicIP      string   `yaml:"turn_public_ip"`
	TURNRelayPorts    string   `yaml:"turn_relay_ports"`
	TURNAllowLoopback bool     `yaml:"turn_allow_loopback"`
	TURNServers       []string `yaml:"turn_servers"`
	ICETCPPort        string   `yaml:"ice_tcp_port"`

	// Recording (issue 22): where files go.
	RecordDir string `yaml:"record_dir"`
}

// grpcAuto is the default gRPC address: loopback only unless gRPC calls
// need a token (-grpc-token), then every interface.
const grpcAuto = "auto"

func defaultConfig() Config {
	return Config{HTTP: ":8080", GRPC: grpcAuto, AdminHTTP: "127.0.0.1:9091", LogLevel: "info", LogFormat: "text", Canvas: "1280x720@30",
		MaxRooms: 256, MaxServerParticipants: 1024, JoinRate: transport.DefaultJoinRate, JoinBurst: transport.DefaultJoinBurst,
		DrainTimeout: 30 * time.Second, MaxLegsPerRoom: transport.DefaultMaxLegsPerRoom,
		TURNPort: transport.DefaultTURNPort, TURNListen: "0.0.0.0",
		TURNRelayPorts: fmt.Sprintf("%d-%d", transport.DefaultTURNRelayPortMin, transport.DefaultTURNRelayPortMax),
		NATSReplicas:   1, CPUTarget: cluster.DefaultCPUTarget, TickTarget: cluster.DefaultTickTarget, RecordDir: "recordings"}
}

// grpcAddr is where gRPC listens ("" for nowhere).
func (c Config) grpcAddr() string {
	if c.GRPC != grpcAuto {
		return c.GRPC
	}
	if c.GRPCToken == "" {
		return "127.0.0.1:9090"
	}
	return ":9090"
}

// setting is one option reachable from a flag and an environment variable;
// both go through set, so they parse identically.
type setting struct {
	flag, env, usage string
	set              func(c *Config, v string) error
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parseBool(dst *bool) func(*Config, string) error {
	return func(_ *Config, v string) (err error) { *dst, err = strconv.ParseBool(v); return err }
}

var settings = []setting{
	{"http", "MCU_HTTP", "HTTP listen address", func(c *Config, v string) error { c.HTTP = v; return nil }},
	{"grpc", "MCU_GRPC", "gRPC listen address (empty: no gRPC; auto: 127.0.0.1:9090, or :9090 with -grpc-token)", func(c *Config, v string) error { c.GRPC = v; return nil }},
	{"grpc-token", "MCU_GRPC_TOKEN", "bearer token every gRPC call must carry (empty: none)", func(c *Config, v string) error { c.GRPCToken = v; return nil }},
	{"grpc-cert", "MCU_GRPC_CERT", "TLS certificate (PEM) for gRPC", func(c *Config, v string) error { c.GRPCCert = v; return nil }},
	{"grpc-key", "MCU_GRPC_KEY", "TLS private key (PEM) for gRPC", func(c *Config, v string) error { c.GRPCKey = v; return nil }},
	{"grpc-client-ca", "MCU_GRPC_CLIENT_CA", "CA (PEM) that gRPC client certificates must chain to (mTLS)", func(c *Config, v string) error { c.GRPCClientCA = v; return nil }},
	{"log-level", "MCU_LOG_LEVEL", "debug, info, warn or error", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"log-format", "MCU_LOG_FORMAT", "text or json", func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{"public-ip", "MCU_PUBLIC_IPS", "comma-separated public IPs for NAT 1:1 (replace host candidates)", func(c *Config, v string) error { c.PublicIPs = list(v); return nil }},
	{"udp-port", "MCU_UDP_PORT", "serve all peers on this single UDP port (0: a port per peer)", func(c *Config, v string) (err error) { c.UDPPort, err = strconv.Atoi(v); return err }},
	{"udp-port-range", "MCU_UDP_PORT_RANGE", "MIN-MAX range for per-peer UDP ports", func(c *Config, v string) error { c.UDPPortRange = v; return nil }},
	{"interfaces", "MCU_INTERFACES", "comma-separated network interfaces to gather candidates on (default all)", func(c *Config, v string) error { c.Interfaces = list(v); return nil }},
	{"include-loopback", "MCU_INCLUDE_LOOPBACK", "offer loopback candidates (single-host testing)", func(c *Config, v string) error { return parseBool(&c.IncludeLoopback)(c, v) }},
	{"ice-server", "MCU_ICE_SERVERS", "comma-separated STUN/TURN URLs handed to clients (credentials: use the YAML file)", func(c *Config, v string) error {
		c.ICEServers = nil
		for _, u := range list(v) {
			c.ICEServers = append(c.ICEServers, transport.ICEServer{URLs: []string{u}})
		}
		return nil
	}},
	{"pprof", "MCU_PPROF", "serve Go profiles under /debug/pprof/ on the admin listener", func(c *Config, v string) error { return parseBool(&c.PProf)(c, v) }},
	{"auth-secret", "MCU_AUTH_SECRET", "secret (at least 32 bytes) that signs join tokens; empty: no tokens needed (development only)", func(c *Config, v string) error { c.AuthSecret = v; return nil }},
	{"turn-secret", "MCU_TURN_SECRET", "TURN REST secret (coturn use-auth-secret): clients get ephemeral credentials for the turn: servers", func(c *Config, v string) error { c.TURNSecret = v; return nil }},
	{"admin-http", "MCU_ADMIN_HTTP", "admin listen address: /metrics and -pprof (keep it private; empty: off)", func(c *Config, v string) error { c.AdminHTTP = v; return nil }},
	{"max-rooms", "MCU_MAX_ROOMS", "rooms on this server (0: unlimited)", func(c *Config, v string) (err error) { c.MaxRooms, err = strconv.Atoi(v); return err }},
	{"max-server-participants", "MCU_MAX_SERVER_PARTICIPANTS", "participants in all rooms together (0: unlimited)", func(c *Config, v string) (err error) {
		c.MaxServerParticipants, err = strconv.Atoi(v)
		return err
	}},
	{"join-rate", "MCU_JOIN_RATE", "join and leg requests a second per client IP, in bursts of -join-burst (0: no limit)", func(c *Config, v string) (err error) { c.JoinRate, err = strconv.ParseFloat(v, 64); return err }},
	{"join-burst", "MCU_JOIN_BURST", "burst of join and leg requests per client IP", func(c *Config, v string) (err error) { c.JoinBurst, err = strconv.Atoi(v); return err }},
	{"drain-timeout", "MCU_DRAIN_TIMEOUT", "on SIGTERM, how long rooms go on (no new joins) before everything closes; a second signal ends at once", func(c *Config, v string) (err error) {
		c.DrainTimeout, err = time.ParseDuration(v)
		return err
	}},
	{"canvas", "MCU_CANVAS", "default rooms' canvas as WIDTHxHEIGHT@FPS", func(c *Config, v string) error { c.Canvas = v; return nil }},
	{"ladder", "MCU_LADDER", "default rooms' bitrate ladder, top first, " + ladder.Syntax + ", e.g. 1280x720@30:1500k,640x360@30:600k,320x180@15:150k (one rung or \"off\": no adaptation; empty: the canvas's default)", func(c *Config, v string) error { c.Ladder = v; return nil }},
	{"video-codecs", "MCU_VIDEO_CODECS", "video codec preference of new rooms, e.g. VP8,H264", func(c *Config, v string) error { c.VideoCodecs = list(v); return nil }},
	{"exclude-self", "MCU_EXCLUDE_SELF", "leave each participant's own tile out of its canvas", func(c *Config, v string) error { return parseBool(&c.ExcludeSelf)(c, v) }},
	{"max-participants", "MCU_MAX_PARTICIPANTS", "participants per room (0: unlimited)", func(c *Config, v string) (err error) { c.MaxParticipants, err = strconv.Atoi(v); return err }},
	{"audio-complexity", "MCU_AUDIO_COMPLEXITY", "default rooms' Opus encoder complexity, 1..10: lower costs less CPU, at some quality (0: libopus's default, 9)", func(c *Config, v string) (err error) { c.AudioComplexity, err = strconv.Atoi(v); return err }},
	{"rtp-allow", "MCU_RTP_ALLOW", "comma-separated CIDRs plain-RTP legs may send to (default: any global unicast address, private ones included; loopback, link-local, multicast and broadcast only through a CIDR inside them, e.g. 127.0.0.0/8)", func(c *Config, v string) error { c.RTPAllow = list(v); return nil }},
	{"rtp-latch-any", "MCU_RTP_LATCH_ANY", "let plain-RTP legs latch to packets from any allowed address, not only their remote's IP (gateways behind NAT)", func(c *Config, v string) error { return parseBool(&c.RTPLatchAny)(c, v) }},
	{"max-legs-per-room", "MCU_MAX_LEGS_PER_ROOM", "plain-RTP legs per room (0: unlimited)", func(c *Config, v string) (err error) { c.MaxLegsPerRoom, err = strconv.Atoi(v); return err }},
	{"turn", "MCU_TURN", "true: run the embedded TURN server (UDP and TCP on -turn-port); it relays to this MCU only, and clients get credentials with -turn-secret's scheme (a random secret when unset)", func(c *Config, v string) error { return parseBool(&c.TURN)(c, v) }},
	{"turn-port", "MCU_TURN_PORT", "the embedded TURN server's UDP and TCP port (default 3478)", func(c *Config, v string) (err error) { c.TURNPort, err = strconv.Atoi(v); return err }},
	{"turn-listen", "MCU_TURN_LISTEN", "IP the embedded TURN server listens and relays on (default 0.0.0.0: every IPv4 address)", func(c *Config, v string) error { c.TURNListen = v; return nil }},
	{"turn-public-ip", "MCU_TURN_PUBLIC_IP", "IP clients reach the embedded TURN server and its relay ports at (default: the first -public-ip)", func(c *Config, v string) error { c.TURNPublicIP = v; return nil }},
	{"turn-relay-ports", "MCU_TURN_RELAY_PORTS", "MIN-MAX UDP ports of the embedded TURN server's relays, one per allocation: a browser takes one per TURN URL (default 49160-49399)", func(c *Config, v string) error { c.TURNRelayPorts = v; return nil }},
	{"turn-allow-loopback", "MCU_TURN_ALLOW_LOOPBACK", "let the embedded TURN server relay to loopback addresses (everything on one host; coturn's allow-loopback-peers)", func(c *Config, v string) error { return parseBool(&c.TURNAllowLoopback)(c, v) }},
	{"turn-server", "MCU_TURN_SERVER", "comma-separated turn: URLs of an external TURN server with use-auth-secret (coturn), handed to clients with ephemeral credentials from -turn-secret", func(c *Config, v string) error { c.TURNServers = list(v); return nil }},
	{"ice-tcp-port", "MCU_ICE_TCP_PORT", "serve passive ICE-TCP candidates on this TCP port (or IP:PORT: on that address alone), for clients whose UDP is blocked (empty: no ICE-TCP)", func(c *Config, v string) error { c.ICETCPPort = v; return nil }},
	{"nats", "MCU_NATS", "comma-separated NATS URLs of the cluster, e.g. nats://n1:4222,nats://n2:4222 (empty: a single node over an in-process NATS)", func(c *Config, v string) error { c.NATS = list(v); return nil }},
	{"node-id", "MCU_NODE_ID", "this node's name in the cluster: letters, digits, '_' or '-' (default: the host name)", func(c *Config, v string) error { c.NodeID = v; return nil }},
	{"public-url", "MCU_PUBLIC_URL", "where the other nodes reach this node's HTTP, e.g. http://mcu-0.mcu:8080 (default: from -http, for loopback or a single node)", func(c *Config, v string) error { c.PublicURL = v; return nil }},
	{"nats-replicas", "MCU_NATS_REPLICAS", "replicas of the cluster's key-value buckets in a clustered NATS, 1..5", func(c *Config, v string) (err error) { c.NATSReplicas, err = strconv.Atoi(v); return err }},
	{"cpu-target", "MCU_CPU_TARGET", "share of its CPUs this node may use at full stress, 0..1 (0: not counted); stress is the worst of CPU, tick lateness and participants (-max-server-participants) against their targets: above 0.85 no new rooms, above 0.95 no new participants; with this, -tick-target and -max-server-participants all 0, admission by stress is off", func(c *Config, v string) (err error) {
		c.CPUTarget, err = strconv.ParseFloat(v, 64)
		return err
	}},
	{"record-dir", "MCU_RECORD_DIR", "folder recordings (StartEgress, mcuctl record) are written to; every recording's path stays inside it", func(c *Config, v string) error { c.RecordDir = v; return nil }},
	{"tick-target", "MCU_TICK_TARGET", "mix tick lateness p99 this node may reach at full stress (0: not counted)", func(c *Config, v string) (err error) { c.TickTarget, err = time.ParseDuration(v); return err }},
}

// loadConfig builds the configuration from args and the environment.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("mcu", flag.ContinueOnError)
	configPath := fs.String("config", getenv("MCU_CONFIG"), "YAML configuration file (env MCU_CONFIG)")
	values := make([]*string, len(settings))
	for i, s := range settings {
		values[i] = fs.String(s.flag, "", s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg := defaultConfig()
	if *configPath != "" {
		raw, err := os.ReadFile(*configPath)
		if err != nil {
			return Config{}, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		// io.EOF: an empty file sets nothing.
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("%s: %w", *configPath, err)
		}
	}
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		for i, s := range settings {
			if s.flag == f.Name && err == nil {
				if e := s.set(&cfg, *values[i]); e != nil {
					err = fmt.Errorf("-%s=%q: %w", s.flag, *values[i], e)
				}
			}
		}
	})
	if err == nil {
		err = cfg.validate()
	}
	return cfg, err
}

// validate checks what the settings' parsers cannot see alone.
func (c Config) validate() error {
	switch {
	case c.AuthSecret != "" && len(c.AuthSecret) < auth.MinSecretBytes:
		return fmt.Errorf("auth secret: %d bytes, want at least %d (e.g. openssl rand -hex 32)", len(c.AuthSecret), auth.MinSecretBytes)
	case c.MaxRooms < 0 || c.MaxServerParticipants < 0 || c.MaxParticipants < 0:
		return errors.New("a negative limit")
	case c.JoinRate < 0 || (c.JoinRate > 0 && c.JoinBurst < 1):
		return fmt.Errorf("join rate %g with burst %d: want a rate of 0 (off) or more with a burst of 1 or more", c.JoinRate, c.JoinBurst)
	case c.DrainTimeout < 0:
		return errors.New("negative drain timeout")
	case c.CPUTarget < 0 || c.CPUTarget > 1 || c.TickTarget < 0:
		return fmt.Errorf("cpu target %g, tick target %v: want 0..1 and a duration of 0 or more", c.CPUTarget, c.TickTarget)
	case c.NATSReplicas < 1 || c.NATSReplicas > 5:
		return fmt.Errorf("nats replicas %d: want 1..5", c.NATSReplicas)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("public url %q: want http://host:port", c.PublicURL)
		}
	}
	return c.validateReach()
}

// validateReach checks the TURN and ICE-TCP settings together.
func (c Config) validateReach() error {
	for _, u := range c.TURNServers {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("turn server %q: want a turn: or turns: URL", u)
		}
	}
	switch {
	case len(c.TURNServers) > 0 && c.TURNSecret == "":
		return errors.New("-turn-server needs -turn-secret, the use-auth-secret the TURN server checks clients' credentials with")
	case !c.TURN:
		return nil
	case c.TURNPublicIP == "" && len(c.PublicIPs) == 0:
		return errors.New("-turn needs -turn-public-ip (or -public-ip): the address clients reach the relay at")
	case c.TURNPort != 0 && c.TURNPort == c.UDPPort:
		return fmt.Errorf("-turn-port and -udp-port are both UDP %d: move one (e.g. -udp-port 7882)", c.UDPPort)
	}
	return nil
}

// frontDoor is what the HTTP API checks.
func (c Config) frontDoor() (transport.FrontDoor, error) {
	fd := transport.FrontDoor{JoinRate: c.JoinRate, JoinBurst: c.JoinBurst}
	if c.TURNSecret != "" {
		fd.TURNSecret = []byte(c.TURNSecret)
	}
	if c.AuthSecret == "" {
		return fd, nil
	}
	var err error
	fd.Auth, err = auth.New([]byte(c.AuthSecret), nil)
	return fd, err
}

// transportConfig turns the ICE settings into transport.Config.
func (c Config) transportConfig(log *slog.Logger) (transport.Config, error) {
	tc := transport.Config{
		PublicIPs: c.PublicIPs, UDPPort: c.UDPPort, Interfaces: c.Interfaces,
		IncludeLoopback: c.IncludeLoopback, ICEServers: c.ICEServers, Logger: log,
		LegIdleTimeout: c.legIdleTimeout, ConnectTimeout: c.connectTimeout,
	}
	if c.UDPPortRange != "" {
		var err error
		if tc.UDPPortMin, tc.UDPPortMax, err = portRange("udp port range", c.UDPPortRange); err != nil {
			return tc, err
		}
	}
	if len(c.TURNServers) > 0 {
		tc.ICEServers = append(slices.Clip(tc.ICEServers), transport.ICEServer{URLs: c.TURNServers})
	}
	if c.ICETCPPort != "" {
		tc.ICETCPAddr = c.ICETCPPort
		if _, err := strconv.ParseUint(c.ICETCPPort, 10, 16); err == nil {
			tc.ICETCPAddr = ":" + c.ICETCPPort
		} else if _, _, err := net.SplitHostPort(c.ICETCPPort); err != nil {
			return tc, fmt.Errorf("ice-tcp-port %q: want PORT or IP:PORT", c.ICETCPPort)
		}
	}
	for _, v := range c.RTPAllow {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return tc, fmt.Errorf("rtp-allow %q: want CIDRs such as 192.0.2.0/24", v)
		}
		tc.LegAllow = append(tc.LegAllow, p)
	}
	tc.LegLatchAny, tc.MaxLegsPerRoom = c.RTPLatchAny, c.MaxLegsPerRoom
	return tc, nil
}

// portRange parses "MIN-MAX".
func portRange(what, v string) (uint16, uint16, error) {
	lo, hi, ok := strings.Cut(v, "-")
	first, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	last, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if !ok || err1 != nil || err2 != nil || first == 0 || first > last {
		return 0, 0, fmt.Errorf("%s %q: want MIN-MAX", what, v)
	}
	return uint16(first), uint16(last), nil
}

// turnConfig is the embedded TURN server's configuration.
func (c Config) turnConfig(log *slog.Logger) (transport.TURNConfig, error) {
	tc := transport.TURNConfig{Port: c.TURNPort, Secret: []byte(c.TURNSecret), AllowLoopback: c.TURNAllowLoopback, Logger: log}
	var err error
	if tc.ListenIP, err = netip.ParseAddr(c.TURNListen); err != nil {
		return tc, fmt.Errorf("turn listen %q: want an IP address", c.TURNListen)
	}
	public := c.TURNPublicIP
	if public == "" && len(c.PublicIPs) > 0 {
		public = c.PublicIPs[0]
	}
	if tc.PublicIP, err = netip.ParseAddr(public); err != nil {
		return tc, fmt.Errorf("turn public IP %q: want an IP address", public)
	}
	tc.RelayPortMin, tc.RelayPortMax, err = portRange("turn relay ports", c.TURNRelayPorts)
	return tc, err
}

// roomDefaults turns the room settings into the options of rooms created
// by a first join.
func (c Config) roomDefaults() (room.Options, error) {
	o := room.DefaultOptions()
	o.MaxParticipants, o.ExcludeSelf, o.AudioComplexity = c.MaxParticipants, c.ExcludeSelf, c.AudioComplexity
	if len(c.VideoCodecs) > 0 {
		o.VideoCodecs = nil
		for _, v := range c.VideoCodecs {
			switch strings.ToUpper(v) {
			case "VP8", "H264":
				o.VideoCodecs = append(o.VideoCodecs, "video/"+strings.ToUpper(v))
			default:
				return o, fmt.Errorf("video codec %q: want VP8 or H264", v)
			}
		}
	}
	if _, err := fmt.Sscanf(c.Canvas, "%dx%d@%d", &o.Width, &o.Height, &o.FPS); err != nil {
		return o, fmt.Errorf("canvas %q: want WIDTHxHEIGHT@FPS", c.Canvas)
	}
	if err := o.Validate(); err != nil || c.Ladder == "" {
		return o, err
	}
	if c.Ladder == "off" {
		o.Ladder = ladder.Default(o.Width, o.Height, o.FPS, o.VideoBitrate)[:1]
		return o, nil
	}
	var err error
	if o.Ladder, err = ladder.Parse(c.Ladder); err != nil {
		return o, err
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("ladder %q: %w", c.Ladder, err)
	}
	return o, nil
}

func (c Config) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", c.LogFormat)
}
