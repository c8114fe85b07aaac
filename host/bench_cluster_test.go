package host

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// BenchmarkCluster measures Set and Get against a three-node cluster
// started in-process on loopback (rf 3, each node's log in its own
// b.TempDir), through routing clients, so each call goes straight to a
// replica of its key, which coordinates it:
//
//	go test ./host -run '^$' -bench Cluster -benchtime 20000x
//
// It starts one cluster per fsync mode (always, none) and waits until every
// node sees all three members in phase normal. Each sub-benchmark then runs
// b.N calls of one operation at one consistency level (quorum, and one for
// comparison) from 1 or 64 goroutines, each with its own client, cycling
// through clusterKeys keys of 100-byte values (the Get keys are written
// beforehand at level all). It reports ops/s and the p50 and p99 latency of
// one call, like BenchmarkPersistSet, whose single-node numbers are the
// baseline for the Set cases. At 20000x the whole run takes about 45 s on
// 2 cores, the slowest case (fsync always, one goroutine) about 9 s.

const (
	clusterNodes = 3
	clusterKeys  = 1 << 14 // distinct keys each sub-benchmark cycles through
	// clusterFormTimeout only turns a cluster that never forms into a
	// failure rather than a hang.
	clusterFormTimeout = 60 * time.Second
)

// startBenchCluster starts clusterNodes nodes with fsync mode, nodes 2.. seeded
// with node 1, and waits until all are normal in every node's view.
func startBenchCluster(b *testing.B, fsync string) []*Server {
	b.Helper()
	var servers []*Server
	for id := uint16(1); id <= clusterNodes; id++ {
		cfg := DefaultConfig()
		cfg.ID = id
		cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "", b.TempDir()
		cfg.ReplicationFactor = 3
		cfg.Fsync = fsync
		cfg.ClusterKey = "bench"
		if id > 1 {
			cfg.Seeds = []string{servers[0].Addr()}
		}
		s, err := Start(cfg, nil)
		if err != nil {
			b.Fatalf("start node %d: %v", id, err)
		}
		b.Cleanup(func() { s.Close() })
		servers = append(servers, s)
	}
	deadline := time.Now().Add(clusterFormTimeout)
	for {
		rings, ok := clusterNormal(servers)
		if ok {
			return servers
		}
		if time.Now().After(deadline) {
			b.Fatalf("cluster not formed after %v; rings:\n%s", clusterFormTimeout, rings)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterNormal reports whether every server sees clusterNodes members, all
// in phase normal, and returns each server's ring JSON for a failure message.
func clusterNormal(servers []*Server) (string, bool) {
	var rings string
	all := true
	for i, s := range servers {
		raw, err := s.Ring()
		if err != nil {
			rings += fmt.Sprintf("node %d: %v\n", i+1, err)
			all = false
			continue
		}
		rings += fmt.Sprintf("node %d: %s\n", i+1, raw)
		var r struct {
			Members []struct {
				Phase string `json:"phase"`
			} `json:"members"`
		}
		if err := json.Unmarshal(raw, &r); err != nil || len(r.Members) != len(servers) {
			all = false
			continue
		}
		for _, m := range r.Members {
			if m.Phase != "normal" {
				all = false
			}
		}
	}
	return rings, all
}

// runConcurrently runs n calls of op, the i-th as op(c, i) on one of clients,
// one goroutine per client, and returns the latency of each call, sorted.
func runConcurrently(b *testing.B, clients []*client.Client, n int, op func(c *client.Client, i int64) error) []time.Duration {
	var next atomic.Int64
	lat := make([][]time.Duration, len(clients))
	var wg sync.WaitGroup
	for w, c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				err := op(c, i)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					b.Errorf("call %d: %v", i, err)
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

func BenchmarkCluster(b *testing.B) {
	value := make([]byte, persistValue)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	key := func(i int64) string { return fmt.Sprintf("key-%07d", i%clusterKeys) }
	levels := []struct {
		name  string
		level net.Consistency
	}{{"quorum", net.Quorum}, {"one", net.One}}
	for _, mode := range []string{"always", "none"} {
		b.Run("fsync="+mode, func(b *testing.B) {
			servers := startBenchCluster(b, mode)
			addrs := make([]string, len(servers))
			for i, s := range servers {
				addrs[i] = s.Addr()
			}
			dial := func() *client.Client {
				c, err := client.Dial(context.Background(), client.Options{Addrs: addrs})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.Close() })
				return c
			}
			clients := make([]*client.Client, 64)
			for i := range clients {
				clients[i] = dial()
			}
			// Every Get finds its key, on whichever replica answers.
			runConcurrently(b, clients, clusterKeys, func(c *client.Client, i int64) error {
				return c.Set(context.Background(), key(i), value, client.WithConsistency(net.All))
			})
			for _, op := range []string{"set", "get"} {
				for _, l := range levels {
					for _, g := range []int{1, 64} {
						b.Run(fmt.Sprintf("op=%s/level=%s/g=%d", op, l.name, g), func(b *testing.B) {
							call := func(c *client.Client, i int64) error {
								ctx := context.Background()
								if op == "set" {
									return c.Set(ctx, key(i), value, client.WithConsistency(l.level))
								}
								got, err := c.Get(ctx, key(i), client.WithConsistency(l.level))
								if err == nil && len(got) != len(value) {
									err = fmt.Errorf("got %d bytes, want %d", len(got), len(value))
								}
								return err
							}
							b.SetBytes(persistValue)
							b.ResetTimer()
							start := time.Now()
							lat := runConcurrently(b, clients[:g], b.N, call)
							elapsed := time.Since(start)
							b.StopTimer()
							b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
							b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
							b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
						})
					}
				}
			}
		})
	}
}
