package host

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	stdnet "net"
	"os"
	"runtime/trace"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

// How long a request waits for the node's loop while a compaction runs
// (issue 23): load -compact.keys keys of 100-byte values into one node
// (rf 1, fsync none), then send GETs one after another on one connection
// while a compaction of that state runs, and report the compaction's
// length and the GETs' latency percentiles during it. A measurement for
// PAPER, not a test (it has no threshold):
//
//	go test ./host -run TestCompactionStall -compact.keys 2000000 -v
var (
	compactKeys  = flag.Int("compact.keys", 0, "keys to load for TestCompactionStall (0 skips it)")
	compactTrace = flag.String("compact.trace", "", "write a runtime trace of the measured compaction to this file (go tool trace)")
)

func TestCompactionStall(t *testing.T) {
	if *compactKeys == 0 {
		t.Skip("a measurement: run with -compact.keys N")
	}
	cfg := DefaultConfig()
	cfg.Listen, cfg.HTTP, cfg.DataDir, cfg.ReplicationFactor, cfg.Fsync = "127.0.0.1:0", "", t.TempDir(), 1, "none"
	s, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	start := time.Now()
	load(t, s.Addr(), *compactKeys)
	t.Logf("loaded %d keys in %v", *compactKeys, time.Since(start).Round(time.Millisecond))

	probe := dialRaw(t, s.Addr())
	probe.login("")
	probe.nc.SetDeadline(time.Time{})
	ctl := dialRaw(t, s.Addr())
	ctl.login("")
	ctl.nc.SetDeadline(time.Time{})
	// A first compaction of the loaded log, so that the measured one
	// compacts a base (the steady state), not a log of fresh writes.
	if m := ctl.call(1, &net.Compact{}); m.Kind() != net.KindDone {
		t.Fatalf("compact: %v", m)
	}
	if *compactTrace != "" {
		f, err := os.Create(*compactTrace)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			t.Fatal(err)
		}
		defer trace.Stop()
	}
	done := make(chan time.Duration, 1)
	began := time.Now()
	go func() {
		ctl.write(net.Frame{ID: 2, Msg: &net.Compact{}})
		f, err := ctl.tryRead()
		if err != nil || f.Msg.Kind() != net.KindDone {
			t.Errorf("compact: %v %v", f.Msg, err)
		}
		done <- time.Since(began)
	}()
	var lat []time.Duration
	var took, worst, worstAt time.Duration
	for id := uint64(10); ; id++ {
		select {
		case took = <-done:
		default:
		}
		if took != 0 {
			break
		}
		t0 := time.Now()
		probe.call(id, &net.Get{Key: fmt.Appendf(nil, "key:%012d", id*7919%uint64(*compactKeys)), Level: net.One})
		lat = append(lat, time.Since(t0))
		if d := lat[len(lat)-1]; d > worst {
			worst, worstAt = d, t0.Sub(began)
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(10 * time.Microsecond)
	}
	t.Logf("compaction of %d keys took %v; %d GETs during it: p50 %v, p99 %v, p99.9 %v, max %v",
		*compactKeys, took.Round(time.Millisecond), len(lat), q(0.5), q(0.99), q(0.999), lat[len(lat)-1].Round(10*time.Microsecond))
	t.Logf("the longest GET began %v after the compaction was asked for", worstAt.Round(time.Microsecond))
}

// load sets n keys of 100-byte values through one pipelined connection.
func load(t *testing.T, addr string, n int) {
	nc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := net.Handshake(nc, net.RoleClient, 0, nil); err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 100)
	errc := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(nc, 1<<20)
		var buf []byte
		got := 0
		for got < n {
			f, k, err := net.Decode(buf)
			if errors.Is(err, net.ErrShort) {
				chunk := make([]byte, 64<<10)
				m, rerr := r.Read(chunk)
				if rerr != nil {
					errc <- rerr
					return
				}
				buf = append(buf, chunk[:m]...)
				continue
			}
			if err != nil {
				errc <- err
				return
			}
			if f.Msg.Kind() != net.KindDone {
				errc <- fmt.Errorf("set answered %v", f.Msg)
				return
			}
			buf = buf[k:]
			got++
		}
		errc <- nil
	}()
	w := bufio.NewWriterSize(nc, 1<<20)
	for i := range n {
		if _, err := w.Write(net.Encode(net.Frame{ID: uint64(i + 1), Msg: &net.Set{Key: fmt.Appendf(nil, "key:%012d", i), Value: value, Level: net.One}})); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
