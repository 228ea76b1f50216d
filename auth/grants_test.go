package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseGrants(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Grants
		err  bool
	}{
		{in: "publish", want: Grants{Publish: true}},
		{in: "publish,subscribe", want: DefaultGrants()},
		{in: " Subscribe , HIDDEN ", want: Grants{Subscribe: true, Hidden: true}},
		{in: "publish,subscribe,admin,hidden", want: Grants{Publish: true, Subscribe: true, Admin: true, Hidden: true}},
		{in: "admin,admin", want: Grants{Admin: true}},
		{in: "", err: true},
		{in: "publish,", err: true},
		{in: "publish,,admin", err: true},
		{in: "root", err: true},
		{in: "publish subscribe", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseGrants(tc.in)
			switch {
			case tc.err && (!errors.Is(err, ErrBadClaims) || !strings.Contains(err.Error(), GrantNames)):
				t.Fatalf("error %v, want ErrBadClaims naming the grants", err)
			case !tc.err && (err != nil || got != tc.want):
				t.Fatalf("%+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}
