package e2e

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// What anti-entropy costs under a write load (issue 23): two nodes, rf 2,
// fsync none; 64 writers set -ae.keys distinct keys of 100 bytes at level
// one (so the second replica lags, and every round finds differences);
// then the load's length and what anti-entropy streamed — with
// anti-entropy at its default and off, -ae.runs times each, alternating.
// A measurement for PAPER, not a test (no threshold):
//
//	go test ./e2e -run TestAntiEntropyUnderLoad -ae.keys 300000 -v
var (
	aeKeys = flag.Int("ae.keys", 0, "keys to write for TestAntiEntropyUnderLoad (0 skips it)")
	aeRuns = flag.Int("ae.runs", 1, "runs of TestAntiEntropyUnderLoad with anti-entropy on and off each")
)

func TestAntiEntropyUnderLoad(t *testing.T) {
	if *aeKeys == 0 {
		t.Skip("a measurement: run with -ae.keys N")
	}
	for run := range *aeRuns {
		for _, ae := range []string{"10s", "off"} {
			t.Run(fmt.Sprintf("run%d/anti-entropy=%s", run+1, ae), func(t *testing.T) { antiEntropyUnderLoad(t, ae) })
		}
	}
}

func antiEntropyUnderLoad(t *testing.T, ae string) {
	c := &cluster{t: t, rf: 2}
	for i := range 2 {
		c.nodes = append(c.nodes, &cnode{id: i + 1, listen: freeAddr(t), dir: t.TempDir(), extra: []string{"-fsync", "none", "-anti-entropy", ae}})
		c.start(i + 1)
	}
	c.waitNormal(moveDeadline)
	cl, err := client.Dial(context.Background(), client.Options{Addrs: strings.Split(c.addrs(1, 2), ","), Consistency: net.One, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := make([]byte, 100)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*aeKeys) {
					return
				}
				if err := cl.Set(context.Background(), fmt.Sprintf("ae:%010d", i), value); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	for id := 1; id <= 2; id++ {
		st := c.node(id).status(t)
		t.Logf("node %d: %d keys; anti-entropy rounds %d, arcs differing %d, spans pulled %d; streamed in %d entries, %d bytes",
			id, st.Keys, st.RepairRounds, st.RepairArcs, st.RepairSpans, st.StreamedIn, st.StreamedInBytes)
	}
	t.Logf("%d sets at level one by 64 writers took %v (%.0f/s), %d failed", *aeKeys, took.Round(time.Millisecond), float64(*aeKeys)/took.Seconds(), failed.Load())
}
