package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	testNow    = time.Unix(1_800_000_000, 0)
)

func testAuthority(t testing.TB) *Authority {
	t.Helper()
	a, err := New(testSecret, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signed signs arbitrary claims with a key and method, as a forger or
// another issuer would.
func signed(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMintAndVerify(t *testing.T) {
	a := testAuthority(t)
	c := Claims{Identity: "alice", Room: "demo", Name: "Alice", Grants: Grants{Publish: true, Hidden: true}, ExpiresAt: testNow.Add(time.Hour)}
	tok, err := a.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity != "alice" || got.Room != "demo" || got.Name != "Alice" || got.Grants != c.Grants || !got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := New(testSecret[:31], nil); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("short secret: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	a := testAuthority(t)
	exp := testNow.Add(time.Hour).Unix()
	good := jwt.MapClaims{"sub": "bob", "room": "demo", "exp": exp}
	with := func(k string, v any) jwt.MapClaims {
		m := jwt.MapClaims{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name, token, reason string
	}{
		{"garbage", "not-a-jwt", "malformed"},
		{"empty", "", "malformed"},
		{"other secret", signed(t, jwt.SigningMethodHS256, []byte("another secret, also 32 bytes!!!"), good), "bad signature"},
		{"HS512", signed(t, jwt.SigningMethodHS512, testSecret, good), "bad signature"},
		{"alg none", signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), "bad signature"},
		{"expired", signed(t, jwt.SigningMethodHS256, testSecret, with("exp", testNow.Add(-time.Minute).Unix())), "expired"},
		{"no exp", signed(t, jwt.SigningMethodHS256, testSecret, with("exp", nil)), "no exp claim"},
		{"not yet", signed(t, jwt.SigningMethodHS256, testSecret, with("nbf", testNow.Add(time.Minute).Unix())), "not valid yet"},
		{"no sub", signed(t, jwt.SigningMethodHS256, testSecret, with("sub", nil)), "no sub or room"},
		{"no room", signed(t, jwt.SigningMethodHS256, testSecret, with("room", nil)), "no sub or room"},
		{"long name", signed(t, jwt.SigningMethodHS256, testSecret, with("name", strings.Repeat("é", 65))), "too long"},
		{"grants not an object", signed(t, jwt.SigningMethodHS256, testSecret, with("grants", "all")), "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Verify(tc.token)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("error %v, want ErrInvalid with %q", err, tc.reason)
			}
		})
	}
	// Absent grants mean publish and subscribe.
	c, err := a.Verify(signed(t, jwt.SigningMethodHS256, testSecret, good))
	if err != nil || c.Grants != DefaultGrants() {
		t.Fatalf("no grants claim: %+v %v", c.Grants, err)
	}
}

func TestMintRefuses(t *testing.T) {
	a := testAuthority(t)
	ok := Claims{Identity: "a", Room: "r", ExpiresAt: testNow.Add(time.Hour)}
	for _, tc := range []struct {
		name string
		edit func(*Claims)
	}{
		{"no identity", func(c *Claims) { c.Identity = "" }},
		{"no room", func(c *Claims) { c.Room = "" }},
		{"long name", func(c *Claims) { c.Name = strings.Repeat("x", 65) }},
		{"expired", func(c *Claims) { c.ExpiresAt = testNow }},
		{"too long-lived", func(c *Claims) { c.ExpiresAt = testNow.Add(MaxTTL + time.Hour) }},
	} {
		c := ok
		tc.edit(&c)
		if _, err := a.Mint(c); !errors.Is(err, ErrBadClaims) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		room   string
		grants Grants
		asked  string
		need   Grant
		ok     bool
	}{
		{"demo", DefaultGrants(), "demo", GrantPublish, true},
		{"demo", DefaultGrants(), "other", GrantUnknown, false},
		{AnyRoom, DefaultGrants(), "other", GrantSubscribe, true},
		{"demo", DefaultGrants(), "demo", GrantAdmin, false},
		{"demo", Grants{Admin: true}, "demo", GrantAdmin, true},
		{"demo", Grants{Subscribe: true}, "demo", GrantPublish, false},
	} {
		err := Claims{Room: tc.room, Grants: tc.grants}.Allows(tc.asked, tc.need)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%s %+v asked %s for %v: %v", tc.room, tc.grants, tc.asked, tc.need, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		err           error
	}{
		{"Bearer abc", "abc", nil},
		{"bearer  abc ", "abc", nil},
		{"", "", ErrMissing},
		{"Basic abc", "", ErrInvalid},
		{"Bearer", "", ErrInvalid},
		{"Bearer ", "", ErrInvalid},
	} {
		got, err := BearerToken(tc.header)
		if got != tc.token || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%q: %q %v", tc.header, got, err)
		}
	}
}

// TestTURNCredentials recomputes coturn's check: base64(HMAC-SHA1(secret,
// username)) with an expiry-first username.
func TestTURNCredentials(t *testing.T) {
	c := NewTURNCredentials([]byte("turnsecret"), "alice", testNow, time.Hour)
	if c.Username != "1800003600:alice" || !c.Expires.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("%+v", c)
	}
	mac := hmac.New(sha1.New, []byte("turnsecret"))
	mac.Write([]byte(c.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); c.Password != want {
		t.Fatalf("password %q, want %q", c.Password, want)
	}
}

// FuzzVerify: no token, however broken, panics the verifier or verifies
// without the secret's signature.
func FuzzVerify(f *testing.F) {
	a := testAuthority(f)
	good, _ := a.Mint(Claims{Identity: "a", Room: "r", ExpiresAt: testNow.Add(time.Hour)})
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good[:len(good)-3] + "AAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := a.Verify(tok)
		if err == nil && tok != good {
			// Only a correctly signed token verifies; its claims must
			// then be ones we would mint.
			if c.Identity == "" || c.Room == "" {
				t.Fatalf("verified claims without identity or room: %+v", c)
			}
		}
	})
}
