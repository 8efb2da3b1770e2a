package edgestream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	for _, tc := range []struct {
		path string
		want string // "" means not a route
	}{
		{"/healthz", "healthz {   }"},
		{"/containerLogs/default/web/app", "containerLogs {default web  app}"},
		{"/exec/default/web/app", "exec {default web  app}"},
		{"/exec/default/web/uid-1/app", "exec {default web uid-1 app}"},
		{"/attach/default/web/app", "attach {default web  app}"},
		{"/attach/default/web/uid-1/app", "attach {default web uid-1 app}"},
		{"/portForward/default/web", "portForward {default web  }"},
		{"/portForward/default/web/uid-1", "portForward {default web uid-1 }"},
		{"/", ""},
		{"/healthz/x", ""},
		{"/containerLogs/default/web", ""},
		{"/containerLogs/default/web/app/x", ""},
		{"/containerLogs/default//app", ""},
		{"/exec/default/web", ""},
		{"/exec/default/web/uid/app/x", ""},
		{"/exec/default/web/app/", ""},
		{"/portForward/default", ""},
		{"/portForward/default/web/uid/x", ""},
		{"/run/default/web/app", ""},
		{"/pods", ""},
	} {
		r, ok := parseRoute(tc.path)
		got := ""
		if ok {
			got = fmt.Sprintf("%s %v", r.kind, r.ctr)
		}
		if got != tc.want {
			t.Errorf("parseRoute(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// newTestHandler is the handler over rt with the real log reader.
func newTestHandler(t *testing.T, rt Runtime, o HandlerOptions) http.Handler {
	t.Helper()
	o.Runtime, o.Logger = rt, testLogger(t)
	h, err := NewHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// do serves one request with h and returns the status and body.
func do(h http.Handler, method, target string, header http.Header) (int, string, http.Header) {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestHandlerRouting(t *testing.T) {
	h := newTestHandler(t, newFakeRuntime(), HandlerOptions{})
	for _, tc := range []struct {
		method, target string
		code           int
		body           string
	}{
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/metrics", 404, "404 page not found\n"},
		{"GET", "/exec/default/web", 404, "404 page not found\n"},
		{"POST", "/containerLogs/default/web/app", 405, "method POST not allowed\n"},
		{"PUT", "/exec/default/web/app?command=ls&output=1", 405, "method PUT not allowed\n"},
		{"DELETE", "/portForward/default/web", 405, "method DELETE not allowed\n"},
	} {
		code, body, hdr := do(h, tc.method, tc.target, nil)
		if code != tc.code || body != tc.body {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.target, code, body, tc.code, tc.body)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s %s: Content-Type %q, want text/plain", tc.method, tc.target, ct)
		}
		if tc.code == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.target)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{Errorf(ErrNotFound, "pod x"), 404},
		{Errorf(ErrBadRequest, "bad"), 400},
		{fmt.Errorf("wrapped: %w", Errorf(ErrUnavailable, "later")), 500},
		{errors.New("boom"), 500},
	} {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if err := Errorf(ErrNotFound, "pod %s is gone", "a/b"); err.Error() != "pod a/b is gone" {
		t.Errorf("Errorf text %q, want the message alone", err)
	}
}

func TestNewHandlerRequires(t *testing.T) {
	if _, err := NewHandler(HandlerOptions{Logger: testLogger(t)}); err == nil {
		t.Error("NewHandler without a Runtime: no error")
	}
	if _, err := NewHandler(HandlerOptions{Runtime: newFakeRuntime()}); err == nil {
		t.Error("NewHandler without a Logger: no error")
	}
}

// readAll reads a response body, failing the test on error.
func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}
