package transport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/internal/sdpfrag"
	"github.com/mcu-project/mcu/media"
	"github.com/pion/webrtc/v4"
)

// A WebRTC participant's session URL (its Location: a join's, a WHIP
// publisher's or a WHEP viewer's) takes PATCH for trickle ICE and ICE
// restarts as RFC 9725 §4.3 describes, and DELETE to leave.

// maxFragBytes bounds a PATCH body: a fragment is a few candidates.
const maxFragBytes = 64 << 10

// sessionKey names a participant's session.
type sessionKey struct {
	room media.RoomID
	id   media.ParticipantID
}

// session is a WebRTC participant's peer and how it joined.
type session struct {
	peer *Peer
	kind string
}

// sessions finds the peer behind a session URL. A peer leaves it when it
// closes, whatever closed it (a leave, a replacement, a failure).
type sessions struct {
	mu sync.Mutex
	m  map[sessionKey]session
}

func (s *sessions) add(room media.RoomID, id media.ParticipantID, kind string, p *Peer) {
	k := sessionKey{room, id}
	s.mu.Lock()
	if s.m == nil {
		s.m = map[sessionKey]session{}
	}
	s.m[k] = session{p, kind}
	s.mu.Unlock()
	p.onClose(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.m[k].peer == p {
			delete(s.m, k)
		}
	})
}

// get returns the session of a participant that joined as kind ("": any).
func (s *sessions) get(room media.RoomID, id media.ParticipantID, kind string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[sessionKey{room, id}]
	return ss, ok && (kind == "" || ss.kind == kind)
}

// mayControl lets the request go on when its token is the participant's
// own or an admin's of the room, and answers 401, 403 or 404 itself
// otherwise: leaving and ICE changes need either.
func (s *Server) mayControl(w http.ResponseWriter, r *http.Request, room media.RoomID, id media.ParticipantID) bool {
	claims, ok := s.door.authorize(w, r, string(room), auth.GrantUnknown)
	if !ok {
		return false
	}
	if claims.Grants.Admin {
		return true
	}
	who, err := s.rooms.Identity(room, id)
	switch {
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, "%v", err)
	case err != nil:
		httpError(w, http.StatusBadRequest, "%v", err)
	case who == "" || who != claims.Identity:
		httpError(w, http.StatusForbidden, "only the participant itself or an admin of the room may change or remove it")
	default:
		return true
	}
	return false
}

// handleLeave removes a participant: its own token's holder, or an admin
// of the room.
func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) {
	s.leave(w, r, "", http.StatusNoContent)
}

// leave removes the participant of a session URL, which must have joined
// as kind ("": any, plain-RTP legs included), and answers done.
func (s *Server) leave(w http.ResponseWriter, r *http.Request, kind string, done int) {
	room, id := media.RoomID(r.PathValue("room")), media.ParticipantID(r.PathValue("id"))
	if !s.mayControl(w, r, room, id) {
		return
	}
	if _, ok := s.sessions.get(room, id, kind); kind != "" && !ok {
		httpError(w, http.StatusNotFound, "no %s session %s in room %s", kind, id, room)
		return
	}
	if err := s.rooms.Leave(room, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			httpError(w, http.StatusNotFound, "%v", err)
			return
		}
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	w.WriteHeader(done)
}

// patchSession serves PATCH on the session URLs of participants that
// joined as kind ("": any WebRTC participant): trickled candidates (204)
// or an ICE restart (200 with our new credentials and a new ETag).
func (s *Server) patchSession(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		room, id := media.RoomID(r.PathValue("room")), media.ParticipantID(r.PathValue("id"))
		if !s.mayControl(w, r, room, id) {
			return
		}
		ss, ok := s.sessions.get(room, id, kind)
		if !ok {
			httpError(w, http.StatusNotFound, "no WebRTC session %s in room %s", id, room)
			return
		}
		if ct := r.Header.Get("Content-Type"); !hasMediaType(ct, "application/trickle-ice-sdpfrag") {
			httpError(w, http.StatusUnsupportedMediaType, "body must be an SDP fragment (Content-Type: application/trickle-ice-sdpfrag), got %q", ct)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFragBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpError(w, http.StatusRequestEntityTooLarge, "fragment larger than %d bytes", maxFragBytes)
				return
			}
			httpError(w, http.StatusBadRequest, "reading fragment: %v", err)
			return
		}
		frag, err := sdpfrag.Parse(string(body))
		if err != nil {
			httpError(w, http.StatusBadRequest, "%v", err)
			return
		}
		answer, etag, err := ss.peer.patchICE(r.Context(), r.Header.Get("If-Match"), frag, s.eng.cfg.GatherTimeout)
		switch {
		case errors.Is(err, ErrStaleICE):
			httpError(w, http.StatusPreconditionFailed, "%v", err)
		case errors.Is(err, ErrPeerClosed):
			httpError(w, http.StatusNotFound, "participant %s has left", id)
		case err != nil:
			httpError(w, http.StatusBadRequest, "%v", err)
		case answer == "":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("ETag", etag)
			w.Header().Set("Content-Type", "application/trickle-ice-sdpfrag")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, answer)
		}
	}
}

