package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

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
ice_servers:
  - urls: ["turn:turn.example.org:3478"]
    username: u
    credential: p
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MCU_CONFIG": yamlPath, "MCU_UDP_PORT": "4000", "MCU_MAX_PARTICIPANTS": "9"}
	cfg, err := loadConfig([]string{"-max-participants", "10", "-public-ip", "198.51.100.1, 198.51.100.2"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.HTTP = ":7000"                                       // YAML over default
	want.UDPPort = 4000                                       // env over YAML
	want.MaxParticipants = 10                                 // flag over env
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
}
