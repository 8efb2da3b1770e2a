package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
)

// Sending limits.
const (
	// requestTimeout bounds one send.
	requestTimeout = 30 * time.Second
	// retryInitial and retryMax bound the back-off between failed sends.
	retryInitial = time.Second
	retryMax     = time.Minute
	// maxAttempts is how many failed sends drop an event.
	maxAttempts = 12
)

// errFinal marks a failure that no retry changes: the cloud answered
// "forbidden...", or the event does not encode.
var errFinal = errors.New("not retried")

// send sends the waiting events, oldest first, until ctx ends (the cloud
// went away or the module stops).
func (r *Recorder) send(ctx context.Context) {
	b := tunnel.Backoff{Initial: retryInitial, Max: retryMax, Jitter: r.opts.Jitter}
	for {
		r.mu.Lock()
		e, ev, version, ok := r.book.next()
		r.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
				continue
			}
		}
		err := r.sendOne(ctx, ev)
		if err != nil && ctx.Err() != nil {
			return // it waits for the next connection
		}
		if !r.settle(e, ev, version, err) {
			b.Reset()
			continue
		}
		if !b.Wait(ctx) {
			return
		}
	}
}

// settle books the outcome of sending ev; retry says to back off before the
// next send.
func (r *Recorder) settle(e *entry, ev corev1.Event, version int, err error) (retry bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.book.sentOK(e, ev, version)
		return false
	case errors.Is(err, errFinal):
		r.book.rejected(e)
		r.log.Warn("dropped an event that cannot be sent", "event", ev.Namespace+"/"+ev.Name, "reason", ev.Reason, "err", err)
		return false
	default:
		if r.book.failed(e, maxAttempts) {
			r.log.Warn("dropped an event after repeated failures", "event", ev.Namespace+"/"+ev.Name, "reason", ev.Reason, "attempts", maxAttempts, "err", err)
		} else {
			r.log.Debug("event not sent", "event", ev.Namespace+"/"+ev.Name, "err", err)
		}
		return true
	}
}

// sendOne asks the cloud to record ev.
func (r *Recorder) sendOne(ctx context.Context, ev corev1.Event) error {
	ev.APIVersion, ev.Kind = "v1", "Event"
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("%w: encode event: %w", errFinal, err)
	}
	res := message.Resource{Namespace: ev.Namespace, Type: kubemsg.TypeEvent, Name: ev.Name}
	req := message.New(Name, r.opts.Hub, message.OpInsert, res, body)
	req.Route.Group = kubemsg.Group
	resp, err := r.opts.Bus.SendSync(ctx, req, requestTimeout)
	if err != nil {
		return fmt.Errorf("send event: %w", err)
	}
	switch resp.Route.Operation {
	case message.OpResponse:
		return nil
	case message.OpError:
		text := string(resp.Content)
		if strings.HasPrefix(text, "forbidden") {
			return fmt.Errorf("%w: %s", errFinal, text)
		}
		return fmt.Errorf("the cloud answered: %s", text)
	default:
		return fmt.Errorf("unexpected answer %q", resp.Route.Operation)
	}
}
