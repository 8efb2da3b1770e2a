package wire

import (
	"bytes"
	"testing"
)

// BenchmarkWire measures the codec on one goroutine, so msgs/s is per core.
//
//	go test -run '^$' -bench BenchmarkWire -benchtime 2s -benchmem ./common/wire/
func BenchmarkWire(b *testing.B) {
	m := fullMessage()
	m.Content = bytes.Repeat([]byte("x"), 1<<10)

	// codec_1k: encode into a reused buffer, then decode, per iteration.
	b.Run("codec_1k", func(b *testing.B) {
		c := Codec{}
		buf := make([]byte, 0, 4<<10)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			frame, err := c.AppendFrame(buf[:0], m)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Decode(frame); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})

	// stream_1k: Writer to a buffer and Reader back, as on a tunnel stream.
	b.Run("stream_1k", func(b *testing.B) {
		var stream bytes.Buffer
		w := Codec{}.NewWriter(&stream)
		r := Codec{}.NewReader(&stream)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := w.Write(m); err != nil {
				b.Fatal(err)
			}
			if _, err := r.Next(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
