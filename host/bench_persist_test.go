package host

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
)

// Benchmarks of persistence in the live host, over loopback with the real
// client and the real disk (b.TempDir, so the file system TMPDIR is on):
//
//	go test ./host -run '^$' -bench 'PersistSet|ReplayAtBoot' -benchtime 5s
//
// BenchmarkPersistSet measures Set for each fsync mode with 1 and 64
// concurrent writers, each with its own connection; it reports ops/s and
// the p50 and p99 latency of one call. Under "always" a write is
// acknowledged only after the fsync that covers it, and concurrent writes
// share fsyncs (group commit), so throughput grows with writers while one
// writer is bound by the device's fsync latency.
//
// BenchmarkReplayAtBoot writes persistReplayRecords records, stops the
// node, and times Start on that data directory, which replays the log; then
// the same after a compaction, when Start reads the base segment instead.
// It reports records/s and MB/s of the data directory.

const (
	persistValue = 100     // bytes per value
	persistKeys  = 1 << 16 // distinct keys the Set benchmark cycles through
	// persistReplayRecords is the number of records replayed at boot.
	persistReplayRecords = 200_000
)

// startPersistServer starts a node on dir with fsync mode.
func startPersistServer(b *testing.B, dir, fsync string) *Server {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTP = ""
	cfg.DataDir = dir
	cfg.Fsync = fsync
	s, err := Start(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func dialPersist(b *testing.B, s *Server) *client.Client {
	b.Helper()
	c, err := client.Dial(context.Background(), client.Options{Addrs: []string{s.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// setConcurrently runs n Sets through clients, one goroutine per client,
// key i%keys to value(i) for the i-th, and returns the latency of each
// call, sorted.
func setConcurrently(b *testing.B, clients []*client.Client, n, keys int, value func(i int64) []byte) []time.Duration {
	var next atomic.Int64
	lat := make([][]time.Duration, len(clients))
	var wg sync.WaitGroup
	for w, c := range clients {
		wg.Go(func() {
			ctx := context.Background()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				err := c.Set(ctx, fmt.Sprintf("key-%07d", i%int64(keys)), value(i))
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	return all
}

func BenchmarkPersistSet(b *testing.B) {
	value := make([]byte, persistValue)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	for _, mode := range []string{"always", "everysec", "none"} {
		for _, writers := range []int{1, 64} {
			b.Run(fmt.Sprintf("fsync=%s/writers=%d", mode, writers), func(b *testing.B) {
				s := startPersistServer(b, b.TempDir(), mode)
				defer s.Close()
				clients := make([]*client.Client, writers)
				for i := range clients {
					clients[i] = dialPersist(b, s)
					defer clients[i].Close()
				}
				b.SetBytes(persistValue)
				b.ResetTimer()
				start := time.Now()
				lat := setConcurrently(b, clients, b.N, persistKeys, func(int64) []byte { return value })
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
				b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
				b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
			})
		}
	}
}

func BenchmarkReplayAtBoot(b *testing.B) {
	dir := b.TempDir()
	s := startPersistServer(b, dir, "none")
	clients := make([]*client.Client, 64)
	for i := range clients {
		clients[i] = dialPersist(b, s)
	}
	// Random values, so the base segment is as large as real data makes it.
	setConcurrently(b, clients, persistReplayRecords, persistReplayRecords, func(i int64) []byte {
		v := make([]byte, persistValue)
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for j := range v {
			v[j] = byte(r.Uint32())
		}
		return v
	})
	for _, c := range clients {
		c.Close()
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("log/records=%d", persistReplayRecords), func(b *testing.B) {
		benchmarkBoot(b, dir, persistReplayRecords)
	})

	s = startPersistServer(b, dir, "none")
	if _, err := s.Compact(); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("base/records=%d", persistReplayRecords), func(b *testing.B) {
		benchmarkBoot(b, dir, persistReplayRecords)
	})
}

// benchmarkBoot times Start on dir, which holds records records.
func benchmarkBoot(b *testing.B, dir string, records int) {
	size := dirBytes(dir)
	var total time.Duration
	for b.Loop() {
		t0 := time.Now()
		s := startPersistServer(b, dir, "none")
		total += time.Since(t0)
		if got := s.Status().Keys; got != records {
			b.Fatalf("booted with %d keys, want %d", got, records)
		}
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(float64(records)/per, "records/s")
	b.ReportMetric(float64(size)/per/1e6, "MB/s")
	b.ReportMetric(float64(size)/float64(records), "disk-B/record")
}

// percentile returns the p-th quantile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
