package prober

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// outcome is what one probe run should give.
type outcome int

const (
	succeeds outcome = iota
	fails
	errs // no result
)

func (o outcome) of(success bool, err error) outcome {
	switch {
	case err != nil:
		return errs
	case success:
		return succeeds
	}
	return fails
}

func handlerManager(t *testing.T) *Manager {
	t.Helper()
	m, err := New(Options{Exec: newFakeExec().Exec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func portOf(t *testing.T, addr net.Addr) int32 {
	t.Helper()
	return int32(addr.(*net.TCPAddr).Port)
}

// closedPort returns a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := portOf(t, l.Addr())
	l.Close()
	return p
}

func probeHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ok":
		_, _ = w.Write([]byte("ok"))
	case "/fail":
		w.WriteHeader(http.StatusInternalServerError)
	case "/redirect":
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
	case "/query":
		if r.URL.Query().Get("x") != "1" {
			w.WriteHeader(http.StatusBadRequest)
		}
	case "/headers":
		if r.UserAgent() != UserAgent || r.Header.Get("Accept") != "*/*" ||
			r.Header.Get("X-Custom") != "v" || r.Host != "example.test" {
			w.WriteHeader(http.StatusBadRequest)
		}
	case "/agent":
		if r.UserAgent() != "mine" {
			w.WriteHeader(http.StatusBadRequest)
		}
	case "/slow":
		<-r.Context().Done()
	default:
		http.NotFound(w, r)
	}
}

func TestHTTPProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(probeHandler))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(probeHandler))
	defer tlsSrv.Close()
	port, tlsPort := portOf(t, srv.Listener.Addr()), portOf(t, tlsSrv.Listener.Addr())
	m := handlerManager(t)

	get := func(path string, port int32) *corev1.HTTPGetAction {
		return &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port)}
	}
	tests := []struct {
		name    string
		get     *corev1.HTTPGetAction
		podIP   string
		timeout time.Duration
		want    outcome
	}{
		{"ok", get("/ok", port), "127.0.0.1", 0, succeeds},
		{"path without slash", get("ok", port), "127.0.0.1", 0, succeeds},
		{"query", get("/query?x=1", port), "127.0.0.1", 0, succeeds},
		{"500", get("/fail", port), "127.0.0.1", 0, fails},
		{"404", get("/missing", port), "127.0.0.1", 0, fails},
		{"redirect not followed", get("/redirect", port), "127.0.0.1", 0, succeeds},
		{"headers", &corev1.HTTPGetAction{Path: "/headers", Port: intstr.FromInt32(port), HTTPHeaders: []corev1.HTTPHeader{
			{Name: "X-Custom", Value: "v"}, {Name: "host", Value: "example.test"}}}, "127.0.0.1", 0, succeeds},
		{"own user agent", &corev1.HTTPGetAction{Path: "/agent", Port: intstr.FromInt32(port), HTTPHeaders: []corev1.HTTPHeader{
			{Name: "User-Agent", Value: "mine"}}}, "127.0.0.1", 0, succeeds},
		{"probe host over pod IP", &corev1.HTTPGetAction{Host: "127.0.0.1", Path: "/ok", Port: intstr.FromInt32(port)}, "192.0.2.1", 0, succeeds},
		{"named port", &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("web")}, "127.0.0.1", 0, succeeds},
		{"unknown port name", &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("nope")}, "127.0.0.1", 0, errs},
		{"no pod IP", get("/ok", port), "", 0, errs},
		{"https, any certificate", &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(tlsPort), Scheme: corev1.URISchemeHTTPS}, "127.0.0.1", 0, succeeds},
		{"timeout", get("/slow", port), "127.0.0.1", 100 * time.Millisecond, fails},
		{"refused", get("/ok", closedPort(t)), "127.0.0.1", 0, fails},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: port}}}
			p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: tt.get}}
			ok, detail, err := m.run(context.Background(), p, timeout, target{containerID: "c1", podIP: tt.podIP, container: c})
			if got := tt.want.of(ok, err); got != tt.want {
				t.Errorf("run = %v, %q, %v; want outcome %d", ok, detail, err, tt.want)
			}
		})
	}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := portOf(t, l.Addr())
	m := handlerManager(t)
	tests := []struct {
		name  string
		port  intstr.IntOrString
		podIP string
		want  outcome
	}{
		{"open", intstr.FromInt32(port), "127.0.0.1", succeeds},
		{"named", intstr.FromString("svc"), "127.0.0.1", succeeds},
		{"refused", intstr.FromInt32(closedPort(t)), "127.0.0.1", fails},
		{"invalid port", intstr.FromInt32(0), "127.0.0.1", errs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "svc", ContainerPort: port}}}
			p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: tt.port}}}
			ok, detail, err := m.run(context.Background(), p, 5*time.Second, target{containerID: "c1", podIP: tt.podIP, container: c})
			if got := tt.want.of(ok, err); got != tt.want {
				t.Errorf("run = %v, %q, %v; want outcome %d", ok, detail, err, tt.want)
			}
		})
	}
}

