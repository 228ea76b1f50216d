package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/auth"
)

const tokenCmdSecret = "0123456789abcdef0123456789abcdef"

// tokenCmd runs "mcu token" with args and the environment env.
func tokenCmd(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = tokenMain(args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// TestTokenCreate: the printed token verifies with the secret, from the
// flag or the environment, and carries the claims asked for.
func TestTokenCreate(t *testing.T) {
	verifier, err := auth.New([]byte(tokenCmdSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want auth.Claims
		ttl  time.Duration
	}{
		{"every flag", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo", "-identity", "alice", "-name", "Alice", "-ttl", "2h", "-grants", "subscribe,admin,hidden"},
			auth.Claims{Identity: "alice", Room: "demo", Name: "Alice", Grants: auth.Grants{Subscribe: true, Admin: true, Hidden: true}}, 2 * time.Hour},
		{"defaults, secret from the environment", map[string]string{"MCU_AUTH_SECRET": tokenCmdSecret}, []string{"create", "--room", "*", "--identity", "bob"},
			auth.Claims{Identity: "bob", Room: "*", Grants: auth.DefaultGrants()}, auth.DefaultTTL},
		{"the flag over the environment", map[string]string{"MCU_AUTH_SECRET": "too short"}, []string{"create", "-auth-secret=" + tokenCmdSecret, "-room=demo", "-identity=carol"},
			auth.Claims{Identity: "carol", Room: "demo", Grants: auth.DefaultGrants()}, auth.DefaultTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			code, stdout, stderr := tokenCmd(tc.env, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, err := verifier.Verify(strings.TrimSuffix(stdout, "\n"))
			if err != nil {
				t.Fatalf("%q: %v", stdout, err)
			}
			if exp := got.ExpiresAt; exp.Before(before.Add(tc.ttl)) || exp.After(time.Now().Add(tc.ttl)) {
				t.Errorf("expires %v, want %v from now", exp, tc.ttl)
			}
			if got.ExpiresAt = (time.Time{}); got != tc.want {
				t.Errorf("claims %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestTokenCreateRefuses: a missing or short secret and bad flags exit 2
// with a one-line reason and the usage, printing no token.
func TestTokenCreateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		msg  string
	}{
		{"no secret", nil, []string{"create", "-room", "demo", "-identity", "alice"}, "no secret: give -auth-secret or set MCU_AUTH_SECRET"},
		{"short secret", nil, []string{"create", "-auth-secret", "s3cret", "-room", "demo", "-identity", "alice"}, "secret too short: 6 bytes, want at least 32"},
		{"short secret in the environment", map[string]string{"MCU_AUTH_SECRET": "s3cret"}, []string{"create", "-room", "demo", "-identity", "alice"}, "secret too short"},
		{"no subcommand", nil, nil, `the only subcommand is "create"`},
		{"another subcommand", nil, []string{"verify"}, `the only subcommand is "create"`},
		{"no room", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-identity", "alice"}, "-room and -identity are required"},
		{"no identity", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo"}, "-room and -identity are required"},
		{"unknown flag", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo", "-identity", "alice", "-admin"}, "flag provided but not defined: -admin"},
		{"argument", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo", "-identity", "alice", "extra"}, "unexpected arguments: [extra]"},
		{"bad ttl", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo", "-identity", "alice", "-ttl", "0s"}, "ttl 0s: want 1s to 8784h0m0s"},
		{"bad grants", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo", "-identity", "alice", "-grants", "publish,root"}, `grants "publish,root"`},
		{"long name", nil, []string{"create", "-auth-secret", tokenCmdSecret, "-room", "demo", "-identity", "alice", "-name", strings.Repeat("n", 65)}, "name longer than 64 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := tokenCmd(tc.env, tc.args...)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code != 2 || stdout != "" || len(lines) != 2 || !strings.Contains(lines[0], tc.msg) || !strings.HasPrefix(lines[1], "usage: mcu token create") {
				t.Fatalf("exit %d, stdout %q, stderr %q: want 2, %q and the usage", code, stdout, stderr, tc.msg)
			}
		})
	}
	if code, stdout, _ := tokenCmd(nil, "create", "-h"); code != 0 || !strings.Contains(stdout, "-auth-secret") {
		t.Fatalf("-h: exit %d, %q", code, stdout)
	}
}
