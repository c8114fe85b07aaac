package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// BenchmarkClusterCAS measures the Paxos operations — compare-and-set,
// serial Get and Paxos put (Set at net.Serial) — against the same
// three-node loopback cluster as BenchmarkCluster (rf 3, routing clients,
// one cluster per fsync mode):
//
//	go test ./host -run '^$' -bench ClusterCAS -benchtime 5000x
//
// The CAS cases run from 1 or 64 goroutines, each with its own client that
// remembers the value it last saw of its key and CASes it to a new one of
// persistValue bytes:
//
//   - keys=distinct: every client has a key of its own, so nearly every CAS
//     swaps and the cost is that of an uncontended round;
//   - keys=one: all clients share one key. A CAS that does not swap (false,
//     contention or unknown outcome) is followed by a quorum Get, not timed,
//     that refreshes the client's expectation; a plain read keeps the
//     nodes' Paxos counters to the CASes alone.
//
// The serial get cases read clusterCASKeys keys written beforehand at level
// all; the put cases cycle through clusterKeys fresh keys.
//
// Each case reports ops/s and the p50 and p99 latency of one call, like
// BenchmarkCluster, and from the nodes' Paxos counters (the sum over the
// three nodes of node.Stats, taken before and after the timed calls):
//
//   - rt/op: prepare and propose phases per answered request
//     (PaxosPhases/PaxosDone), each one round trip to the replicas, so 2
//     for an uncontended CAS or put and 1 for a serial read or a CAS whose
//     expectation fails; a round that finds a proposal accepted but not yet
//     committed at the acceptors (another's, or the client's own previous
//     CAS, whose commit is asynchronous) finishes it first, at two more;
//   - attempts/req: ballots per request (PaxosAttempts/PaxosRequests);
//   - finished/req: in-progress proposals a round finished before its own;
//   - contention/req and unknown/req: the shares that ended in contention
//     or an unknown outcome.
//
// The CAS cases also report swaps/s (CASes that swapped, per second) and
// false/op, the share that answered false. Acceptors sync every promise and
// acceptance whatever the fsync mode, so fsync=none only spares the commit
// and the plain writes.

// clusterCASKeys is the number of keys the serial get cases read.
const clusterCASKeys = 1024

// clusterPaxos sums the nodes' Paxos counters.
type clusterPaxos struct {
	requests, attempts, phases, finished, done, contention, unknown uint64
}

// benchNodeStats reads s's node counters on its loop.
func benchNodeStats(s *Server) node.Stats {
	var ns node.Stats
	s.call(func() { ns = s.node.Stats() })
	return ns
}

func readClusterPaxos(servers []*Server) clusterPaxos {
	var p clusterPaxos
	for _, s := range servers {
		ns := benchNodeStats(s)
		p.requests += ns.PaxosRequests
		p.attempts += ns.PaxosAttempts
		p.phases += ns.PaxosPhases
		p.finished += ns.PaxosFinished
		p.done += ns.PaxosDone
		p.contention += ns.PaxosContention
		p.unknown += ns.PaxosUnknown
	}
	return p
}

// report reports the Paxos counters from before to after as per-request
// ratios.
func (before clusterPaxos) report(b *testing.B, after clusterPaxos) {
	ratio := func(n, d uint64) float64 {
		if d == 0 {
			return 0
		}
		return float64(n) / float64(d)
	}
	req := after.requests - before.requests
	b.ReportMetric(ratio(after.phases-before.phases, after.done-before.done), "rt/op")
	b.ReportMetric(ratio(after.attempts-before.attempts, req), "attempts/req")
	b.ReportMetric(ratio(after.finished-before.finished, req), "finished/req")
	b.ReportMetric(ratio(after.contention-before.contention, req), "contention/req")
	b.ReportMetric(ratio(after.unknown-before.unknown, req), "unknown/req")
}

// casClient is one client's CAS state; only the goroutine that runs its
// client touches it.
type casClient struct {
	id   int
	key  string
	seen []byte // the value the client expects; nil: the key is absent
	n    int    // values written, so that each new one differs
	lat  []time.Duration
	// Outcomes.
	swapped, refused, contention, unknown int
}

// casValue returns the n-th value of client id: persistValue bytes.
func casValue(id, n int) []byte {
	v := make([]byte, persistValue)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	copy(v, fmt.Sprintf("c%02d-%010d-", id, n))
	return v
}

