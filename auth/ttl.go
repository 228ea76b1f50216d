package auth

import (
	"fmt"
	"time"
)

// DefaultTTL is how long a token lasts when whoever asks for it names no
// lifetime.
const DefaultTTL = time.Hour

// CheckTTL refuses a token lifetime MintTTL would refuse, with the reason
// in terms of the lifetime rather than of the expiry it leads to. A JWT
// counts in whole seconds, so less than one is refused too.
func CheckTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > MaxTTL {
		return fmt.Errorf("%w: ttl %v: want 1s to %v", ErrBadClaims, ttl, MaxTTL)
	}
	return nil
}

// MintTTL mints c (its ExpiresAt ignored) valid for ttl from the
// Authority's now, and returns the token and its expiry as the token
// states it (to the second).
func (a *Authority) MintTTL(c Claims, ttl time.Duration) (string, time.Time, error) {
	if err := CheckTTL(ttl); err != nil {
		return "", time.Time{}, err
	}
	c.ExpiresAt = a.now().Add(ttl)
	tok, err := a.Mint(c)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, c.ExpiresAt.Truncate(time.Second), nil
}
