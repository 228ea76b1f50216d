package pionclient

import (
	"github.com/pion/webrtc/v4"
)

// addScreen adds the screen-share track (Options.Screen) on a second video
// m-line, send only, in the camera's codec.
func (c *Client) addScreen(pc *webrtc.PeerConnection, o *VideoOptions) (*webrtc.TrackLocalStaticSample, *webrtc.RTPSender, error) {
	if o.Width == 0 {
		o.Width, o.Height = 1920, 1080
	}
	if o.FPS == 0 {
		o.FPS = 5
	}
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	track, err := webrtc.NewTrackLocalStaticSample(cameraCapability(c.opts.VideoCodec), "screen", c.opts.Name+"-screen")
	if err != nil {
		return nil, nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, nil, err
	}
	if o.Loop > 0 {
		if c.screen.loop, err = sharedLoop(track.Codec().MimeType, *o); err != nil {
			return nil, nil, err
		}
	}
	return track, tr.Sender(), nil
}

// startSending starts sending a video track (the camera or the screen)
// and reading the server's feedback on it.
func (c *Client) startSending(track *webrtc.TrackLocalStaticSample, sender *webrtc.RTPSender, o VideoOptions, st *sendState) {
	st.sending.Store(true)
	if c.startWorker() {
		go c.sendVideo(track, o, st)
	}
	if c.startWorker() {
		go c.readSenderRTCP(sender, st.noteKeyFrameRequest)
	}
}

// StopScreen stops sending the screen share (the track stays negotiated,
// as a browser's after replaceTrack(null)).
func (c *Client) StopScreen() { c.screen.sending.Store(false) }