// cas CASes the client's key from the value it last saw to a new one,
// timing the CAS alone. Unless it swapped, a quorum Get refreshes what the
// client expects. Losing (false, contention, an unknown outcome) is
// counted, not an error.
func (st *casClient) cas(c *client.Client) error {
	ctx := context.Background()
	st.n++
	next := casValue(st.id, st.n)
	t0 := time.Now()
	ok, err := c.CAS(ctx, st.key, st.seen, next)
	st.lat = append(st.lat, time.Since(t0))
	switch {
	case err == nil && ok:
		st.swapped++
		st.seen = next
		return nil
	case err == nil:
		st.refused++
	case errors.Is(err, client.ErrContention):
		st.contention++
	case errors.Is(err, client.ErrUnknownOutcome):
		st.unknown++
	default:
		return err
	}
	got, err := c.Get(ctx, st.key, client.WithConsistency(net.Quorum))
	switch {
	case errors.Is(err, client.ErrNotFound):
		st.seen = nil
	case err != nil:
		return fmt.Errorf("refresh: %w", err)
	default:
		st.seen = got
	}
	return nil
}

// casRuns numbers the CAS runs, so that each starts on keys never written.
var casRuns atomic.Int64

// benchCAS runs b.N CASes from clients, each on its own key or all on one,
// and reports them.
func benchCAS(b *testing.B, servers []*Server, clients []*client.Client, shared bool) {
	run := casRuns.Add(1)
	states := make(map[*client.Client]*casClient, len(clients))
	for w, c := range clients {
		key := fmt.Sprintf("cas-%d-%02d", run, w)
		if shared {
			key = fmt.Sprintf("cas-%d-one", run)
		}
		states[c] = &casClient{id: w, key: key}
	}
	b.SetBytes(persistValue)
	b.ResetTimer()
	before := readClusterPaxos(servers)
	start := time.Now()
	runConcurrently(b, clients, b.N, func(c *client.Client, _ int64) error { return states[c].cas(c) })
	elapsed := time.Since(start)
	b.StopTimer()
	after := readClusterPaxos(servers)
	var lat []time.Duration
	var swapped, refused int
	for _, st := range states {
		lat = append(lat, st.lat...)
		swapped += st.swapped
		refused += st.refused
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(swapped)/elapsed.Seconds(), "swaps/s")
	b.ReportMetric(float64(refused)/float64(b.N), "false/op")
	before.report(b, after)
}

func BenchmarkClusterCAS(b *testing.B) {
	value := make([]byte, persistValue)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	getKey := func(i int64) string { return fmt.Sprintf("serial-%04d", i%clusterCASKeys) }
	putKey := func(i int64) string { return fmt.Sprintf("put-%07d", i%clusterKeys) }
	for _, mode := range []string{"always", "none"} {
		b.Run("fsync="+mode, func(b *testing.B) {
			servers := startBenchCluster(b, mode)
			addrs := make([]string, len(servers))
			for i, s := range servers {
				addrs[i] = s.Addr()
			}
			clients := make([]*client.Client, 64)
			for i := range clients {
				c, err := client.Dial(context.Background(), client.Options{Addrs: addrs})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.Close() })
				clients[i] = c
			}
			// Every serial Get finds its key.
			runConcurrently(b, clients, clusterCASKeys, func(c *client.Client, i int64) error {
				return c.Set(context.Background(), getKey(i), value, client.WithConsistency(net.All))
			})
			for _, g := range []int{1, 64} {
				for _, keys := range []string{"distinct", "one"} {
					b.Run(fmt.Sprintf("op=cas/keys=%s/g=%d", keys, g), func(b *testing.B) {
						benchCAS(b, servers, clients[:g], keys == "one")
					})
				}
			}
			for _, op := range []string{"get", "put"} {
				for _, g := range []int{1, 64} {
					b.Run(fmt.Sprintf("op=%s/level=serial/g=%d", op, g), func(b *testing.B) {
						call := func(c *client.Client, i int64) error {
							ctx := context.Background()
							serial := client.WithConsistency(net.Serial)
							if op == "put" {
								return c.Set(ctx, putKey(i), value, serial)
							}
							got, err := c.Get(ctx, getKey(i), serial)
							if err == nil && len(got) != len(value) {
								err = fmt.Errorf("got %d bytes, want %d", len(got), len(value))
							}
							return err
						}
						b.SetBytes(persistValue)
						b.ResetTimer()
						before := readClusterPaxos(servers)
						start := time.Now()
						lat := runConcurrently(b, clients[:g], b.N, call)
						elapsed := time.Since(start)
						b.StopTimer()
						after := readClusterPaxos(servers)
						b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
						b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
						b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
						before.report(b, after)
					})
				}
			}
		})
	}
}
