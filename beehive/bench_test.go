package beehive

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// BenchmarkBus measures the bus's published targets (make bench):
// send_recv is one goroutine sending to a module that receives;
// roundtrip is SendSync answered by a responder module via SendResponse.
func BenchmarkBus(b *testing.B) {
	b.Run("send_recv", benchSendRecv)
	b.Run("roundtrip", benchRoundtrip)
}

func benchBus(b *testing.B, mods ...func(*Bus) Module) (*Bus, func()) {
	b.Helper()
	bus, err := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range mods {
		if err := bus.Register(m(bus), Policy{}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- bus.Run(ctx) }()
	return bus, func() {
		cancel()
		if err := <-errc; err != nil {
			b.Fatalf("Run: %v", err)
		}
	}
}

func benchSendRecv(b *testing.B) {
	got := make(chan int, 1)
	sink := func(bus *Bus) Module {
		return &fakeModule{name: "sink", start: func(ctx context.Context) error {
			n := 0
			defer func() { got <- n }()
			for {
				m, err := bus.Receive(ctx, "sink")
				if err != nil {
					return nil
				}
				if m.Route.Operation == message.OpDelete { // the end marker
					return nil
				}
				n++
			}
		}}
	}
	bus, stop := benchBus(b, sink)
	defer stop()
	ctx := context.Background()
	m := message.New("src", "sink", message.OpUpdate, message.Resource{}, []byte("payload"))
	b.ResetTimer()
	for range b.N {
		if err := bus.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	m.Route.Operation = message.OpDelete
	if err := bus.Send(ctx, m); err != nil {
		b.Fatal(err)
	}
	if n := <-got; n != b.N {
		b.Fatalf("received %d of %d", n, b.N)
	}
	b.StopTimer() // the timing includes draining the receiver
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchRoundtrip(b *testing.B) {
	responder := func(bus *Bus) Module {
		return &fakeModule{name: "resp", start: func(ctx context.Context) error {
			for {
				req, err := bus.Receive(ctx, "resp")
				if err != nil {
					return nil
				}
				if err := bus.SendResponse(ctx, req.Response("resp", message.OpResponse, req.Content)); err != nil {
					return err
				}
			}
		}}
	}
	bus, stop := benchBus(b, responder)
	defer stop()
	ctx := context.Background()
	req := message.New("client", "resp", message.OpQuery, message.Resource{}, []byte("q"))
	b.ResetTimer()
	for range b.N {
		req.Header.ID = ""
		if _, err := bus.SendSync(ctx, req, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