// serveGRPC serves gRPC on 127.0.0.1, with the health service when hs is
// not nil, until the test ends.
func serveGRPC(t *testing.T, hs *health.Server) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	if hs != nil {
		healthpb.RegisterHealthServer(s, hs)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return portOf(t, l.Addr())
}

func TestGRPCProbe(t *testing.T) {
	hs := health.NewServer()
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	port := serveGRPC(t, hs)
	bare := serveGRPC(t, nil)
	m := handlerManager(t)
	svc := func(s string) *string { return &s }
	tests := []struct {
		name    string
		port    int32
		service *string
		want    outcome
	}{
		{"serving", port, nil, succeeds},
		{"not serving", port, svc("down"), fails},
		{"unknown service", port, svc("nope"), fails},
		{"no health service", bare, nil, fails},
		{"refused", closedPort(t), nil, fails},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: tt.port, Service: tt.service}}}
			ok, detail, err := m.run(context.Background(), p, 5*time.Second, target{containerID: "c1", podIP: "127.0.0.1", container: &corev1.Container{}})
			if got := tt.want.of(ok, err); got != tt.want {
				t.Errorf("run = %v, %q, %v; want outcome %d", ok, detail, err, tt.want)
			}
		})
	}
}

func TestParams(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		p    corev1.Probe
		want params
	}{
		{"defaults", Readiness, corev1.Probe{}, params{0, 10 * time.Second, time.Second, 1, 3}},
		{"set", Readiness, corev1.Probe{InitialDelaySeconds: 4, PeriodSeconds: 2, TimeoutSeconds: 3, SuccessThreshold: 5, FailureThreshold: 6},
			params{4 * time.Second, 2 * time.Second, 3 * time.Second, 5, 6}},
		{"liveness succeeds once", Liveness, corev1.Probe{SuccessThreshold: 5}, params{0, 10 * time.Second, time.Second, 1, 3}},
		{"negative", Startup, corev1.Probe{InitialDelaySeconds: -1, PeriodSeconds: -1, TimeoutSeconds: -1, FailureThreshold: -1},
			params{0, 10 * time.Second, time.Second, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paramsOf(tt.kind, &tt.p); got != tt.want {
				t.Errorf("paramsOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestHandlersLeaveNoGoroutines runs each network probe and waits for the
// goroutine count to come back to where it was.
func TestHandlersLeaveNoGoroutines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(probeHandler))
	defer srv.Close()
	grpcPort := serveGRPC(t, health.NewServer())
	httpPort := portOf(t, srv.Listener.Addr())
	m := handlerManager(t)
	probes := []corev1.ProbeHandler{
		{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(httpPort)}},
		{HTTPGet: &corev1.HTTPGetAction{Path: "/slow", Port: intstr.FromInt32(httpPort)}},
		{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(httpPort)}},
		{GRPC: &corev1.GRPCAction{Port: grpcPort}},
		{GRPC: &corev1.GRPCAction{Port: closedPort(t)}},
	}
	before := runtime.NumGoroutine()
	for range 3 {
		for _, h := range probes {
			_, _, _ = m.run(context.Background(), &corev1.Probe{ProbeHandler: h}, 200*time.Millisecond,
				target{containerID: "c1", podIP: "127.0.0.1", container: &corev1.Container{}})
		}
	}
	// Server-side goroutines of the probes' connections end on their own.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the probes:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling the condition, under the deadline
	}
}
