package pionclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mcu-project/mcu/internal/sdpfrag"
	"github.com/pion/webrtc/v4"
)

// RestartICE restarts ICE as a browser does after its network changed
// (RFC 9725 §4.3.2): an offer with new credentials, whose fragment goes to
// the session URL in a PATCH with If-Match: *, and the fragment answered
// (the server's new credentials and candidates) applied to the server's
// answer. With Via, the fragment sent has no candidates and the one
// answered passes through Via, as the join's answer did.
func (c *Client) RestartICE(ctx context.Context) error {
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	frag, err := sdpfrag.Of(c.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	if c.opts.Via != nil {
		frag.Media[0].Candidates = nil
	}
	res, body, err := c.opts.do(ctx, http.MethodPatch, c.opts.BaseURL+c.Location, "application/trickle-ice-sdpfrag", frag.String(), http.Header{"If-Match": {"*"}})
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("ICE restart: %s: %s", res.Status, strings.TrimSpace(body))
	}
	if c.opts.Via != nil {
		if body, err = c.opts.Via(body); err != nil {
			return err
		}
	}
	theirs, err := sdpfrag.Parse(body)
	if err != nil {
		return err
	}
	answer, err := sdpfrag.Apply(c.pc.RemoteDescription().SDP, theirs)
	if err != nil {
		return err
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	c.ETag = res.Header.Get("ETag")
	return nil
}
