package auth

import (
	"testing"
	"time"
)

// BenchmarkVerify is the token check every join, leave and leg request
// pays when tokens are on: parse, HS256 signature, times, claims.
func BenchmarkVerify(b *testing.B) {
	a := testAuthority(b)
	tok, err := a.Mint(Claims{Identity: "alice", Room: "demo", Name: "Alice", Grants: DefaultGrants(), ExpiresAt: testNow.Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
