package java

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
)

var (
	loadAddrs = flag.String("load.addrs", "", "comma-separated node addresses: run TestGoClientLoad against them")
	loadKey   = flag.String("load.key", "", "the client key of -load.addrs")
	loadOps   = flag.Int("load.ops", 20000, "calls per measurement")
)

// TestGoClientLoad is the Go half of PAPER's Java-beside-Go table
// (java/bench.sh; Bench.java is the Java half): the same workload, 1024
// keys, 100-byte values, default (quorum) level, one shared routing
// client, 1 and 64 callers. It runs only with -load.addrs.
func TestGoClientLoad(t *testing.T) {
	if *loadAddrs == "" {
		t.Skip("needs -load.addrs (java/bench.sh)")
	}
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addrs: strings.Split(*loadAddrs, ","), Key: *loadKey})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	value := []byte(strings.Repeat("x", 100))
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
		if err := c.Set(ctx, keys[i], value); err != nil {
			t.Fatal(err)
		}
	}
	for _, write := range []bool{true, false} {
		for _, callers := range []int{1, 64} {
			var next atomic.Int64
			lat := make([][]time.Duration, callers)
			var wg sync.WaitGroup
			start := time.Now()
			for w := range callers {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(*loadOps) {
							return
						}
						t0 := time.Now()
						var err error
						if write {
							err = c.Set(ctx, keys[i%1024], value)
						} else {
							_, err = c.Get(ctx, keys[i%1024])
						}
						lat[w] = append(lat[w], time.Since(t0))
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			all := slices.Concat(lat...)
			slices.Sort(all)
			op := map[bool]string{true: "set", false: "get"}[write]
			fmt.Printf("go %s threads=%d ops=%d ops/s=%.0f p50-us=%d p99-us=%d\n", op, callers, *loadOps,
				float64(*loadOps)/elapsed.Seconds(), all[len(all)/2].Microseconds(), all[min(len(all)-1, len(all)*99/100)].Microseconds())
		}
	}
}
