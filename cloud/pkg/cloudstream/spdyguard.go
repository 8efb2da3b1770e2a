package cloudstream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/moby/spdystream/spdy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// A spdyGuard makes a lost tunnel fail an exec or attach instead of ending
// it as a success.
//
// kube-apiserver speaks SPDY/3.1 remotecommand to a kubelet: the result of
// the command comes on the error stream (a stream the client creates with
// the header streamtype: error), and a connection that closes with nothing
// on it decodes as success. So when the edge's side of an upgraded
// connection ends because its tunnel session is gone (a read fails with
// errTunnelLost) and the edge has sent neither data nor FIN on the error
// stream, the guard gives kube-apiserver one DATA frame with FIN on the
// error stream that says so (a metav1.Status Failure, InternalError, for
// remotecommand v4 and v5; the plain message for older versions), then the
// read's error as before.
//
// The guard wraps the upgraded body, so both directions start at the first
// frame:
//
//   - Write (kube-apiserver → edge) passes every byte on unchanged. Until
//     the error stream's SYN_STREAM has gone by, it also parses the frames
//     (one framer sees every control frame, since their header blocks share
//     one zlib stream) before passing them on, so the ID is known before the
//     edge can answer on the stream.
//   - Read (edge → kube-apiserver) hands out the edge's bytes unchanged, but
//     only those of complete frames: a partial frame is held until its rest
//     arrives, so that the injected frame starts on a frame boundary. On a
//     lost tunnel the partial frame is dropped; on any other end it is
//     handed out, then the error.
//   - Anything that does not parse as SPDY/3 (or a control frame larger
//     than maxGuardedControlFrame) turns the guard off: from then on bytes
//     pass both ways untouched and nothing is injected.
//
// One goroutine may Read while another Writes (the proxy's two copiers);
// Read and Write are each not safe for concurrent use with themselves.
type spdyGuard struct {
	edge     io.ReadWriteCloser
	node     string
	protocol string // the remotecommand version the edge chose
	log      *slog.Logger

	// mu guards errStream and off, shared by Read and Write.
	mu sync.Mutex
	// errStream is the error stream's ID; 0 until its SYN_STREAM is seen.
	errStream uint32
	// off is set when a frame does not parse: pass through, never inject.
	off bool

	// syn is Write's parser, used until errStream is known.
	syn *synParser

	// Read's state. buf[lo:ready] are bytes of complete frames not yet
	// handed out, buf[ready:hi] the start of an incomplete frame.
	buf           []byte
	lo, ready, hi int
	// errData is set when the edge sent data or FIN on the error stream.
	errData bool
	// readErr is the edge's read error, once it came.
	readErr  error
	injected bool
}

const (
	// spdyHeaderLen is the length of every SPDY frame header.
	spdyHeaderLen = 8
	// guardReadSize is the read buffer's initial size.
	guardReadSize = 32 << 10
	// maxGuardedControlFrame bounds the control frames Write buffers to
	// parse; kubelet clients send a few hundred bytes.
	maxGuardedControlFrame = 64 << 10
)

// guardSPDY returns res's upgraded body wrapped in a spdyGuard when res is
// an exec or attach that switched to SPDY/3.1; otherwise the body as is.
func guardSPDY(res *http.Response, node string, log *slog.Logger) io.ReadCloser {
	path := res.Request.URL.Path
	if res.StatusCode != http.StatusSwitchingProtocols ||
		!strings.EqualFold(res.Header.Get(httpstream.HeaderUpgrade), "SPDY/3.1") ||
		!(strings.HasPrefix(path, "/exec/") || strings.HasPrefix(path, "/attach/")) {
		return res.Body
	}
	rwc, ok := res.Body.(io.ReadWriteCloser)
	if !ok {
		return res.Body
	}
	return newSPDYGuard(rwc, node, res.Header.Get(httpstream.HeaderProtocolVersion), log)
}

