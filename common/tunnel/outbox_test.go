package tunnel

import (
	"testing"

	"github.com/tether-edge/tether/common/message"
)

func TestTakeFront(t *testing.T) {
	q := []message.Message{{Header: message.Header{Seq: 1}}, {Header: message.Header{Seq: 2}}, {Header: message.Header{Seq: 3}}}
	buf := TakeFront(nil, &q, 2)
	if len(buf) != 2 || buf[0].Header.Seq != 1 || buf[1].Header.Seq != 2 || len(q) != 1 || q[0].Header.Seq != 3 {
		t.Fatalf("took %v, left %v", buf, q)
	}
	buf = TakeFront(buf, &q, 5)
	if len(buf) != 3 || len(q) != 0 {
		t.Fatalf("took %v, left %v", buf, q)
	}
	if buf = TakeFront(buf, &q, -1); len(buf) != 3 {
		t.Fatalf("a negative count took %d", len(buf)-3)
	}
}

func TestWakeupCoalesces(t *testing.T) {
	w := NewWakeup()
	w.Wake()
	w.Wake() // must not block
	<-w
	select {
	case <-w:
		t.Fatal("two wakes before a look were delivered twice")
	default:
	}
}
