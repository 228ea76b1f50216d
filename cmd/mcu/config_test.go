package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/transport"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "mcu.yaml")
	if err := os.WriteFile(yamlPath, []byte(`
http: ":7000"
public_ips: ["203.0.113.1"]
udp_port: 3478
max_participants: 8
ladder: "off"
ice_servers:
  - urls: ["turn:turn.example.org:3478"]
    username: u
    credential: p
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MCU_CONFIG": yamlPath, "MCU_UDP_PORT": "4000", "MCU_MAX_PARTICIPANTS": "9", "MCU_LADDER": "1280x720@30:1M,640x360@15:300k"}
	cfg, err := loadConfig([]string{"-max-participants", "10", "-public-ip", "198.51.100.1, 198.51.100.2"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.HTTP = ":7000"                                       // YAML over default
	want.UDPPort = 4000                                       // env over YAML
	want.MaxParticipants = 10                                 // flag over env
	want.Ladder = "1280x720@30:1M,640x360@15:300k"            // env over YAML
	want.PublicIPs = []string{"198.51.100.1", "198.51.100.2"} // flag over YAML
	want.ICEServers = []transport.ICEServer{{URLs: []string{"turn:turn.example.org:3478"}, Username: "u", Credential: "p"}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	_ = os.WriteFile(unknown, []byte("htp: ':1'\n"), 0o600)
	empty := filepath.Join(dir, "empty.yaml")
	_ = os.WriteFile(empty, nil, 0o600)
	noenv := func(string) string { return "" }
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"unknown YAML key", []string{"-config", unknown}, false},
		{"missing file", []string{"-config", filepath.Join(dir, "nope.yaml")}, false},
		{"empty file is fine", []string{"-config", empty}, true},
		{"bad number", []string{"-udp-port", "x"}, false},
		{"unknown flag", []string{"-nope"}, false},
		{"stray argument", []string{"extra"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadConfig(tc.args, noenv); (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	for _, c := range []Config{
		{LogLevel: "loud"},
		{LogLevel: "info", LogFormat: "xml"},
	} {
		if _, err := c.logger(); err == nil {
			t.Errorf("logger accepted %+v", c)
		}
	}
	for _, r := range []string{"1-", "10-5", "a-b", "0-10"} {
		if _, err := (Config{UDPPortRange: r}).transportConfig(nil); err == nil {
			t.Errorf("port range %q accepted", r)
		}
	}
	tc, err := (Config{UDPPortRange: "10000-10100"}).transportConfig(nil)
	if err != nil || tc.UDPPortMin != 10000 || tc.UDPPortMax != 10100 {
		t.Fatalf("port range: %+v %v", tc, err)
	}
	for _, a := range []string{"10.0.0.1", "10.0.0.0/33", "example.org/8"} {
		if _, err := (Config{RTPAllow: []string{a}}).transportConfig(nil); err == nil || !strings.Contains(err.Error(), "want CIDRs") {
			t.Errorf("rtp-allow %q: %v", a, err)
		}
	}
}

// TestConfigLegs: the plain-RTP leg settings reach the transport, and the
// legs per room are capped unless configured otherwise.
func TestConfigLegs(t *testing.T) {
	env := map[string]string{"MCU_RTP_ALLOW": "10.0.0.0/8, 127.0.0.1/32", "MCU_RTP_LATCH_ANY": "true"}
	for _, tc := range []struct {
		args     []string
		allow    []string
		latchAny bool
		maxLegs  int
		env      bool
	}{
		{nil, nil, false, transport.DefaultMaxLegsPerRoom, false},
		{[]string{"-max-legs-per-room", "0"}, nil, false, 0, false},
		{[]string{"-rtp-allow", "192.168.0.0/16", "-max-legs-per-room", "4"}, []string{"192.168.0.0/16"}, true, 4, true},
		{nil, []string{"10.0.0.0/8", "127.0.0.1/32"}, true, transport.DefaultMaxLegsPerRoom, true},
	} {
		getenv := func(string) string { return "" }
		if tc.env {
			getenv = func(k string) string { return env[k] }
		}
		cfg, err := loadConfig(tc.args, getenv)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := cfg.transportConfig(nil)
		if err != nil {
			t.Fatal(err)
		}
		var allow []string
		for _, p := range tr.LegAllow {
			allow = append(allow, p.String())
		}
		if !slices.Equal(allow, tc.allow) || tr.LegLatchAny != tc.latchAny || tr.MaxLegsPerRoom != tc.maxLegs {
			t.Errorf("%q: allow %v, latch any %v, %d legs per room; want %v, %v, %d", tc.args, allow, tr.LegLatchAny, tr.MaxLegsPerRoom, tc.allow, tc.latchAny, tc.maxLegs)
		}
	}
}

func TestConfigLadder(t *testing.T) {
	for _, tc := range []struct {
		name, canvas, ladder string
		want                 []ladder.Rung
	}{
		{"default", "1280x720@30", "", nil},
		{"custom", "1280x720@30", "1280x720@30:2M,640x360@30:500k", []ladder.Rung{roomRung(1280, 720, 30, 2_000_000), roomRung(640, 360, 30, 500_000)}},
		{"one rung", "1280x720@30", "960x540@15:800k", []ladder.Rung{roomRung(960, 540, 15, 800_000)}},
		{"off", "640x360@15", "off", ladder.Default(640, 360, 15, 0)[:1]},
	} {
		cfg := defaultConfig()
		cfg.Canvas, cfg.Ladder = tc.canvas, tc.ladder
		o, err := cfg.roomDefaults()
		if err != nil || !slices.Equal(o.Ladder, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, o.Ladder, err, tc.want)
		}
	}
	noenv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-ladder", "1280x720:1M"}, `ladder "1280x720:1M": rung "1280x720:1M": no @FPS`},
		{[]string{"-ladder", "1280x720@30:0"}, `bitrate "0"`},
		{[]string{"-ladder", "1920x1080@30:4M"}, `ladder "1920x1080@30:4M": room: bad options: ladder: rung 0 is 1920x1080`},
		{[]string{"-ladder", "1280x720@30:1M,640x360@30:2M"}, `ladder "1280x720@30:1M,640x360@30:2M": room: bad options: ladder: rung 1 at 2000000 b/s`},
		{[]string{"-canvas", "640x360@30", "-ladder", "640x360@7:500k"}, "rung 0 at 7 fps"},
		{[]string{"-ladder", "16x16@1:4k,16x16@1:3k,16x16@1:2k,16x16@1:1k"}, "4 rungs (at most 3)"},
		{[]string{"-audio-complexity", "11"}, "audio complexity 11 (1 to 10, or 0 for the default)"},
	} {
		cfg, err := loadConfig(tc.args, noenv)
		if err == nil {
			_, err = cfg.roomDefaults()
		}
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.msg)
		}
	}
}

func roomRung(w, h, fps, bps int) ladder.Rung {
	return ladder.Rung{Width: w, Height: h, FPS: fps, BitrateBps: bps}
}

// TestConfigReach: the TURN and ICE-TCP settings reach the transport and
// the TURN server, and the combinations that cannot work are refused with
// the reason.
func TestConfigReach(t *testing.T) {
	noenv := func(string) string { return "" }
	cfg, err := loadConfig([]string{"-turn", "true", "-public-ip", "203.0.113.7", "-turn-relay-ports", "50000-50099",
		"-ice-tcp-port", "7881", "-turn-server", "turn:turn.example.org:3478?transport=udp", "-turn-secret", "s"}, noenv)
	if err != nil {
		t.Fatal(err)
	}
	turn, err := cfg.turnConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if turn.ListenIP.String() != "0.0.0.0" || turn.Port != 3478 || turn.PublicIP.String() != "203.0.113.7" ||
		turn.RelayPortMin != 50000 || turn.RelayPortMax != 50099 || string(turn.Secret) != "s" || turn.AllowLoopback {
		t.Errorf("TURN config %+v", turn)
	}
	tr, err := cfg.transportConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.ICETCPAddr != ":7881" || len(tr.ICEServers) != 1 || tr.ICEServers[0].URLs[0] != "turn:turn.example.org:3478?transport=udp" {
		t.Errorf("transport config: ICE-TCP %q, ICE servers %+v", tr.ICETCPAddr, tr.ICEServers)
	}
	env := map[string]string{"MCU_TURN": "1", "MCU_TURN_PUBLIC_IP": "198.51.100.1", "MCU_TURN_LISTEN": "198.51.100.1",
		"MCU_TURN_ALLOW_LOOPBACK": "true", "MCU_ICE_TCP_PORT": "127.0.0.1:7881", "MCU_TURN_PORT": "5349"}
	if cfg, err = loadConfig(nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if turn, err = cfg.turnConfig(nil); err != nil || turn.PublicIP.String() != "198.51.100.1" || turn.ListenIP.String() != "198.51.100.1" || turn.Port != 5349 || !turn.AllowLoopback {
		t.Errorf("TURN config from the environment %+v %v", turn, err)
	}
	if tr, err = cfg.transportConfig(nil); err != nil || tr.ICETCPAddr != "127.0.0.1:7881" {
		t.Errorf("ICE-TCP from the environment %q %v", tr.ICETCPAddr, err)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-turn", "true"}, "-turn needs -turn-public-ip"},
		{[]string{"-turn", "true", "-turn-public-ip", "192.0.2.1", "-udp-port", "3478"}, "-turn-port and -udp-port are both UDP 3478"},
		{[]string{"-turn-server", "turn:turn.example.org:3478"}, "-turn-server needs -turn-secret"},
		{[]string{"-turn-server", "stun:stun.example.org", "-turn-secret", "s"}, `turn server "stun:stun.example.org": want a turn: or turns: URL`},
		{[]string{"-turn", "maybe"}, "invalid syntax"},
	} {
		if _, err := loadConfig(tc.args, noenv); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.msg)
		}
	}
	for _, mutate := range []func(*Config){
		func(c *Config) { c.TURNListen = "everywhere" },
		func(c *Config) { c.TURNPublicIP = "turn.example.org" },
		func(c *Config) { c.TURNRelayPorts = "50000" },
	} {
		c := defaultConfig()
		c.TURN, c.TURNPublicIP = true, "192.0.2.1"
		mutate(&c)
		if _, err := c.turnConfig(nil); err == nil {
			t.Errorf("TURN config accepted: listen %q, public %q, relay ports %q", c.TURNListen, c.TURNPublicIP, c.TURNRelayPorts)
		}
	}
	if _, err := (Config{ICETCPPort: "seven"}).transportConfig(nil); err == nil || !strings.Contains(err.Error(), "want PORT or IP:PORT") {
		t.Errorf("ice-tcp-port seven: %v", err)
	}
}
