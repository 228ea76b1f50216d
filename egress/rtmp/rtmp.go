// Package rtmp streams a room's canvas (H.264) and mix (decoded from the
// room's Opus, encoded to AAC) to an RTMP server in FLV, as YouTube and
// Twitch ingest it (bluenviron/gortmplib). A server that goes away is
// called again with back-off; meanwhile the stream's frames are dropped,
// so neither the room nor the recorder's queue ever waits for it.
package rtmp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/mcu-project/mcu/codec/aac"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/egress/internal/opusgap"
	"github.com/mcu-project/mcu/media"
)

const (
	// audioBitrate is the AAC stream's constant bitrate.
	audioBitrate = 128000
	// dialTimeout bounds a connection attempt (handshake and publish).
	dialTimeout = 5 * time.Second
	// writeTimeout bounds one write: a server that stops reading is a
	// server gone.
	writeTimeout = 5 * time.Second
	// firstRetry and maxRetry bound the back-off between attempts.
	firstRetry, maxRetry = time.Second, 30 * time.Second
)

// State is where the stream stands, for the egress's events.
type State struct {
	Connected bool
	// Retries counts the connection attempts that failed or broke.
	Retries int
	// Err is the last failure ("" none).
	Err string
}

// ParseURL checks an rtmp:// or rtmps:// URL.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" || u.Fragment != "" ||
		strings.Count(strings.Trim(u.Path, "/"), "/") < 1 || strings.HasSuffix(u.Path, "/") {
		return nil, fmt.Errorf("rtmp: %q is no rtmp://host/app/key URL", s)
	}
	return u, nil
}

// libURL is u as gortmplib takes it: the application in the path, the
// stream key (the last path element of the URLs services hand out) in
// the fragment.
func libURL(u *url.URL) *url.URL {
	l := *u
	i := strings.LastIndexByte(l.Path, '/')
	l.Path, l.Fragment = l.Path[:i], l.Path[i+1:]
	l.RawPath = ""
	return &l
}

// Redact hides the stream key (the URL's last path element, and any
// password) for listings and logs.
func Redact(u *url.URL) string {
	r := *u
	r.User, r.RawQuery, r.Fragment = nil, "", ""
	r.Path = r.Path[:strings.LastIndexByte(r.Path, '/')+1]
	r.RawPath = ""
	return r.String() + "****"
}

// Output is one live stream; one goroutine calls Audio, Video and
// Close.
type Output struct {
	url     *url.URL
	onState func(State)

	dec    *opus.Decoder
	pcm    [media.FrameSamples * 6]int16
	config *mpeg4audio.AudioSpecificConfig

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// The connection, when up; dialing while an attempt runs.
	conn    *conn
	dialing chan dialed
	nextTry time.Time
	backoff time.Duration
	state   State
	sent    atomic.Int64

	// sps, pps are the canvas's parameter sets, from its last keyframe.
	sps, pps []byte
}

// conn is one connection and what its stream has sent.
type conn struct {
	client       *gortmplib.Client
	w            *gortmplib.Writer
	video, audio *gortmplib.Track
	broken       atomic.Bool // the server closed it (its reader saw it end)
	readerDone   chan struct{}
	err          error // the write that failed

	started bool          // the first keyframe went out
	base    time.Duration // its time: the stream's zero
	enc     *aac.Encoder
	gaps    opusgap.Filler
	pcmAt   time.Duration // the time of the first sample given to enc
	pcmSeen bool
}

type dialed struct {
	c   *conn
	err error
}

// New returns a stream to u; it connects once the canvas's first
// keyframe comes. onState is told of every connection and failure.
func New(u *url.URL, onState func(State)) (*Output, error) {
	dec, err := opus.NewDecoder()
	if err != nil {
		return nil, err
	}
	enc, err := aac.NewEncoder(media.SampleRate, 1, audioBitrate)
	if err != nil {
		_ = dec.Close()
		return nil, err
	}
	config := &mpeg4audio.AudioSpecificConfig{}
	err = config.Unmarshal(enc.Config())
	_ = enc.Close()
	if err != nil {
		_ = dec.Close()
		return nil, err
	}
	o := &Output{url: u, onState: onState, dec: dec, config: config, backoff: firstRetry}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	return o, nil
}

// Progress reports the bytes sent; a stream never fails for good (it
// retries), so no error.
func (o *Output) Progress() (int64, error) { return o.sent.Load(), nil }

// Video sends one H.264 access unit (Annex-B) at ts; the stream starts,
// and starts again after a reconnection, at a keyframe.
func (o *Output) Video(ts time.Duration, key bool, au []byte) error {
	if key {
		if sps, pps := avc.GetParameterSetsFromByteStream(au); len(sps) > 0 && len(pps) > 0 {
			o.sps, o.pps = sps[0], pps[0]
		}
	}
	c := o.connection()
	if c == nil {
		return nil
	}
	if !c.started {
		if !key {
			return nil
		}
		c.started, c.base = true, ts
	}
	if ts < c.base {
		return nil
	}
	nalus := avc.ExtractNalusFromByteStream(au)
	o.write(c, func() error { return c.w.WriteH264(c.video, ts-c.base, ts-c.base, nalus) })
	return nil
}

