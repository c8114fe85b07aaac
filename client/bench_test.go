package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of Get and Set over loopback against an in-process node
// (fsync none: they measure the client, the protocol and the host, not
// the disk), with 1, 16 and 64 goroutines calling concurrently, either all
// through one shared pipelined connection or each through its own.
//
//	go test ./client -run '^$' -bench . -benchtime 20000x
//
// Besides ns/op each reports ops/s and the p50 and p99 latency of one call.
func BenchmarkGet(b *testing.B) { benchmarkOp(b, false) }
func BenchmarkSet(b *testing.B) { benchmarkOp(b, true) }

const (
	benchKeys  = 1024
	benchValue = 100 // bytes
)

func benchmarkOp(b *testing.B, write bool) {
	srv := startNode(b, "secret")
	value := make([]byte, benchValue)
	keys := make([]string, benchKeys)
	seed := dialNode(b, srv, "secret", 1)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
		if err := seed.Set(context.Background(), keys[i], value); err != nil {
			b.Fatal(err)
		}
	}
	for _, workers := range []int{1, 16, 64} {
		for _, shared := range []bool{true, false} {
			name := fmt.Sprintf("g=%d/conn=%s", workers, map[bool]string{true: "shared", false: "each"}[shared])
			b.Run(name, func(b *testing.B) {
				clients := make([]*Client, workers)
				for i := range clients {
					if shared && i > 0 {
						clients[i] = clients[0]
					} else {
						clients[i] = dialNode(b, srv, "secret", 1)
					}
				}
				var next atomic.Int64
				lat := make([][]time.Duration, workers)
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := range workers {
					wg.Go(func() {
						c, ctx := clients[w], context.Background()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							key := keys[i%benchKeys]
							t0 := time.Now()
							var err error
							if write {
								err = c.Set(ctx, key, value)
							} else {
								_, err = c.Get(ctx, key)
							}
							lat[w] = append(lat[w], time.Since(t0))
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				all := slices.Concat(lat...)
				slices.Sort(all)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
				b.ReportMetric(float64(percentile(all, 0.50).Microseconds()), "p50-µs")
				b.ReportMetric(float64(percentile(all, 0.99).Microseconds()), "p99-µs")
			})
		}
	}
}

// percentile returns the p-th quantile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