// iceSession is the entity-tag of a peer's current ICE session (RFC 9725
// §4.3.1): it changes with each ICE restart, so candidates trickled for an
// older session are refused. mu serialises the PATCHes.
type iceSession struct {
	mu   sync.Mutex
	etag string
}

// tag is the current entity-tag.
func (s *iceSession) tag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

// newETag makes a strong entity-tag no client can guess ahead.
func newETag() string { return strconv.Quote(rand.Text()) }

// matches reports whether an If-Match field (a list of entity-tags, or
// "*") names etag; weak tags never match (RFC 9110 §13.1.1).
func matches(ifMatch, etag string) bool {
	for _, t := range strings.Split(ifMatch, ",") {
		if t = strings.TrimSpace(t); t == "*" || t == etag {
			return true
		}
	}
	return false
}

// patchICE applies a PATCH's fragment. With If-Match "*" it restarts ICE
// with the fragment's new credentials and candidates and returns ours as
// a fragment with the new entity-tag. Otherwise it adds the fragment's
// candidates to the session If-Match names (none: the current one, for
// clients that keep no tag) and returns no answer.
func (p *Peer) patchICE(ctx context.Context, ifMatch string, frag sdpfrag.Frag, gatherTimeout time.Duration) (answer, etag string, err error) {
	p.ice.mu.Lock()
	defer p.ice.mu.Unlock()
	defer func() {
		if err != nil && p.closing.Load() {
			err = ErrPeerClosed
		}
	}()
	remote := p.pc.RemoteDescription()
	if remote == nil {
		return "", "", ErrPeerClosed
	}
	current := sdpfrag.Ufrag(remote.SDP)
	if strings.TrimSpace(ifMatch) == "*" {
		return p.restartICE(ctx, remote.SDP, current, frag, gatherTimeout)
	}
	if ifMatch != "" && !matches(ifMatch, p.ice.etag) {
		return "", "", fmt.Errorf("%w: If-Match %s, the session's ETag is %s", ErrStaleICE, ifMatch, p.ice.etag)
	}
	if frag.Ufrag != "" && frag.Ufrag != current {
		return "", "", fmt.Errorf("%w: candidates for ice-ufrag %q, the session's is %q (an ICE restart needs If-Match: *)", ErrStaleICE, frag.Ufrag, current)
	}
	for _, m := range frag.Media {
		for _, c := range m.Candidates {
			if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c, SDPMid: &m.Mid}); err != nil {
				return "", "", fmt.Errorf("%w: %s: %v", ErrBadFragment, c, err)
			}
		}
	}
	return "", "", nil
}

// restartICE renegotiates the remote offer with the fragment's
// credentials and candidates, which restarts pion's ICE agent on our side
// too, and returns our new credentials and candidates. Under ice.mu.
func (p *Peer) restartICE(ctx context.Context, offer, current string, frag sdpfrag.Frag, gatherTimeout time.Duration) (string, string, error) {
	switch {
	case frag.Ufrag == "":
		return "", "", fmt.Errorf("%w: an ICE restart needs the new ice-ufrag and ice-pwd", ErrBadFragment)
	case frag.Ufrag == current:
		return "", "", fmt.Errorf("%w: an ICE restart needs new credentials, ice-ufrag %q is the current one", ErrBadFragment, current)
	}
	restarted, err := sdpfrag.Apply(offer, frag)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadFragment, err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: restarted}); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadFragment, err)
	}
	// Gathering started again in SetRemoteDescription: the promise waits
	// for its new candidates.
	gathered := webrtc.GatheringCompletePromise(p.pc)
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		// Back to a stable state, so that a later restart can offer again.
		_ = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		return "", "", fmt.Errorf("ICE restart: %w", err)
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		p.obs.log.Warn("ICE gathering timed out on restart; answering with the candidates so far")
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	ours, err := sdpfrag.Of(p.pc.LocalDescription().SDP)
	if err != nil {
		return "", "", fmt.Errorf("ICE restart: %w", err)
	}
	p.ice.etag = newETag()
	p.obs.log.Info("ICE restarted", "ufrag", frag.Ufrag)
	return ours.String(), p.ice.etag, nil
}
