package auth

import "errors"

var (
	// ErrNoSecret: an Authority needs a secret of at least MinSecretBytes.
	ErrNoSecret = errors.New("auth: secret too short")
	// ErrMissing: the request carries no bearer token (401).
	ErrMissing = errors.New("auth: no bearer token")
	// ErrInvalid: the token is malformed, badly signed, expired or not
	// yet valid (401).
	ErrInvalid = errors.New("auth: invalid token")
	// ErrForbidden: a valid token that does not cover the room or lacks
	// the grant the request needs (403).
	ErrForbidden = errors.New("auth: forbidden")
	// ErrBadClaims: claims that cannot be minted.
	ErrBadClaims = errors.New("auth: bad claims")
)
