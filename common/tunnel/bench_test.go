package tunnel

import (
	"context"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// The Conn benchmarks measure the cloud-to-edge direction over loopback
// with real TLS: the server writes 1 KiB messages in batches of 64 and the
// client reads them, so msgs/s counts both ends' work.
//
//	go test -run '^$' -bench BenchmarkConn -benchtime 2s ./common/tunnel/
func BenchmarkConnWebSocket_1k(b *testing.B) { benchmarkConn(b, TransportWebSocket) }

func BenchmarkConnQUIC_1k(b *testing.B) { benchmarkConn(b, TransportQUIC) }

func benchmarkConn(b *testing.B, transport string) {
	batch := make([]message.Message, 64)
	for i := range batch {
		res := message.Resource{Namespace: "default", Type: "pod", Name: "web-0"}
		batch[i] = message.New("cloudhub", "metamanager", message.OpUpdate, res, make([]byte, 1<<10))
		batch[i].Header.Seq = uint64(i + 1)
	}
	n := b.N
	s := startTestServer(b, transport, ServerOptions{Handle: func(_ context.Context, _ string, c Conn) {
		if _, err := c.Read(); err != nil { // the client's go
			return
		}
		for sent := 0; sent < n; sent += len(batch) {
			if err := c.Write(batch[:min(len(batch), n-sent)]); err != nil {
				b.Errorf("server Write: %v", err)
				return
			}
		}
		drain(c)
	}})
	c := s.dial(b)
	b.ReportAllocs()
	b.ResetTimer()
	if err := c.Write([]message.Message{{}}); err != nil {
		b.Fatal(err)
	}
	for range n {
		if _, err := c.Read(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