func newSPDYGuard(edge io.ReadWriteCloser, node, protocol string, log *slog.Logger) *spdyGuard {
	g := &spdyGuard{edge: edge, node: node, protocol: protocol, log: log}
	syn, err := newSynParser()
	if err != nil {
		g.off = true
	}
	g.syn = syn
	return g
}

// Close closes the edge's side.
func (g *spdyGuard) Close() error { return g.edge.Close() }

// Write looks for the error stream in b, then passes b to the edge.
func (g *spdyGuard) Write(b []byte) (int, error) {
	g.mu.Lock()
	if !g.off && g.errStream == 0 {
		id, err := g.syn.feed(b)
		switch {
		case err != nil:
			g.off = true
			g.log.Debug("exec stream not guarded: kube-apiserver's frames do not parse", "node", g.node, "err", err)
		case id != 0:
			g.errStream = id
			g.syn = nil
		}
	}
	g.mu.Unlock()
	return g.edge.Write(b)
}

// Read hands out the edge's complete frames, then what ends the stream.
func (g *spdyGuard) Read(p []byte) (int, error) {
	for g.lo == g.ready {
		if g.readErr != nil {
			if err := g.end(); err != nil {
				return 0, err
			}
			continue
		}
		g.fill()
	}
	n := copy(p, g.buf[g.lo:g.ready])
	g.lo += n
	return n, nil
}

// fill reads once from the edge into the room after the incomplete frame,
// first moving that frame to the front of a buffer that can hold all of
// it when the room is short.
func (g *spdyGuard) fill() {
	if g.ready == g.hi {
		g.lo, g.ready, g.hi = 0, 0, 0
	}
	need := guardReadSize
	if g.hi-g.ready >= spdyHeaderLen {
		need = max(need, spdyHeaderLen+parseFrameHeader(g.buf[g.ready:g.hi]).length)
	}
	if g.ready+need > len(g.buf) {
		pending := g.buf[g.ready:g.hi]
		if len(g.buf) < need {
			g.buf = append(make([]byte, 0, need), pending...)[:need]
		} else {
			copy(g.buf, pending)
		}
		g.lo, g.ready, g.hi = 0, 0, len(pending)
	}
	n, err := g.edge.Read(g.buf[g.hi:])
	g.hi += n
	g.scan()
	if err != nil {
		g.readErr = err
	}
}

// scan moves ready past every complete frame, noting the edge's end of the
// error stream.
func (g *spdyGuard) scan() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.off && g.hi-g.ready >= spdyHeaderLen {
		h := parseFrameHeader(g.buf[g.ready:g.hi])
		if h.control && h.version != spdy.Version {
			g.off = true
			g.log.Debug("exec stream not guarded: the edge's frames do not parse", "node", g.node, "version", h.version)
			break
		}
		size := spdyHeaderLen + h.length
		if g.hi-g.ready < size {
			return
		}
		if !h.control && h.stream == g.errStream && (h.length > 0 || h.flags&byte(spdy.DataFlagFin) != 0) {
			g.errData = true
		}
		g.ready += size
	}
	if g.off {
		g.ready = g.hi
	}
}

// end runs once the edge's read failed and every complete frame was handed
// out: it injects the failure, or releases the incomplete frame, or returns
// the error.
func (g *spdyGuard) end() error {
	inject := g.shouldInject()
	switch {
	case inject:
		g.injected = true
		g.buf = g.failureFrame()
		g.lo, g.ready, g.hi = 0, len(g.buf), len(g.buf)
		g.log.Info("exec stream cut: stream tunnel lost; kube-apiserver is told the command failed",
			"node", g.node, "err", g.readErr)
		return nil
	case g.ready < g.hi:
		g.ready = g.hi
		return nil
	}
	return g.readErr
}

func (g *spdyGuard) shouldInject() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.off && !g.injected && g.errStream != 0 && !g.errData && errors.Is(g.readErr, errTunnelLost)
}

