package gateway

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/admin"
	"github.com/sipedge/sipedge/gateway/hep"
	"github.com/sipedge/sipedge/gateway/route"
)

// opsVariants are the operations features a benchmark compares in one
// run: none, Prometheus counters, counters plus HEP capture to a UDP or a
// TCP sink in this process (its reads count in the process's CPU too).
var opsVariants = []string{"off", "metrics", "metrics+hep", "metrics+hep-tcp"} //nolint:gochecknoglobals // constant table

// opsDeps returns the Deps of a variant; the HEP sender and its sink are
// closed when the benchmark ends (after the gateway: cleanups run last
// registered first).
func opsDeps(b *testing.B, variant string) Deps {
	d := Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if variant == "off" {
		return d
	}
	d.Metrics = admin.NewMetrics()
	if variant == "metrics+hep" || variant == "metrics+hep-tcp" {
		var wg sync.WaitGroup
		var closeSink func()
		var addr, transport string
		var accepted chan struct{} // closed once the TCP sink has the sender's connection
		if variant == "metrics+hep" {
			sink, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			addr, transport, closeSink = sink.LocalAddr().String(), "udp", func() { _ = sink.Close() }
			wg.Add(1)
			go func() { // owner: this benchmark; ends when sink closes
				defer wg.Done()
				buf := make([]byte, 65536)
				for {
					if _, _, err := sink.ReadFrom(buf); err != nil {
						return
					}
				}
			}()
		} else {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var conns sync.Map
			accepted = make(chan struct{})
			addr, transport = ln.Addr().String(), "tcp"
			closeSink = func() {
				_ = ln.Close()
				conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
			}
			wg.Add(1)
			go func() { // owner: this benchmark; ends when ln and its conns close
				defer wg.Done()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					conns.Store(c, true)
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, _ = io.Copy(io.Discard, c)
					}()
					close(accepted) // one connection: the sender's
				}
			}()
		}
		s, err := hep.New(hep.Config{Address: addr, Transport: transport, CaptureID: 1, QueueSize: 4096}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if accepted != nil {
			// Connected before the gateway starts: the harness counts
			// goroutines started after it as the gateway's.
			select {
			case <-accepted:
			case <-time.After(5 * time.Second):
				b.Fatal("the HEP sender did not connect")
			}
		}
		b.Cleanup(func() {
			sent, dropped := s.Stats()
			_ = s.Close()
			closeSink()
			wg.Wait()
			b.ReportMetric(float64(sent)/float64(b.N), "hep-sent/op")
			b.ReportMetric(float64(dropped)/float64(b.N), "hep-dropped/op")
		})
		d.Tap = s
	}
	return d
}

// BenchmarkProxyCallOps: BenchmarkProxyCallParallel with each variant, in
// one run: the cost of metrics and HEP on the call path (cpu-µs/call is
// the whole process's CPU, clients included).
func BenchmarkProxyCallOps(b *testing.B) {
	for _, v := range opsVariants {
		b.Run(v, func(b *testing.B) {
			uas := newBenchUAS(b)
			cfg := baseConfig()
			cfg.Trusted = []string{"127.0.0.1/32"}
			cfg.Routes = []route.Rule{{To: []string{"sip:" + uas.addr()}}}
			gw := startGWWith(b, cfg, opsDeps(b, v))
			var id atomic.Int32
			var mu sync.Mutex
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				uac := newBenchUAC(b, gw.addr["udp"], int(id.Add(1)))
				mu.Unlock()
				for pb.Next() {
					if err := uac.call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/call")
		})
	}
}

// BenchmarkRegisterFlowOps: digest REGISTER flows (as
// BenchmarkRegisterFlowUDP) with each variant, in one run.
func BenchmarkRegisterFlowOps(b *testing.B) {
	for _, v := range opsVariants {
		b.Run(v, func(b *testing.B) {
			gw := startGWWith(b, baseConfig(), opsDeps(b, v))
			dst, err := net.ResolveUDPAddr("udp", gw.addr["udp"])
			if err != nil {
				b.Fatal(err)
			}
			const workers = 8
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range workers {
				p := newUDPPeer(b)
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 65535)
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						if err := registerFlow(p, dst, n, buf); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/flow")
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		})
	}
}
