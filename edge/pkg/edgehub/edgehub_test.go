package edgehub

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
)

func status(name string, ts int64) message.Message {
	m := message.New("probe", Name, message.OpUpdate, message.Resource{Namespace: "default", Type: "podstatus", Name: name}, nil)
	m.Header.Timestamp = ts
	return m
}

// The token bucket holds statuses back; acks and replies pass regardless.
func TestPullRespectsTheTokenBucket(t *testing.T) {
	l := newLink(0, rate.NewLimiter(rate.Every(time.Hour), 3))
	for i := range 5 {
		l.putStatus(status(string(rune('a'+i)), 1))
	}
	l.connect()
	if _, err := l.checkSync(1); err != nil {
		t.Fatal(err)
	}
	l.ackSync()
	l.reply(message.New("probe", "source", message.OpResponse, message.Resource{}, nil))

	got := l.Pull(nil, 100)
	var acks, replies, statuses int
	for _, m := range got {
		switch {
		case m.Route.Operation == objsync.OpAck:
			acks++
		case m.Route.Operation == message.OpResponse:
			replies++
		default:
			statuses++
		}
	}
	if acks != 1 || replies != 1 || statuses != 3 {
		t.Fatalf("first pull: %d acks, %d replies, %d statuses; want 1, 1 and the burst of 3", acks, replies, statuses)
	}
	if more := l.Pull(nil, 100); len(more) != 0 {
		t.Fatalf("second pull gave %d messages with an empty bucket", len(more))
	}
	l.disconnect()
}

// Statuses are kept while offline and the older of two never wins.
func TestStatusesKeptWhileOffline(t *testing.T) {
	l := newLink(0, rate.NewLimiter(rate.Inf, 1))
	l.putStatus(status("web", 20))
	l.putStatus(status("web", 10)) // older: dropped
	if n := l.pendingStatuses(); n != 1 {
		t.Fatalf("%d statuses kept, want 1", n)
	}
	l.connect()
	got := l.Pull(nil, 10)
	if len(got) != 1 || got[0].Header.Timestamp != 20 || got[0].Header.Seq != 1 {
		t.Fatalf("after connect: %+v, want the newer status as seq 1", got)
	}
	if err := l.ackStatuses(1); err != nil || l.pendingStatuses() != 0 {
		t.Fatalf("ack: %v, %d still pending", err, l.pendingStatuses())
	}
}