// failureFrame is a DATA frame with FIN on the error stream whose payload
// tells the remotecommand client that the command failed.
func (g *spdyGuard) failureFrame() []byte {
	msg := fmt.Sprintf("stream tunnel to node %s lost: %v", g.node, g.readErr)
	payload := []byte(msg)
	if g.protocol == remotecommand.StreamProtocolV4Name || g.protocol == remotecommand.StreamProtocolV5Name {
		st := metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure,
			Reason:   metav1.StatusReasonInternalError,
			Message:  msg,
		}
		if b, err := json.Marshal(st); err == nil {
			payload = b
		}
	}
	f := make([]byte, spdyHeaderLen, spdyHeaderLen+len(payload))
	binary.BigEndian.PutUint32(f[0:4], g.errStream&0x7fffffff)
	binary.BigEndian.PutUint32(f[4:8], uint32(spdy.DataFlagFin)<<24|uint32(len(payload)))
	return append(f, payload...)
}

// frameHeader is a SPDY frame header's fields.
type frameHeader struct {
	control bool
	version uint16 // control frames
	stream  uint32 // data frames
	flags   byte
	length  int
}

// parseFrameHeader reads the header at the start of b (at least 8 bytes).
func parseFrameHeader(b []byte) frameHeader {
	first := binary.BigEndian.Uint32(b[0:4])
	second := binary.BigEndian.Uint32(b[4:8])
	h := frameHeader{flags: byte(second >> 24), length: int(second & 0xffffff)}
	if first&0x80000000 != 0 {
		h.control = true
		h.version = uint16(first>>16) & 0x7fff
	} else {
		h.stream = first & 0x7fffffff
	}
	return h
}

// synParser finds the error stream's SYN_STREAM in kube-apiserver's
// frames, fed in pieces of any size.
type synParser struct {
	framer *spdy.Framer
	// src holds the one control frame the framer reads next.
	src bytes.Buffer
	// frame collects the current frame's header and, for a control
	// frame, its payload.
	frame []byte
	// skip counts the current DATA frame's payload bytes still to come.
	skip int
}

func newSynParser() (*synParser, error) {
	p := &synParser{}
	f, err := spdy.NewFramer(io.Discard, &p.src)
	if err != nil {
		return nil, err
	}
	p.framer = f
	return p, nil
}

// feed parses b and returns the error stream's ID once its SYN_STREAM is
// complete (0 until then), or why the frames do not parse.
func (p *synParser) feed(b []byte) (uint32, error) {
	for len(b) > 0 {
		if p.skip > 0 {
			n := min(p.skip, len(b))
			p.skip -= n
			b = b[n:]
			continue
		}
		need := spdyHeaderLen
		if len(p.frame) >= spdyHeaderLen {
			need += parseFrameHeader(p.frame).length
		}
		n := min(need-len(p.frame), len(b))
		p.frame = append(p.frame, b[:n]...)
		b = b[n:]
		if len(p.frame) < spdyHeaderLen {
			continue
		}
		h := parseFrameHeader(p.frame)
		switch {
		case !h.control:
			p.skip, p.frame = h.length, p.frame[:0]
		case h.version != spdy.Version || h.length > maxGuardedControlFrame:
			return 0, fmt.Errorf("control frame version %d, %d bytes", h.version, h.length)
		case len(p.frame) == spdyHeaderLen+h.length:
			id, err := p.control()
			if id != 0 || err != nil {
				return id, err
			}
		}
	}
	return 0, nil
}

// control parses the complete control frame in p.frame.
func (p *synParser) control() (uint32, error) {
	p.src.Write(p.frame)
	p.frame = p.frame[:0]
	f, err := p.framer.ReadFrame()
	if err != nil {
		return 0, fmt.Errorf("read a control frame: %w", err)
	}
	if p.src.Len() != 0 {
		return 0, fmt.Errorf("control frame %T: %d bytes left over", f, p.src.Len())
	}
	if syn, ok := f.(*spdy.SynStreamFrame); ok && syn.Headers.Get(corev1.StreamType) == corev1.StreamTypeError {
		return uint32(syn.StreamId), nil
	}
	return 0, nil
}
