package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/media"
	"github.com/pion/webrtc/v4"
)

// MaxOfferBytes bounds a join request body; real offers are a few KiB.
const MaxOfferBytes = 1 << 20

// maxNameRunes bounds display names.
const maxNameRunes = 64

var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)

// Participant is a connected participant's transport: a WebRTC *Peer or a
// plain-RTP *RTPLeg. It matches room.Peer method for method; *Peer also
// carries video, *RTPLeg DTMF.
type Participant interface {
	ReadAudio(now time.Time) media.EncodedAudio
	WriteAudio(payload []byte, ts uint32, at time.Time) error
	Close() error
}

// JoinRequest is a negotiated participant handed to Rooms.Join.
type JoinRequest struct {
	Name string
	// Identity is the join token's subject ("" without auth): a second
	// join with it replaces the first.
	Identity string
	// Hidden keeps the participant out of listings (the token's hidden
	// grant: recorders, monitors).
	Hidden bool
	Peer   Participant
	// MustExist refuses the join when the room does not exist yet
	// (plain-RTP legs attach to rooms; they do not create them).
	MustExist bool
	// Kind names the transport in listings: "webrtc", "whip", "whep"
	// (KindWebRTC...) or "rtp".
	Kind string
	// Ready, when set, is closed once the participant's connection is up:
	// until then it holds a place in the room but no codecs or mix slot.
	Ready <-chan struct{}
	// RecvAudioCodec is the MIME type the participant sends us ("" when it
	// sends no audio); SendAudioCodec what we send it ("" for none); the
	// same for video.
	RecvAudioCodec, SendAudioCodec string
	SendAudioClockRate             int
	RecvVideoCodec, SendVideoCodec string
}

// Rooms is what the HTTP API needs of the room layer. Implementations wrap
// ErrNotFound, ErrRoomFull or ErrUnavailable so the right status is chosen.
type Rooms interface {
	Join(room media.RoomID, req JoinRequest) (media.ParticipantID, error)
	Leave(room media.RoomID, id media.ParticipantID) error
	// VideoCodecs are the video codecs the room allows (MIME types), from
	// its options or the defaults for a new room.
	VideoCodecs(room media.RoomID) []string
	// Identity is the identity a participant joined with ("" for none).
	Identity(room media.RoomID, id media.ParticipantID) (string, error)
	// Fail removes a participant whose transport broke (a goroutine of
	// its panicked), counted as a failure.
	Fail(room media.RoomID, id media.ParticipantID, cause error) error
}

// Server serves the HTTP join API, WHIP and WHEP.
type Server struct {
	eng      *Engine
	rooms    Rooms
	door     *frontDoor
	sessions sessions
	log      *slog.Logger
}

// NewServer returns the HTTP API over eng and rooms, behind door.
func NewServer(eng *Engine, rooms Rooms, door FrontDoor) *Server {
	return &Server{eng: eng, rooms: rooms, door: newFrontDoor(door), log: eng.log.With("component", "http")}
}

// Register adds the API's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /rooms/{room}/join", s.handleJoin)
	mux.HandleFunc("DELETE /rooms/{room}/participants/{id}", s.handleLeave)
	mux.HandleFunc("PATCH /rooms/{room}/participants/{id}", s.patchSession(""))
	mux.HandleFunc("POST /rooms/{room}/rtp", s.handleRTPLeg)
	mux.HandleFunc("GET /config", s.handleConfig)
	mux.HandleFunc("GET /readyz", s.handleReady)
	s.registerWHIP(mux)
}

// badRoomName is the reason a room name is refused.
const badRoomName = "bad room name: use 1-64 letters, digits, '.', '_', '~' or '-'"

// httpError writes a one-line plain-text reason.
func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.ReplaceAll(msg, "\n", " ")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	claims, ok := s.door.authorize(w, r, room, auth.GrantUnknown)
	if !ok {
		return
	}
	// A hidden participant (a recorder, a monitor) only receives: what
	// it sent would show on everyone's canvas.
	s.joinWebRTC(w, r, webrtcJoin{room: room, claims: claims, kind: KindWebRTC,
		publish: claims.Grants.Publish && !claims.Grants.Hidden, subscribe: claims.Grants.Subscribe})
}

