package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
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
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(user))
	return TURNCredentials{Username: user, Password: base64.StdEncoding.EncodeToString(mac.Sum(nil)), Expires: exp}
}
