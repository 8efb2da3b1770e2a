package edgestream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// upgradeHeader is what a SPDY client sends.
var upgradeHeader = http.Header{
	"Connection":                {"Upgrade"},
	"Upgrade":                   {"SPDY/3.1"},
	"X-Stream-Protocol-Version": {"v4.channel.k8s.io"},
}

func streamRuntime() *fakeRuntime {
	rt := newFakeRuntime()
	rt.target = &url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "/exec/token"}
	rt.add("default/web/app", Container{ID: "app-1"}, true)
	rt.add("default/web/done", Container{ID: "done-1"}, false)
	return rt
}

// TestStreamValidation: requests that never reach the runtime's
// streaming server.
func TestStreamValidation(t *testing.T) {
	rt := streamRuntime()
	h := newTestHandler(t, rt, HandlerOptions{})
	for _, tc := range []struct {
		method, target string
		header         http.Header
		code           int
		body           string
	}{
		{"POST", "/exec/default/web/app?command=ls", upgradeHeader, 400, "you must specify at least 1 of stdin, stdout, stderr (query parameters input, output, error)\n"},
		{"POST", "/exec/default/web/app?output=1", upgradeHeader, 400, "query parameter command is required\n"},
		{"POST", "/exec/default/web/app?command=ls&output=1", nil, 400, "Upgrade request required\n"},
		{"POST", "/exec/default/web/done?command=ls&output=1", upgradeHeader, 400, "container \"done\" in pod \"web\" is not running\n"},
		{"POST", "/exec/default/web/db?command=ls&output=1", upgradeHeader, 404, "container \"db\" not found in pod \"web\"\n"},
		{"POST", "/exec/kube-system/proxy/app?command=ls&output=1", upgradeHeader, 404, "pod kube-system/proxy is not on node n1\n"},
		{"POST", "/exec/default/web/uid-0/app?command=ls&output=1", upgradeHeader, 404, "pod default/web is not on node n1\n"},
		{"GET", "/attach/default/web/app", upgradeHeader, 400, "you must specify at least 1 of stdin, stdout, stderr (query parameters input, output, error)\n"},
		{"GET", "/attach/default/web/app?tty=1&error=1", upgradeHeader, 400, "you must specify at least 1 of stdin, stdout, stderr (query parameters input, output, error)\n"},
		{"GET", "/attach/default/other/app?input=1", upgradeHeader, 404, "pod default/other is not on node n1\n"},
		{"POST", "/portForward/default/web?port=80,x", upgradeHeader, 400, "invalid value \"80,x\" for query parameter port: want ports from 1 to 65535\n"},
		{"POST", "/portForward/default/web?port=0", upgradeHeader, 400, "invalid value \"0\" for query parameter port: want ports from 1 to 65535\n"},
		{"POST", "/portForward/default/web?port=70000", upgradeHeader, 400, "invalid value \"70000\" for query parameter port: want ports from 1 to 65535\n"},
		{"POST", "/portForward/default/web", nil, 400, "Upgrade request required\n"},
		{"POST", "/portForward/default/db", upgradeHeader, 404, "pod default/db is not on node n1\n"},
	} {
		code, body, _ := do(h, tc.method, tc.target, tc.header)
		if code != tc.code || body != tc.body {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.target, code, body, tc.code, tc.body)
		}
	}
	if calls := rt.recorded(); len(calls) != 0 {
		t.Errorf("the runtime was asked for streams: %q", calls)
	}
}

