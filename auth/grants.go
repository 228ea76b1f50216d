package auth

import (
	"fmt"
	"strings"
)

// GrantNames is the syntax of ParseGrants, for messages.
const GrantNames = "publish, subscribe, admin, hidden"

// ParseGrants parses a comma-separated list of grant names, such as
// "publish,admin" (case and spaces around names do not matter). Every
// grant not named is off. An empty name is refused, so an empty list is
// too: whoever wants the defaults leaves the grants out, and a token that
// may do nothing is more likely a slip than meant.
func ParseGrants(s string) (Grants, error) {
	var g Grants
	for _, name := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "publish":
			g.Publish = true
		case "subscribe":
			g.Subscribe = true
		case "admin":
			g.Admin = true
		case "hidden":
			g.Hidden = true
		default:
			return Grants{}, fmt.Errorf("%w: grants %q: want a list of %s", ErrBadClaims, s, GrantNames)
		}
	}
	return g, nil
}