// Kinds of WebRTC participant, as listings show them.
const (
	KindWebRTC = "webrtc" // the join API (the web page)
	KindWHIP   = "whip"   // a WHIP publisher: it only sends
	KindWHEP   = "whep"   // a WHEP viewer: it only receives
)

// webrtcJoin is one request to add a WebRTC participant, its token
// checked: what the participant may do and how it is listed.
type webrtcJoin struct {
	room               string
	claims             auth.Claims
	kind               string
	publish, subscribe bool
}

// sessionPath is the participant's session URL (its Location): WHIP and
// WHEP sessions live under their endpoint, so a proxy that forwards
// /whip/ and /whep/ forwards their PATCH and DELETE too.
func (j webrtcJoin) sessionPath(id media.ParticipantID) string {
	room, pid := url.PathEscape(j.room), url.PathEscape(string(id))
	if j.kind == KindWebRTC {
		return "/rooms/" + room + "/participants/" + pid
	}
	return "/" + j.kind + "/" + room + "/" + pid
}

// joinWebRTC negotiates the request's offer within what j allows and adds
// the participant to the room: 201 with the answer, the session URL, its
// entity-tag and the ICE servers, or a 4xx with the reason.
func (s *Server) joinWebRTC(w http.ResponseWriter, r *http.Request, j webrtcJoin) {
	if !roomIDPattern.MatchString(j.room) {
		httpError(w, http.StatusBadRequest, badRoomName)
		return
	}
	if !j.publish && !j.subscribe {
		httpError(w, http.StatusForbidden, "the token grants neither publish nor subscribe (a hidden participant only receives)")
		return
	}
	if !s.door.admit(w, r) {
		return
	}
	name := r.URL.Query().Get("name")
	if j.claims.Name != "" {
		name = j.claims.Name // the token's name is the one its holder was given
	}
	if err := checkName(name); err != nil {
		httpError(w, http.StatusBadRequest, "bad name: %v", err)
		return
	}
	// WHIP and WHEP require the type (RFC 9725); the join API also
	// takes a bare body.
	if ct := r.Header.Get("Content-Type"); !hasMediaType(ct, "application/sdp") && (ct != "" || j.kind != KindWebRTC) {
		httpError(w, http.StatusUnsupportedMediaType, "body must be an SDP offer (Content-Type: application/sdp), got %q", ct)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOfferBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "offer larger than %d bytes", MaxOfferBytes)
			return
		}
		httpError(w, http.StatusBadRequest, "reading offer: %v", err)
		return
	}
	if _, err := parseOffer(string(body)); err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	sdpOffer, err := restrictOffer(string(body), j.publish, j.subscribe)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	offer, err := parseOffer(sdpOffer)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	room := media.RoomID(j.room)
	videoCodec := offer.chooseVideoCodec(s.rooms.VideoCodecs(room))
	peer, answer, err := s.eng.negotiate(r.Context(), sdpOffer, offer, videoCodec)
	if err != nil {
		httpError(w, http.StatusBadRequest, "cannot answer offer: %v", err)
		return
	}
	req := JoinRequest{Name: name, Identity: j.claims.Identity, Hidden: j.claims.Grants.Hidden, Peer: peer, Kind: j.kind, Ready: peer.Connected()}
	if sends(offer.audioDir) {
		req.RecvAudioCodec = webrtc.MimeTypeOpus
	}
	if receives(offer.audioDir) {
		req.SendAudioCodec, req.SendAudioClockRate = webrtc.MimeTypeOpus, 48000
	}
	if videoCodec != "" && (sends(offer.videoDir) || sends(offer.screenDir)) {
		// A participant without a camera may still share its screen.
		req.RecvVideoCodec = videoCodec
	}
	if videoCodec != "" && receives(offer.videoDir) {
		req.SendVideoCodec = videoCodec
	}
	id, err := s.rooms.Join(room, req)
	if err != nil {
		_ = peer.Close()
		s.joinError(w, err)
		return
	}
	s.sessions.add(room, id, j.kind, peer)
	peer.watchConnect(s.eng.cfg.ConnectTimeout)
	peer.setGone(s.goneFunc(room, id))
	for _, ice := range s.iceServers(j.claims.Identity) {
		for _, u := range ice.URLs {
			w.Header().Add("Link", iceServerLink(u, ice))
		}
	}
	w.Header().Set("Location", j.sessionPath(id))
	w.Header().Set("ETag", peer.ice.tag())
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// hasMediaType reports whether a Content-Type header names want (its
// parameters, e.g. a charset, aside).
func hasMediaType(header, want string) bool {
	mt, _, err := mime.ParseMediaType(header)
	return err == nil && mt == want
}

