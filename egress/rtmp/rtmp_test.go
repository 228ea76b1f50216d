package rtmp

import "testing"

func TestURLs(t *testing.T) {
	for _, c := range []struct {
		in, lib, redacted string
	}{
		{"rtmp://a.rtmp.youtube.com/live2/abcd-efgh", "rtmp://a.rtmp.youtube.com/live2#abcd-efgh", "rtmp://a.rtmp.youtube.com/live2/****"},
		{"rtmps://u:pw@host:443/app/sub/key?x=1", "rtmps://u:pw@host:443/app/sub?x=1#key", "rtmps://host:443/app/sub/****"},
	} {
		u, err := ParseURL(c.in)
		if err != nil {
			t.Fatalf("ParseURL(%s): %v", c.in, err)
		}
		if got := libURL(u).String(); got != c.lib {
			t.Errorf("libURL(%s) = %s, want %s", c.in, got, c.lib)
		}
		if got := Redact(u); got != c.redacted {
			t.Errorf("Redact(%s) = %s, want %s", c.in, got, c.redacted)
		}
	}
	for _, bad := range []string{"", "http://host/app/key", "rtmp:///app/key", "rtmp://host/app", "rtmp://host/app/", "rtmp://host/app/key#frag", "::"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}