// Audio decodes one Opus packet of the mix at ts and sends the AAC
// frames it completes; the mix's silent gaps go in as silence.
func (o *Output) Audio(ts time.Duration, pkt []byte) error {
	c := o.connection()
	if c == nil || !c.started || ts < c.base {
		return nil
	}
	return c.gaps.Write(ts, pkt, func(ts time.Duration, pkt []byte) error {
		n, err := o.dec.Decode(pkt, o.pcm[:])
		if err != nil {
			n = media.FrameSamples
			clear(o.pcm[:n]) // a packet it cannot decode is a frame of silence
		}
		if !c.pcmSeen {
			c.pcmSeen, c.pcmAt = true, ts
		}
		return c.enc.Encode(o.pcm[:n], func(au []byte, pts int64) {
			at := c.pcmAt + time.Duration(pts)*time.Second/media.SampleRate
			if at < c.base {
				return // the encoder's priming, before the stream's zero
			}
			o.write(c, func() error { return c.w.WriteMPEG4Audio(c.audio, at-c.base, au) })
		})
	})
}

// write sends one message; once one failed, the connection sends
// nothing more and the next Audio or Video takes it down (not here: the
// AAC encoder may be calling).
func (o *Output) write(c *conn, send func() error) {
	if c.err != nil {
		return
	}
	_ = c.client.NetConn().SetWriteDeadline(time.Now().Add(writeTimeout))
	before := c.client.BytesSent()
	c.err = send()
	o.sent.Add(int64(c.client.BytesSent() - before))
}

// connection returns the connection to write to, nil while there is
// none; it collects a finished attempt and starts the next one when due.
func (o *Output) connection() *conn {
	if c := o.conn; c != nil {
		switch {
		case c.err != nil:
			o.drop(fmt.Errorf("sending: %w", c.err))
		case c.broken.Load():
			o.drop(errors.New("the server closed the connection"))
		}
		return o.conn
	}
	if o.dialing != nil {
		select {
		case d := <-o.dialing:
			o.dialing = nil
			if d.err != nil {
				o.retryLater(d.err)
				return nil
			}
			o.conn, o.backoff = d.c, firstRetry
			o.state.Connected, o.state.Err = true, ""
			o.onState(o.state)
			return o.conn
		default:
			return nil
		}
	}
	if o.sps == nil || time.Now().Before(o.nextTry) {
		return nil
	}
	o.dialing = make(chan dialed, 1)
	sps, pps := o.sps, o.pps
	o.wg.Go(func() {
		c, err := o.dial(sps, pps)
		o.dialing <- dialed{c, err}
	})
	return nil
}

// dial connects, publishes and sends the stream's headers.
func (o *Output) dial(sps, pps []byte) (*conn, error) {
	ctx, cancel := context.WithTimeout(o.ctx, dialTimeout)
	defer cancel()
	client := &gortmplib.Client{URL: libURL(o.url), Publish: true}
	if err := client.Initialize(ctx); err != nil {
		return nil, err
	}
	enc, err := aac.NewEncoder(media.SampleRate, 1, audioBitrate)
	if err != nil {
		client.Close()
		return nil, err
	}
	c := &conn{client: client, enc: enc,
		video: &gortmplib.Track{Codec: &codecs.H264{SPS: sps, PPS: pps}},
		audio: &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: o.config}}}
	c.w = &gortmplib.Writer{Conn: client, Tracks: []*gortmplib.Track{c.video, c.audio}}
	_ = client.NetConn().SetDeadline(time.Now().Add(dialTimeout))
	if err := c.w.Initialize(); err != nil {
		c.close()
		return nil, err
	}
	_ = client.NetConn().SetDeadline(time.Time{})
	// The server's messages (acknowledgements, pings) are read and
	// dropped; the read ending says the server is gone. close waits for
	// the reader.
	c.readerDone = make(chan struct{})
	go func() {
		defer close(c.readerDone)
		for {
			if _, err := client.Read(); err != nil {
				c.broken.Store(true)
				return
			}
		}
	}()
	return c, nil
}

// close closes the connection and waits for its reader, if it has one.
func (c *conn) close() {
	c.client.Close()
	_ = c.enc.Close()
	if c.readerDone != nil {
		<-c.readerDone
	}
}

// drop closes a broken connection and schedules the next attempt.
func (o *Output) drop(err error) {
	if o.conn == nil {
		return
	}
	o.conn.close()
	o.conn = nil
	o.retryLater(err)
}

// retryLater counts a failure, reports it, and backs off.
func (o *Output) retryLater(err error) {
	o.state.Connected, o.state.Retries, o.state.Err = false, o.state.Retries+1, err.Error()
	o.nextTry = time.Now().Add(o.backoff)
	o.backoff = min(2*o.backoff, maxRetry)
	o.onState(o.state)
}

// Close ends the stream (an attempt under way is abandoned).
func (o *Output) Close() error {
	o.cancel()
	if o.dialing != nil {
		if d := <-o.dialing; d.c != nil {
			d.c.close()
		}
		o.dialing = nil
	}
	o.wg.Wait()
	if o.conn != nil {
		o.conn.close()
		o.conn = nil
	}
	return o.dec.Close()
}
