package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCheckTURNUsername: a TURN server takes unexpired "expiry[:identity]"
// usernames and refuses expired and malformed ones with the reason.
func TestCheckTURNUsername(t *testing.T) {
	fresh := NewTURNCredentials([]byte("s"), "alice", testNow, time.Minute)
	cases := []struct {
		user, identity string
		ok             bool
	}{
		{fresh.Username, "alice", true},
		{"1800000001", "", true},
		{"1800000001:a:b", "a:b", true},
		{"1800000000:alice", "", false}, // expires at now: expired
		{"1:alice", "", false},
		{"alice", "", false},
		{"", "", false},
		{":alice", "", false},
		{"+1800000001:alice", "", false},
		{"-1:alice", "", false},
		{"0x6b49d201:alice", "", false},
		{"99999999999999999999:alice", "", false},
	}
	for _, tc := range cases {
		id, err := CheckTURNUsername(tc.user, testNow)
		if tc.ok != (err == nil) || id != tc.identity {
			t.Errorf("%q: identity %q, error %v; want ok %v with %q", tc.user, id, err, tc.ok, tc.identity)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v does not wrap ErrInvalid", tc.user, err)
		}
	}
}

// FuzzCheckTURNUsername: no username panics the check, and one it takes
// starts with a decimal expiry.
func FuzzCheckTURNUsername(f *testing.F) {
	for _, s := range []string{"1800000001:alice", "1:alice", "alice", "", ":", "+1:x", "99999999999999999999:a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, user string) {
		if _, err := CheckTURNUsername(user, testNow); err == nil {
			if expiry, _, _ := strings.Cut(user, ":"); strings.Trim(expiry, "0123456789") != "" {
				t.Fatalf("took %q", user)
			}
		}
	})
}
