package proxy_test

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/proxy"
	"github.com/wsdbg/wsdbg/wire"
)

// Benchmarks through the proxy (with -q, as the proxy would run for
// throughput) against a direct connection to the same server. Each
// iteration runs the direct connection and then the proxied one, so that
// both see the same load on the machine; both are reported, with their
// ratio:
//
//	go test -run '^$' -bench Proxy -benchmem -benchtime 3x ./internal/proxy

// floodServer sends n frames of size bytes after the upgrade, then waits
// for the client to close.
func floodServer(b *testing.B, n, size int) string {
	frame := frameBytes(wire.Header{Fin: true, Op: wire.OpBinary}, make([]byte, size))
	batch := make([]byte, 0, 64<<10)
	return rawServer(b, func(c net.Conn, br *bufio.Reader) {
		if upgrade(b, c, br, "") == nil {
			return
		}
		for i := 0; i < n; i++ {
			if len(batch)+len(frame) > cap(batch) && len(batch) > 0 {
				if _, err := c.Write(batch); err != nil {
					return
				}
				batch = batch[:0]
			}
			if len(frame) > cap(batch) {
				if _, err := c.Write(frame); err != nil {
					return
				}
				continue
			}
			batch = append(batch, frame...)
		}
		c.Write(batch)
		batch = batch[:0]
		io.Copy(io.Discard, br)
	})
}

// drain reads n frames and returns the payload bytes.
func drain(b *testing.B, br *bufio.Reader, n int) int64 {
	var total int64
	for i := 0; i < n; i++ {
		h, err := wire.ReadHeader(br)
		if err != nil {
			b.Fatalf("frame %d: %v", i, err)
		}
		if _, err := br.Discard(int(h.Length)); err != nil {
			b.Fatal(err)
		}
		total += h.Length
	}
	return total
}

func benchFlood(b *testing.B, n, size int) {
	up := floodServer(b, n, size)
	p := startProxy(b, up, func(o *proxy.Options) { o.Quiet = true })
	addrs := [2]string{up[len("ws://"):], p.addr}
	var took [2]time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for i, addr := range addrs {
			start := time.Now()
			c, br, resp := dialRaw(b, addr, "")
			if resp.Status != 101 {
				b.Fatalf("status %d", resp.Status)
			}
			drain(b, bufio.NewReaderSize(br, 64<<10), n)
			took[i] += time.Since(start)
			c.Close()
		}
	}
	total := float64(b.N) * float64(n) * float64(size) / 1e6
	direct, proxied := total/took[0].Seconds(), total/took[1].Seconds()
	b.ReportMetric(direct, "direct-MB/s")
	b.ReportMetric(proxied, "proxy-MB/s")
	b.ReportMetric(proxied/direct, "ratio")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkProxyServerToClient200kx1KiB(b *testing.B) { benchFlood(b, 200_000, 1<<10) }
func BenchmarkProxyServerToClient2000x1MiB(b *testing.B) { benchFlood(b, 2000, 1<<20) }

// BenchmarkProxyEchoRTT runs 20,000 lock-step round trips of a 16-byte
// message directly and through the proxy, and reports the median round
// trip of each and the latency the proxy adds.
func BenchmarkProxyEchoRTT(b *testing.B) {
	up := rawServer(b, func(c net.Conn, br *bufio.Reader) {
		if upgrade(b, c, br, "") == nil {
			return
		}
		for {
			h, err := wire.ReadHeader(br)
			if err != nil {
				return
			}
			pl := make([]byte, h.Length)
			if _, err := io.ReadFull(br, pl); err != nil {
				return
			}
			wire.Mask(h.Mask, 0, pl)
			if _, err := c.Write(frameBytes(wire.Header{Fin: true, Op: h.Op}, pl)); err != nil {
				return
			}
		}
	})
	p := startProxy(b, up, func(o *proxy.Options) { o.Quiet = true })
	msg := frameBytes(wire.Header{Fin: true, Op: wire.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, make([]byte, 16))
	const n = 20_000
	addrs := [2]string{up[len("ws://"):], p.addr}
	var rtts [2][]time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for i, addr := range addrs {
			c, br, _ := dialRaw(b, addr, "")
			for range n {
				start := time.Now()
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				drain(b, br, 1)
				rtts[i] = append(rtts[i], time.Since(start))
			}
			c.Close()
		}
	}
	var median [2]float64
	for i := range rtts {
		slices.Sort(rtts[i])
		median[i] = float64(rtts[i][len(rtts[i])/2].Nanoseconds()) / 1e3
	}
	b.ReportMetric(median[0], "direct-median-µs")
	b.ReportMetric(median[1], "proxy-median-µs")
	b.ReportMetric(median[1]-median[0], "added-µs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkProxyIdlePairs opens 1,000 WebSocket connections through the
// proxy and reports the memory they hold while idle, per pair (the
// proxy's two connections, its goroutines and buffers, plus the test's
// own client and upstream ends).
func BenchmarkProxyIdlePairs(b *testing.B) {
	up := rawServer(b, func(c net.Conn, br *bufio.Reader) {
		if upgrade(b, c, br, "") == nil {
			return
		}
		io.Copy(io.Discard, br)
	})
	for _, quiet := range []bool{true, false} {
		name := "quiet"
		if !quiet {
			name = "logging"
		}
		b.Run(name, func(b *testing.B) {
			p := startProxy(b, up, func(o *proxy.Options) { o.Quiet = quiet })
			const n = 1000
			var perPair float64
			for b.Loop() {
				idle := runtime.NumGoroutine()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				conns := make([]net.Conn, 0, n)
				for range n {
					c, _, _ := dialRaw(b, p.addr, "")
					conns = append(conns, c)
				}
				time.Sleep(100 * time.Millisecond)
				runtime.GC()
				runtime.ReadMemStats(&after)
				used := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
				perPair = float64(used) / n
				for _, c := range conns {
					c.Close()
				}
				// Let the pairs end before the next round measures.
				for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > idle && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
			}
			b.ReportMetric(perPair, "B/pair")
		})
	}
}
