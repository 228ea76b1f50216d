package transport

import (
	"net/http"

	"github.com/mcu-project/mcu/auth"
)

// WHIP (RFC 9725) publishes into a room and WHEP views it, each with one
// POST of an SDP offer: a WHIP publisher is a participant that only sends
// (a tile and a voice in the mix), a WHEP viewer one that only receives
// the room's canvas and full mix (no tile, listed as a listener), sharing
// the encoders of everyone who sees the same. Their session URLs,
// /whip/{room}/{id} and /whep/{room}/{id}, take PATCH (trickle ICE, ICE
// restart) and DELETE (200).
//
// A web page on another origin may use both: preflights are answered
// without a token, and every answer, errors included, lets the page read
// it. Any origin is allowed: tokens travel as bearer headers, never as
// cookies, so a page can do nothing with the API that its token does not
// allow anyway.

// registerWHIP adds the WHIP and WHEP routes to mux.
func (s *Server) registerWHIP(mux *http.ServeMux) {
	for _, kind := range []string{KindWHIP, KindWHEP} {
		endpoint, session := "/"+kind+"/{room}", "/"+kind+"/{room}/{id}"
		mux.HandleFunc("POST "+endpoint, cors(s.whipHandler(kind)))
		mux.HandleFunc("OPTIONS "+endpoint, cors(preflight(http.MethodPost, "Accept-Post", "application/sdp")))
		mux.HandleFunc(endpoint, cors(notAllowed(http.MethodPost)))
		mux.HandleFunc("PATCH "+session, cors(s.patchSession(kind)))
		mux.HandleFunc("DELETE "+session, cors(func(w http.ResponseWriter, r *http.Request) { s.leave(w, r, kind, http.StatusOK) }))
		mux.HandleFunc("OPTIONS "+session, cors(preflight("PATCH, DELETE", "Accept-Patch", "application/trickle-ice-sdpfrag")))
		mux.HandleFunc(session, cors(notAllowed("PATCH, DELETE")))
	}
}

// whipHandler adds a WHIP publisher (the token needs the publish grant)
// or a WHEP viewer (subscribe): the token is checked first, as for joins.
func (s *Server) whipHandler(kind string) http.HandlerFunc {
	need := auth.GrantSubscribe
	if kind == KindWHIP {
		need = auth.GrantPublish
	}
	return func(w http.ResponseWriter, r *http.Request) {
		room := r.PathValue("room")
		claims, ok := s.door.authorize(w, r, room, need)
		if !ok {
			return
		}
		j := webrtcJoin{room: room, claims: claims, kind: kind, subscribe: kind == KindWHEP}
		// A hidden participant only receives: the join API's rule.
		j.publish = kind == KindWHIP && !claims.Grants.Hidden
		s.joinWebRTC(w, r, j)
	}
}

// cors lets pages on any origin call h and read its answer's headers.
func cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Expose-Headers", "Location, Link, ETag, Accept-Post, Accept-Patch, Retry-After")
		h(w, r)
	}
}

// preflight answers OPTIONS (a CORS preflight, which carries no token)
// with what the resource allows, and what it accepts in the header
// accept names (Accept-Post or Accept-Patch).
func preflight(methods, accept, types string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Allow", methods+", OPTIONS")
		h.Set("Access-Control-Allow-Methods", methods+", OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		h.Set("Access-Control-Max-Age", "86400")
		h.Set(accept, types)
		w.WriteHeader(http.StatusNoContent)
	}
}

// notAllowed answers 405 for the methods a resource does not take.
func notAllowed(methods string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", methods+", OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "%s is not allowed here: use %s", r.Method, methods)
	}
}