func TestParseStreams(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  Streams
	}{
		{"input=1", Streams{Stdin: true}},
		{"output=1&error=1", Streams{Stdout: true, Stderr: true}},
		{"input=1&output=1&tty=1&error=1", Streams{Stdin: true, Stdout: true, TTY: true}}, // a TTY has no stderr
		{"input=true&output=1", Streams{Stdout: true}},                                    // only "1" is true
	} {
		q, _ := url.ParseQuery(tc.query)
		if got, err := parseStreams(q); err != nil || got != tc.want {
			t.Errorf("parseStreams(%q) = %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	q, _ := url.ParseQuery("port=80,443&port=8080")
	ports, err := parsePorts(q)
	if err != nil || len(ports) != 3 || ports[0] != 80 || ports[1] != 443 || ports[2] != 8080 {
		t.Errorf("parsePorts = %v, %v; want [80 443 8080]", ports, err)
	}
	if ports, err := parsePorts(url.Values{}); err != nil || len(ports) != 0 {
		t.Errorf("parsePorts(none) = %v, %v; want none", ports, err)
	}
}

// echoUpstream is a streaming server: it answers an upgrade with 101 and
// then echoes every byte; got receives each request's URI and protocol
// header.
func echoUpstream(t *testing.T, got chan<- string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.RequestURI + " " + r.Header.Get("X-Stream-Protocol-Version") + " " + r.Header.Get("Upgrade")
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
		_ = rw.Flush()
		_, _ = io.Copy(conn, rw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStreamProxy: exec, attach and port-forward are proxied, upgrade and
// all, to the streaming URL the runtime gives, and bytes flow both ways.
func TestStreamProxy(t *testing.T) {
	got := make(chan string, 1)
	upstream := echoUpstream(t, got)
	rt := streamRuntime()
	u, _ := url.Parse(upstream.URL)
	srv := httptest.NewServer(newTestHandler(t, rt, HandlerOptions{}))
	defer srv.Close()
	for _, tc := range []struct {
		target, stream, wantCall string
	}{
		{"/exec/default/web/app?command=sh&command=-c&command=echo+hi&input=1&output=1&error=1", "/exec/tok1",
			`exec app-1 ["sh" "-c" "echo hi"] {Stdin:true Stdout:true Stderr:true TTY:false}`},
		{"/exec/default/web/uid-1/app?command=cat&input=1&output=1&tty=1", "/exec/tok2",
			`exec app-1 ["cat"] {Stdin:true Stdout:true Stderr:false TTY:true}`},
		{"/attach/default/web/app?input=1&output=1", "/attach/tok3",
			`attach app-1 {Stdin:true Stdout:true Stderr:false TTY:false}`},
		{"/portForward/default/web?port=8080", "/portforward/tok4", `portForward default/web [8080]`},
	} {
		rt.target = &url.URL{Scheme: "http", Host: u.Host, Path: tc.stream, RawQuery: "x=1"}
		conn := upgrade(t, srv.URL, tc.target)
		if req := <-got; req != "POST "+tc.stream+"?x=1 v4.channel.k8s.io SPDY/3.1" {
			t.Errorf("%s: upstream got %q, want the streaming URL with the protocol headers", tc.target, req)
		}
		echoes(t, conn, "ping\n", "pong pong\n")
		conn.Close()
		calls := rt.recorded()
		if last := calls[len(calls)-1]; last != tc.wantCall {
			t.Errorf("%s: runtime call %q, want %q", tc.target, last, tc.wantCall)
		}
	}
}

// upgrade sends an upgrade request for target to the server at base and
// returns the connection after the 101.
func upgrade(t *testing.T, base, target string) net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	upgradeOn(t, conn, u.Host, target)
	return conn
}

// upgradeOn sends an upgrade request for target on conn and reads the 101.
func upgradeOn(t *testing.T, conn net.Conn, host, target string) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "POST " + target + " HTTP/1.1\r\nHost: " + host + "\r\n"
	for k, v := range upgradeHeader {
		req += k + ": " + strings.Join(v, ",") + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"Content-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: read response: %v", target, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "SPDY/3.1" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %s %q, want 101 to SPDY/3.1", target, resp.Status, body)
	}
	if br.Buffered() > 0 {
		t.Fatalf("%s: %d bytes after the 101", target, br.Buffered())
	}
}

// echoes checks that what is written to conn comes back.
func echoes(t *testing.T, conn net.Conn, msgs ...string) {
	t.Helper()
	for _, msg := range msgs {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q, %v; want %q", buf, err, msg)
		}
	}
}

// TestStreamProxyUpstreamDown: a streaming server that cannot be reached
// is a 502 naming it.
func TestStreamProxyUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rt := streamRuntime()
	rt.target = &url.URL{Scheme: "http", Host: addr, Path: "/exec/x"}
	code, body, _ := do(newTestHandler(t, rt, HandlerOptions{}), "POST", "/exec/default/web/app?command=ls&output=1", upgradeHeader)
	if code != http.StatusBadGateway || !strings.Contains(body, "streaming server") {
		t.Errorf("upstream down: %d %q, want 502 naming the streaming server", code, body)
	}
}
