// Package sdpfrag reads and writes the trickle-ICE SDP fragments of RFC
// 8840 (application/trickle-ice-sdpfrag), which WHIP and WHEP PATCHes
// carry (RFC 9725 §4.3), and moves ICE credentials and candidates between
// a fragment and a whole session description: the server and the test
// client both restart ICE with them.
package sdpfrag

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxCandidates bounds the candidates of one fragment: each costs the
// receiver connectivity checks towards an address its sender chose.
const MaxCandidates = 32

// ErrBad is wrapped by every parse error.
var ErrBad = errors.New("bad trickle-ice-sdpfrag")

// Frag is an SDP fragment: ICE credentials and, per m-section, candidates.
type Frag struct {
	Ufrag, Pwd string
	Media      []Media
}

// Media is one m-section of a fragment.
type Media struct {
	Kind, Mid string
	// Candidates are attribute values, "candidate:1 1 udp ...".
	Candidates []string
	End        bool // a=end-of-candidates
}

// Parse reads a fragment. Lines the fragment may carry but ICE does not
// need (a=group, a=ice-options) are skipped; candidates must belong to an
// m-section.
func Parse(body string) (Frag, error) {
	var f Frag
	var cur *Media
	count := 0
	for n, line := range strings.Split(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return Frag{}, fmt.Errorf("%w: line %d is not an SDP line", ErrBad, n+1)
		}
		key, value, _ := strings.Cut(line[2:], ":")
		switch {
		case line[0] == 'm':
			kind, _, _ := strings.Cut(line[2:], " ")
			f.Media = append(f.Media, Media{Kind: kind})
			cur = &f.Media[len(f.Media)-1]
		case line[0] != 'a':
		case key == "ice-ufrag":
			f.Ufrag = value
		case key == "ice-pwd":
			f.Pwd = value
		case key == "mid" && cur != nil:
			cur.Mid = value
		case key == "end-of-candidates" && cur != nil:
			cur.End = true
		case key == "candidate":
			if cur == nil {
				return Frag{}, fmt.Errorf("%w: line %d: a candidate outside an m= section", ErrBad, n+1)
			}
			if count++; count > MaxCandidates {
				return Frag{}, fmt.Errorf("%w: more than %d candidates", ErrBad, MaxCandidates)
			}
			cur.Candidates = append(cur.Candidates, line[2:])
		}
	}
	if (f.Ufrag == "") != (f.Pwd == "") {
		return Frag{}, fmt.Errorf("%w: ice-ufrag and ice-pwd go together", ErrBad)
	}
	return f, nil
}

// String writes the fragment with CRLF line ends, each m-section as the
// placeholder RFC 8840 uses ("m=audio 9 UDP/TLS/RTP/SAVPF 0").
func (f Frag) String() string {
	var b strings.Builder
	if f.Ufrag != "" {
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", f.Ufrag, f.Pwd)
	}
	for _, m := range f.Media {
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF 0\r\n", m.Kind)
		if m.Mid != "" {
			fmt.Fprintf(&b, "a=mid:%s\r\n", m.Mid)
		}
		for _, c := range m.Candidates {
			fmt.Fprintf(&b, "a=%s\r\n", c)
		}
		if m.End {
			b.WriteString("a=end-of-candidates\r\n")
		}
	}
	return b.String()
}

// Of is the fragment of a session description: its ICE credentials and
// the first m-section's RTP candidates (with BUNDLE, the one transport's).
func Of(desc string) (Frag, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(desc); err != nil {
		return Frag{}, err
	}
	if len(sd.MediaDescriptions) == 0 {
		return Frag{}, errors.New("no m-section")
	}
	md := sd.MediaDescriptions[0]
	f := Frag{Media: []Media{{Kind: md.MediaName.Media}}}
	m := &f.Media[0]
	for _, attrs := range [][]sdp.Attribute{sd.Attributes, md.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case "ice-ufrag":
				f.Ufrag = a.Value
			case "ice-pwd":
				f.Pwd = a.Value
			case "mid":
				m.Mid = a.Value
			case "candidate":
				// WebRTC muxes RTCP with RTP (RFC 8858): a component-2
				// candidate only repeats its component-1 twin.
				if _, rest, _ := strings.Cut(a.Value, " "); !strings.HasPrefix(rest, "2 ") {
					m.Candidates = append(m.Candidates, "candidate:"+a.Value)
				}
			case "end-of-candidates":
				m.End = true
			}
		}
	}
	if f.Ufrag == "" {
		return Frag{}, errors.New("no ice-ufrag")
	}
	return f, nil
}

// Ufrag is a session description's ICE username fragment ("" if none).
func Ufrag(desc string) string {
	f, err := Of(desc)
	if err != nil {
		return ""
	}
	return f.Ufrag
}

// Apply returns desc with the fragment's ICE credentials in place of its
// own and the fragment's candidates in place of its candidates, each in
// the m-section of its mid (the first when the mid is unknown): the
// description an ICE restart renegotiates with.
func Apply(desc string, f Frag) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(desc); err != nil {
		return "", err
	}
	if len(sd.MediaDescriptions) == 0 {
		return "", errors.New("no m-section")
	}
	sd.Attributes = replaceICE(sd.Attributes, f)
	byMid := map[string]*sdp.MediaDescription{}
	for _, md := range sd.MediaDescriptions {
		md.Attributes = replaceICE(md.Attributes, f)
		if mid, ok := md.Attribute("mid"); ok {
			byMid[mid] = md
		}
	}
	for _, m := range f.Media {
		md, ok := byMid[m.Mid]
		if !ok {
			md = sd.MediaDescriptions[0]
		}
		for _, c := range m.Candidates {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("candidate", strings.TrimPrefix(c, "candidate:")))
		}
		if m.End {
			md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("end-of-candidates"))
		}
	}
	out, err := sd.Marshal()
	return string(out), err
}

// replaceICE sets the credentials in attrs to f's, if it has any, and
// drops candidates.
func replaceICE(attrs []sdp.Attribute, f Frag) []sdp.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		switch {
		case a.Key == "candidate", a.Key == "end-of-candidates":
			continue
		case a.Key == "ice-ufrag" && f.Ufrag != "":
			a.Value = f.Ufrag
		case a.Key == "ice-pwd" && f.Pwd != "":
			a.Value = f.Pwd
		}
		out = append(out, a)
	}
	return out
}
