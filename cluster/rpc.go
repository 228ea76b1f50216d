package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
)

// RemoteError is an error another node answered a request with; Code is
// the serving side's own (the gRPC layer puts its status code there).
type RemoteError struct {
	Code    int
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Request asks node to serve method with body (Config.Serve there) and
// returns its answer; the node's own error comes back as a *RemoteError.
func (n *Node) Request(ctx context.Context, node, method string, body []byte) ([]byte, error) {
	if _, err := n.directory(); err != nil {
		return nil, err
	}
	msg := nats.NewMsg(rpcSubject + node)
	msg.Header.Set(methodHeader, method)
	msg.Data = body
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	reply, err := n.nc.RequestMsgWithContext(ctx, msg)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("%w: %s does not answer", ErrUnknownNode, node)
	}
	if err != nil {
		return nil, opErr(fmt.Errorf("node %s: %w", node, err))
	}
	if m := reply.Header.Get(errHeader); m != "" || reply.Header.Get(errCodeHeader) != "" {
		code, _ := strconv.Atoi(reply.Header.Get(errCodeHeader))
		return nil, &RemoteError{Code: code, Message: m}
	}
	return reply.Data, nil
}

// serve answers a request from another node on a goroutine of its own,
// as long as fewer than maxServing are under way.
func (n *Node) serve(msg *nats.Msg) {
	fail := func(code int, err error) {
		r := nats.NewMsg(msg.Reply)
		r.Header.Set(errCodeHeader, strconv.Itoa(code))
		r.Header.Set(errHeader, err.Error())
		_ = msg.RespondMsg(r)
	}
	if n.cfg.Serve == nil {
		fail(0, fmt.Errorf("%w: node %s serves no requests", ErrUnknownNode, n.cfg.ID))
		return
	}
	select {
	case n.serving <- struct{}{}:
	default:
		fail(0, fmt.Errorf("%w: node %s is serving %d requests already", ErrOverloaded, n.cfg.ID, maxServing))
		return
	}
	// Counted under the lock that Close takes to close the node, so that
	// Close's wait never races a request arriving as it unsubscribes.
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		<-n.serving
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		defer func() { <-n.serving }()
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
		defer cancel()
		out, err := n.cfg.Serve(ctx, msg.Header.Get(methodHeader), msg.Data)
		if err != nil {
			var re *RemoteError
			if !errors.As(err, &re) {
				re = &RemoteError{Message: err.Error()}
			}
			fail(re.Code, re)
			return
		}
		_ = msg.Respond(out)
	}()
}