// iceServerLink formats one Link header as RFC 9725 §4.6 does for WHIP,
// with TURN credentials as parameters.
func iceServerLink(u string, ice ICEServer) string {
	link := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
	if ice.Username != "" {
		link += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", ice.Username, ice.Credential)
	}
	return link
}

// maxLegRequest bounds a leg request's JSON body.
const maxLegRequest = 64 << 10

// legRequest is the body of POST /rooms/{room}/rtp.
type legRequest struct {
	Remote string `json:"remote"`
	Codec  string `json:"codec"`
	Name   string `json:"name,omitempty"`
}

// handleRTPLeg attaches a plain-RTP audio leg to an existing room; it
// needs the admin grant.
func (s *Server) handleRTPLeg(w http.ResponseWriter, r *http.Request) {
	roomID := r.PathValue("room")
	if _, ok := s.door.authorize(w, r, roomID, auth.GrantAdmin); !ok {
		return
	}
	if !roomIDPattern.MatchString(roomID) {
		httpError(w, http.StatusBadRequest, badRoomName)
		return
	}
	if !s.door.admit(w, r) {
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLegRequest))
	dec.DisallowUnknownFields()
	var req legRequest
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "request larger than %d bytes", maxLegRequest)
			return
		}
		httpError(w, http.StatusBadRequest, "bad JSON: %v (want {\"remote\":\"ip:port\",\"codec\":\"PCMU\"|\"PCMA\"|\"opus\"})", err)
		return
	}
	id, local, err := s.CreateRTPLeg(media.RoomID(roomID), req.Remote, req.Codec, req.Name)
	if err != nil {
		if errors.Is(err, ErrLegForbidden) {
			httpError(w, http.StatusForbidden, "%v", err)
			return
		}
		if errors.Is(err, ErrBadLeg) {
			httpError(w, http.StatusBadRequest, "%v", err)
			return
		}
		s.joinError(w, err)
		return
	}
	w.Header().Set("Location", "/rooms/"+url.PathEscape(roomID)+"/participants/"+url.PathEscape(string(id)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": string(id), "local": local})
}

// CreateRTPLeg opens a plain-RTP leg to remote and joins it to an existing
// room, returning its participant ID and the address the device should
// send to. Bad requests wrap ErrBadLeg, a remote the policy refuses also
// ErrLegForbidden, and a room at its cap of legs ErrRoomFull.
func (s *Server) CreateRTPLeg(room media.RoomID, remote, codecName, name string) (media.ParticipantID, string, error) {
	if err := checkName(name); err != nil {
		return "", "", fmt.Errorf("%w: name: %v", ErrBadLeg, err)
	}
	leg, local, err := s.eng.newRTPLeg(room, remote, codecName)
	if err != nil {
		return "", "", err
	}
	if name == "" {
		name = "RTP " + remote
	}
	id, err := s.rooms.Join(room, JoinRequest{
		Name: name, Peer: leg, MustExist: true, Kind: "rtp",
		RecvAudioCodec: leg.codec.mime, SendAudioCodec: leg.codec.mime, SendAudioClockRate: leg.codec.clockRate,
	})
	if err != nil {
		_ = leg.Close()
		return "", "", err
	}
	leg.start(s.goneFunc(room, id))
	return id, local, nil
}

// joinError answers a failed Rooms.Join.
func (s *Server) joinError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, ErrRoomFull):
		httpError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, ErrUnavailable):
		retryAfter(w, drainRetryAfter)
		httpError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		httpError(w, http.StatusBadRequest, "cannot join: %v", err)
	}
}

