package httpserver

import (
	"net/http"
	"sync"
)

// Handlers counts the handlers a server is running, hijacked ones (an
// upgraded exec stream) included, which http.Server's Shutdown does not
// wait for. The zero value is ready; it serves one server's lifetime.
type Handlers struct {
	// mu guards stopping and the Adds to wg: no handler begins once
	// stopping is set, so Wait never races an Add.
	mu       sync.Mutex
	stopping bool
	wg       sync.WaitGroup
}

// Wrap runs h counted; once StopAndWait has been called it answers 503
// with stopping as the text instead.
func (f *Handlers) Wrap(h http.Handler, stopping string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.begin() {
			http.Error(w, stopping, http.StatusServiceUnavailable)
			return
		}
		defer f.wg.Done()
		h.ServeHTTP(w, r)
	})
}

func (f *Handlers) begin() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return false
	}
	f.wg.Add(1)
	return true
}

// StopAndWait refuses new handlers and waits for the running ones.
func (f *Handlers) StopAndWait() {
	f.mu.Lock()
	f.stopping = true
	f.mu.Unlock()
	f.wg.Wait()
}
