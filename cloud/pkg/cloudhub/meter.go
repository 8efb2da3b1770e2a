package cloudhub

import (
	"math/bits"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
)

// meteredConn counts what crosses one session's connection, whichever its
// transport: every message read and every message written (keepalives,
// acks and the manifest included), and their wire frame bytes.
type meteredConn struct {
	tunnel.Conn
	m *Metrics
}

func (c *meteredConn) Read() (message.Message, error) {
	msg, err := c.Conn.Read()
	if err == nil {
		c.m.messagesIn.Inc()
		c.m.bytesIn.Add(float64(frameLen(&msg)))
	}
	return msg, err
}

// Write counts msgs once the conn has taken them all; a failed write ends
// the session, and what part of it left is unknown.
func (c *meteredConn) Write(msgs []message.Message) error {
	if err := c.Conn.Write(msgs); err != nil {
		return err
	}
	n := 0
	for i := range msgs {
		n += frameLen(&msgs[i])
	}
	c.m.messagesOut.Add(float64(len(msgs)))
	c.m.bytesOut.Add(float64(n))
	return nil
}

// frameLen is the size of m's frame in common/wire's encoding: the 4-byte
// length prefix, version and flags bytes, varint timestamp and sequence,
// eleven length-prefixed strings and the length-prefixed content.
// TestFrameLenMatchesWire holds it to wire.Codec.Encode.
func frameLen(m *message.Message) int {
	n := 4 + 2 + varintLen(m.Header.Timestamp) + uvarintLen(m.Header.Seq)
	for _, s := range [...]string{
		m.Header.ID, m.Header.ParentID, m.Header.ResourceVersion,
		m.Route.Source, m.Route.Destination, m.Route.Group, string(m.Route.Operation),
		m.Route.Resource.Node, m.Route.Resource.Namespace, m.Route.Resource.Type, m.Route.Resource.Name,
	} {
		n += uvarintLen(uint64(len(s))) + len(s)
	}
	return n + uvarintLen(uint64(len(m.Content))) + len(m.Content)
}

// uvarintLen is the size of binary.AppendUvarint(nil, x).
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// varintLen is the size of binary.AppendVarint(nil, x).
func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}
