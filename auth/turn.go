package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TURNCredentials are ephemeral TURN credentials in the TURN REST scheme
// that coturn's use-auth-secret checks: the username is the expiry (unix
// seconds) and an identity, "expiry:identity", and the password is
// base64(HMAC-SHA1(secret, username)).
type TURNCredentials struct {
	Username, Password string
	Expires            time.Time
}

// NewTURNCredentials makes credentials for identity valid for ttl from now.
func NewTURNCredentials(secret []byte, identity string, now time.Time, ttl time.Duration) TURNCredentials {
	exp := now.Add(ttl).Truncate(time.Second)
	user := strconv.FormatInt(exp.Unix(), 10)
	if identity != "" {
		user += ":" + identity
	}
	return TURNCredentials{Username: user, Password: TURNPassword(secret, user), Expires: exp}
}

// TURNPassword is the password the TURN REST scheme gives username.
func TURNPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CheckTURNUsername checks what a TURN server can check of a TURN REST
// username before the password: its form, "expiry" or "expiry:identity"
// with the expiry in decimal unix seconds, and that the expiry is after
// now. It returns the identity. The password itself is proven by the
// client's message integrity, keyed with TURNPassword.
func CheckTURNUsername(username string, now time.Time) (string, error) {
	expiry, identity, _ := strings.Cut(username, ":")
	sec, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || sec <= 0 || strings.HasPrefix(expiry, "+") {
		return "", fmt.Errorf("%w: TURN username %q: want expiry:identity with the expiry in unix seconds", ErrInvalid, username)
	}
	if !time.Unix(sec, 0).After(now) {
		return "", fmt.Errorf("%w: TURN username %q expired at %s", ErrInvalid, username, time.Unix(sec, 0).UTC().Format(time.RFC3339))
	}
	return identity, nil
}
