package auth

import (
	"errors"
	"testing"
	"time"
)

func TestMintTTL(t *testing.T) {
	a := testAuthority(t)
	for _, tc := range []struct {
		ttl time.Duration
		ok  bool
	}{
		{time.Second, true},
		{DefaultTTL, true},
		{90*time.Minute + 500*time.Millisecond, true},
		{MaxTTL, true},
		{0, false},
		{999 * time.Millisecond, false},
		{-time.Hour, false},
		{MaxTTL + time.Second, false},
	} {
		t.Run(tc.ttl.String(), func(t *testing.T) {
			if err := CheckTTL(tc.ttl); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadClaims)) {
				t.Fatalf("CheckTTL: %v, want ok=%v", err, tc.ok)
			}
			tok, exp, err := a.MintTTL(Claims{Identity: "alice", Room: "demo", ExpiresAt: testNow}, tc.ttl)
			if !tc.ok {
				if !errors.Is(err, ErrBadClaims) || tok != "" {
					t.Fatalf("MintTTL: %q %v, want ErrBadClaims", tok, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := a.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if want := testNow.Add(tc.ttl).Truncate(time.Second); !exp.Equal(want) || !c.ExpiresAt.Equal(want) {
				t.Fatalf("expiry %v, token says %v, want %v", exp, c.ExpiresAt, want)
			}
		})
	}
}
