// Package auth mints and verifies join tokens and makes TURN REST
// credentials. It is pure: time is passed in or injected, and it neither
// listens nor logs.
//
// A join token is a JWT signed with HS256 by the server's secret. Its
// claims are exactly: sub (the participant's identity, unique in a room),
// room (a room name, or "*" for every room), name (display name,
// optional), grants ({"publish","subscribe","admin","hidden"}; absent:
// publish and subscribe only), exp (required) and nbf (optional).
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretBytes is the shortest secret accepted: HS256 wants a key as
// long as its hash.
const MinSecretBytes = 32

// AnyRoom in a token's room claim admits it to every room.
const AnyRoom = "*"

// Limits on what a token may carry.
const (
	MaxIdentityBytes = 128
	MaxNameRunes     = 64
	MaxRoomBytes     = 128
	MaxTTL           = 366 * 24 * time.Hour
)

// Grants are what a token allows in its room.
type Grants struct {
	Publish   bool `json:"publish"`   // send audio and video
	Subscribe bool `json:"subscribe"` // receive the mix and the canvas
	Admin     bool `json:"admin"`     // plain-RTP legs, room-wide actions, removing others
	Hidden    bool `json:"hidden"`    // receive without being listed (recorders, monitors)
}

// DefaultGrants are a token's grants when it names none.
func DefaultGrants() Grants { return Grants{Publish: true, Subscribe: true} }

// Claims are what a token says.
type Claims struct {
	Identity  string
	Room      string
	Name      string
	Grants    Grants
	ExpiresAt time.Time
	NotBefore time.Time // zero: valid from issue
}

// Grant names one right a request needs.
type Grant uint8

const (
	GrantUnknown Grant = iota
	GrantPublish
	GrantSubscribe
	GrantAdmin
)

func (g Grant) String() string {
	switch g {
	case GrantPublish:
		return "publish"
	case GrantSubscribe:
		return "subscribe"
	case GrantAdmin:
		return "admin"
	}
	return "unknown"
}

// Allows checks that the claims cover room and carry grant need
// (GrantUnknown: none beyond the room); the error wraps ErrForbidden.
func (c Claims) Allows(room string, need Grant) error {
	if c.Room != AnyRoom && c.Room != room {
		return fmt.Errorf("%w: the token is for room %q, not %q", ErrForbidden, c.Room, room)
	}
	ok := true
	switch need {
	case GrantPublish:
		ok = c.Grants.Publish
	case GrantSubscribe:
		ok = c.Grants.Subscribe
	case GrantAdmin:
		ok = c.Grants.Admin
	}
	if !ok {
		return fmt.Errorf("%w: the token has no %s grant", ErrForbidden, need)
	}
	return nil
}

// wireClaims is the JWT payload.
type wireClaims struct {
	Room   string  `json:"room"`
	Name   string  `json:"name,omitempty"`
	Grants *Grants `json:"grants,omitempty"`
	jwt.RegisteredClaims
}

// Authority mints and verifies tokens with one secret.
type Authority struct {
	secret []byte
	now    func() time.Time
}

// New returns an Authority for secret; now is the clock (nil: time.Now).
func New(secret []byte, now func() time.Time) (*Authority, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrNoSecret, len(secret), MinSecretBytes)
	}
	if now == nil {
		now = time.Now
	}
	return &Authority{secret: append([]byte(nil), secret...), now: now}, nil
}

// Mint signs claims into a token.
func (a *Authority) Mint(c Claims) (string, error) {
	if err := c.validate(a.now()); err != nil {
		return "", err
	}
	g := c.Grants
	w := wireClaims{Room: c.Room, Name: c.Name, Grants: &g, RegisteredClaims: jwt.RegisteredClaims{
		Subject: c.Identity, ExpiresAt: jwt.NewNumericDate(c.ExpiresAt)}}
	if !c.NotBefore.IsZero() {
		w.NotBefore = jwt.NewNumericDate(c.NotBefore)
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, w).SignedString(a.secret)
}

func (c Claims) validate(now time.Time) error {
	switch {
	case c.Identity == "" || len(c.Identity) > MaxIdentityBytes || !utf8.ValidString(c.Identity):
		return fmt.Errorf("%w: identity must be 1 to %d bytes of UTF-8", ErrBadClaims, MaxIdentityBytes)
	case c.Room == "" || len(c.Room) > MaxRoomBytes || !utf8.ValidString(c.Room):
		return fmt.Errorf("%w: room must be a name of 1 to %d bytes or %q", ErrBadClaims, MaxRoomBytes, AnyRoom)
	case utf8.RuneCountInString(c.Name) > MaxNameRunes || !utf8.ValidString(c.Name):
		return fmt.Errorf("%w: name longer than %d characters", ErrBadClaims, MaxNameRunes)
	case !c.ExpiresAt.After(now):
		return fmt.Errorf("%w: expiry %v is not in the future", ErrBadClaims, c.ExpiresAt.UTC().Format(time.RFC3339))
	case c.ExpiresAt.Sub(now) > MaxTTL:
		return fmt.Errorf("%w: expiry more than %v away", ErrBadClaims, MaxTTL)
	}
	return nil
}

// Verify checks a token's signature and times and returns its claims;
// every failure wraps ErrInvalid with the reason.
func (a *Authority) Verify(token string) (Claims, error) {
	var w wireClaims
	_, err := jwt.ParseWithClaims(token, &w, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %s", ErrInvalid, reason(err))
	}
	if w.Subject == "" || w.Room == "" {
		return Claims{}, fmt.Errorf("%w: no sub or room claim", ErrInvalid)
	}
	c := Claims{Identity: w.Subject, Room: w.Room, Name: w.Name, Grants: DefaultGrants(), ExpiresAt: w.ExpiresAt.Time}
	if w.Grants != nil {
		c.Grants = *w.Grants
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time
	}
	if err := c.validateShape(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// validateShape bounds what a verified token may carry: our minting never
// signs more, so a longer field means a token made some other way.
func (c Claims) validateShape() error {
	if len(c.Identity) > MaxIdentityBytes || len(c.Room) > MaxRoomBytes || utf8.RuneCountInString(c.Name) > MaxNameRunes {
		return fmt.Errorf("%w: a claim is too long", ErrInvalid)
	}
	return nil
}

// reason is the one-line cause of a jwt parse failure.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature (or not HS256)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "no exp claim"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable"
	}
	return "rejected"
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header value; the error wraps ErrMissing or ErrInvalid.
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", fmt.Errorf("%w: send Authorization: Bearer <token>", ErrMissing)
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("%w: the Authorization header is not Bearer <token>", ErrInvalid)
	}
	return strings.TrimSpace(tok), nil
}
