// Package wire encodes a message.Message as one binary frame for the tunnel
// between cloudcore and edgecore (WebSocket binary messages, QUIC or TCP
// streams).
//
// # Frame layout, version 2
//
// A frame is a 4-byte big-endian length N, then N bytes: a version byte and
// the body. All fields are in a fixed order (stringFields in fields.go is the
// one statement of it); there are no tags.
//
//	offset  size   field
//	0       4      N: length of what follows, uint32 big-endian; N <= MaxFrameSize
//	4       1      version, 2
//	5       1      flags: bit 0 = Header.Sync; bits 1-7 must be 0
//	6       1..10  Header.Timestamp, zig-zag varint (binary.AppendVarint)
//	...     1..10  Header.Seq, uvarint (binary.AppendUvarint)
//	        str    Header.ID
//	        str    Header.ParentID
//	        str    Header.ResourceVersion
//	        str    Route.Source
//	        str    Route.Destination
//	        str    Route.Group
//	        str    Route.Operation
//	        str    Route.Resource.Node
//	        str    Route.Resource.Namespace  (empty = cluster scope; never "null")
//	        str    Route.Resource.Type
//	        str    Route.Resource.Name
//	        str    Content, whose end must be the end of the frame
//
//	str = uvarint length L (binary.AppendUvarint), then L bytes
//
// The resource travels as its four segments, not as its String form: that
// needs no formatting, splitting or escaping, and the segments decode into
// the same single allocation as the other strings. A decoder still checks
// them with Resource.Validate, so every resource that arrives has a string
// form that parses back to it. The codec carries Node as given; cloudhub
// strips it (Resource.WithoutNode) before sending to the edge, which keeps
// the design's rule that resources on the wire are in edge form.
//
// The smallest frame (every field empty) is 20 bytes: 4 + 1 + 1 + 1 + 1 + 12.
// Example: a message with only Sync, Timestamp 1, Seq 7 and Operation "query":
//
//	00 00 00 15  02  01  02  07  00 00 00 00 00 00  05 71 75 65 72 79  00 00 00 00  00
//	N=21         ver flg ts  seq ID..Group (6 empty) "query"            Node..Name   Content
//
// Version 1 was the same without Header.Seq; it is not read (there were no
// deployed peers), so a v1 frame is ErrUnsupportedVersion.
//
// # Canonical form
//
// Every message has exactly one encoding, and a decoder accepts only that
// one: varints must be minimal, unknown flag bits are an error and nothing
// may follow Content. So Encode(Decode(b)) == b for every b that decodes, and
// empty Content decodes as nil. A new field or flag means a new version.
//
// # Errors
//
// Decoding never panics and never allocates more than the bytes it was given
// (or, for Reader, the bytes that actually arrived). Errors wrap one of
// ErrFrameTooLarge, ErrUnsupportedVersion or ErrMalformed (test with
// errors.Is) and say which field failed at which offset. Per the design, the
// tunnel closes a connection whose frame fails to decode, with the error as
// the logged reason; Reader therefore makes every error sticky.
//
// # Memory
//
// Decode returns a Message whose Content aliases the frame passed in (no
// copy) and whose strings share one fresh allocation; the caller must not
// modify or reuse the frame while the message is alive, or must clone
// Content. Reader and ReadFrame read each frame into a fresh buffer that no
// one else holds, so their messages alias nothing of the caller's. Encoding allocates
// nothing when appending to a buffer with room (AppendFrame(buf[:0], m)); a
// Writer does that for a stream.
//
// # Concurrency
//
// Codec is a plain value, safe to use from any number of goroutines. A
// Reader or Writer belongs to one goroutine at a time, like the stream under
// it.
package wire
