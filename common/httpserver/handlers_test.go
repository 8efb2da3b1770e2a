package httpserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// StopAndWait waits for a running handler and refuses the next request.
func TestHandlersWaitAndRefuse(t *testing.T) {
	var hs Handlers
	entered, release := make(chan struct{}), make(chan struct{})
	h := hs.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}), "stopping")
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	<-entered
	stopped := make(chan struct{})
	go func() { hs.StopAndWait(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("StopAndWait returned while a handler ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("StopAndWait did not return after the handler ended")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "stopping\n" {
		t.Errorf("after StopAndWait: %d %q, want 503 stopping", rec.Code, rec.Body.String())
	}
}
