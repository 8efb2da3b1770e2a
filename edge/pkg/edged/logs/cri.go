package logs

import (
	"bytes"
	"time"
)

// stream is the stream an entry was written to, an index into per-stream
// state.
type stream int

const (
	stdout stream = iota
	stderr
	numStreams
)

// entry is one parsed line of a CRI log file. Its slices point into the
// line it was parsed from.
type entry struct {
	// timestamp is the time as written in the file (RFC 3339 with
	// nanoseconds); time is its parsed value.
	timestamp []byte
	time      time.Time
	stream    stream
	// partial is set by the tag P: content continues in the stream's next
	// entry, without a newline between.
	partial bool
	content []byte
}

// parseEntry parses one line of a CRI log file, without its newline:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <tags> <content>
//
// tags are separated by ':' and the first is F (a full line) or P (a
// partial one). An entry without the space and content is taken as empty
// content. It reports false for a line that is not in this format. Given
// only a line's first bytes (the backward tail scan keeps no more), it
// parses all but the content.
func parseEntry(line []byte) (entry, bool) {
	e, rest, ok := parseHeader(line)
	if !ok {
		return entry{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(e.timestamp))
	if err != nil {
		return entry{}, false
	}
	e.time = t
	e.content = rest
	return e, true
}

// parseHeader parses the timestamp (unchecked), stream and tags of a line
// and returns the content after them.
func parseHeader(line []byte) (entry, []byte, bool) {
	var e entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(ts) == 0 {
		return entry{}, nil, false
	}
	e.timestamp = ts
	name, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return entry{}, nil, false
	}
	switch string(name) {
	case "stdout":
		e.stream = stdout
	case "stderr":
		e.stream = stderr
	default:
		return entry{}, nil, false
	}
	tags, content, _ := bytes.Cut(rest, []byte{' '})
	first, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(first) {
	case "F":
	case "P":
		e.partial = true
	default:
		return entry{}, nil, false
	}
	return e, content, true
}