// handleConfig tells the web client which ICE servers to use: STUN to
// anyone, TURN (with its credentials) only to a valid token's holder, or
// to anyone when auth is off.
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	identity, withTURN := "", true
	if s.door.Auth != nil {
		c, err := s.door.claims(r)
		identity, withTURN = c.Identity, err == nil
	}
	servers := []ICEServer{}
	for _, ice := range s.iceServers(identity) {
		if withTURN || !isTURN(ice) {
			servers = append(servers, ice)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"iceServers": servers})
}

// iceServers are the ICE servers for a client: TURN servers carry
// ephemeral credentials for identity when a TURN secret is configured.
func (s *Server) iceServers(identity string) []ICEServer {
	servers := s.eng.ICEServers()
	if len(s.door.TURNSecret) == 0 {
		return servers
	}
	out := make([]ICEServer, 0, len(servers))
	cred := auth.NewTURNCredentials(s.door.TURNSecret, identity, s.door.Now(), s.door.TURNTTL)
	for _, ice := range servers {
		if isTURN(ice) {
			ice.Username, ice.Credential = cred.Username, cred.Password
		}
		out = append(out, ice)
	}
	return out
}

// isTURN reports whether any of the server's URLs is a TURN URL.
func isTURN(ice ICEServer) bool {
	for _, u := range ice.URLs {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			return true
		}
	}
	return false
}

func checkName(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("not UTF-8")
	}
	if utf8.RuneCountInString(name) > maxNameRunes {
		return fmt.Errorf("longer than %d characters", maxNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("control characters")
		}
	}
	return nil
}

// negotiate creates a PeerConnection for offer and returns it with the
// complete answer (ICE gathered: the join API does not trickle). Video, if
// any, is narrowed to videoCodec in both directions ("" rejects it).
func (e *Engine) negotiate(ctx context.Context, sdpOffer string, offer offerInfo, videoCodec string) (*Peer, string, error) {
	obs := e.observer(e.log)
	in, err := newAudioIn(e.cfg.Jitter, obs)
	if err != nil {
		return nil, "", err
	}
	pc, bwe, sent, err := e.newPeerConnection()
	if err != nil {
		return nil, "", err
	}
	peer := newPeer(pc, in, obs)
	if videoCodec != "" && sends(offer.screenDir) {
		peer.enableScreen() // before any track can arrive
	}
	peer.link.bwe, peer.link.departures = bwe, sent
	peer.ice.etag = newETag()
	fail := func(err error) (*Peer, string, error) {
		_ = peer.Close()
		return nil, "", err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdpOffer}); err != nil {
		return fail(err)
	}
	if err := opusFirst(pc); err != nil {
		return fail(err)
	}
	if receives(offer.audioDir) {
		if err := peer.attachAudioOut(offer.audioRED); err != nil {
			return fail(err)
		}
	}
	if err := narrowVideo(pc, videoCodec); err != nil {
		return fail(err)
	}
	if videoCodec != "" && receives(offer.videoDir) {
		if err := peer.attachVideoOut(codecParams(videoCodec)[0].RTPCodecCapability); err != nil {
			return fail(err)
		}
	}
	peer.startReports()
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	timer := time.NewTimer(e.cfg.GatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		e.log.Warn("ICE gathering timed out; answering with the candidates so far")
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	return peer, pc.LocalDescription().SDP, nil
}

// narrowVideo limits the offer's video m-lines to one codec, so the client
// sends what we decode for it and receives what its view is encoded in;
// with no codec the video is rejected.
func narrowVideo(pc *webrtc.PeerConnection, videoCodec string) error {
	for _, t := range pc.GetTransceivers() {
		if t.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		if videoCodec == "" {
			if err := t.Stop(); err != nil {
				return err
			}
			continue
		}
		// Narrow to the codec as negotiated from the offer: its payload
		// types are the offerer's, which need not match ours (a VP8
		// offered on the PT we registered H.264 under, say).
		var keep []webrtc.RTPCodecParameters
		for _, c := range t.Receiver().GetParameters().Codecs {
			if strings.EqualFold(c.MimeType, videoCodec) {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("%s was offered but not negotiated", videoCodec)
		}
		if err := t.SetCodecPreferences(keep); err != nil {
			return err
		}
	}
	return nil
}
