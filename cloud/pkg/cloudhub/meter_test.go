package cloudhub

import (
	"math"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// TestFrameLenMatchesWire: frameLen is the length of wire's encoding, at
// every varint size boundary of the fields.
func TestFrameLenMatchesWire(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n/2) + strings.Repeat("x", n%2) }
	msgs := []message.Message{
		{},
		{Header: message.Header{Timestamp: -1, Seq: 1}},
		{Header: message.Header{Timestamp: math.MinInt64, Seq: math.MaxUint64, Sync: true}},
		{Header: message.Header{Timestamp: 1700000000000, Seq: 127, ID: "id", ParentID: "p", ResourceVersion: "42"}},
		{Header: message.Header{Seq: 128}, Content: make([]byte, 127)},
		{Header: message.Header{Seq: 16383}, Content: make([]byte, 128)},
		{Header: message.Header{Seq: 16384}, Content: make([]byte, 16384)},
		{
			Header: message.Header{Timestamp: 63, ID: long(127), ParentID: long(128)},
			Route: message.Route{Source: "cloudhub", Destination: "metamanager", Group: "meta", Operation: message.OpUpdate,
				Resource: message.Resource{Namespace: "default", Type: "configmap", Name: long(200)}},
			Content: []byte(`{"metadata":{"uid":"u"}}`),
		},
	}
	for i, m := range msgs {
		b, err := wire.Codec{}.Encode(m)
		if err != nil {
			t.Fatalf("message %d: encode: %v", i, err)
		}
		if got := frameLen(&m); got != len(b) {
			t.Errorf("message %d: frameLen %d; wire encodes %d bytes", i, got, len(b))
		}
	}
}
