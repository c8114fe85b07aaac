package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// Compactions while clients write (issue 23 item 4): one node, fsync
// always, 60,000 keys loaded; then 16 writers overwrite their keys and add
// new ones while eight compactions run, one after another (each walks the
// table in slices between the writes). No write fails or ends unknown, every acknowledged
// value reads back, and after a SIGKILL and a restart on the compacted log
// every one is still there.
func TestCompactionUnderWrites(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	c.waitNormal(moveDeadline)
	dial := func() *client.Client {
		cl, err := client.Dial(context.Background(), client.Options{Addrs: []string{c.node(1).listen}, Consistency: net.One, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	cl := dial()
	const writers, base, compactions = 16, 60_000, 8
	// Writer w owns keys w<w>-<i>: the last value it was acknowledged for
	// a key is the key's value.
	last := make([]map[string]string, writers)
	for w := range last {
		last[w] = map[string]string{}
	}
	var failed atomic.Int64
	var errs sync.Map
	set := func(w int, k, v string) {
		if err := cl.Set(context.Background(), k, []byte(v)); err != nil {
			failed.Add(1)
			errs.Store(err.Error(), true)
			return
		}
		last[w][k] = v
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < base; i += writers {
				set(w, fmt.Sprintf("w%d-%06d", w, i), "v0")
			}
		})
	}
	wg.Wait()

	var stop atomic.Bool
	var during atomic.Int64
	for w := range writers {
		wg.Go(func() {
			for n := 1; !stop.Load(); n++ {
				// An overwrite of one of the writer's keys, then a new key.
				set(w, fmt.Sprintf("w%d-%06d", w, (w+n*writers*7)%base), fmt.Sprintf("v%d", n))
				set(w, fmt.Sprintf("w%d-new-%06d", w, n), "n")
				during.Add(2)
			}
		})
	}
	for i := range compactions {
		start := time.Now()
		code, body, err := c.node(1).post("/v1/compact")
		if err != nil || code != 200 {
			t.Fatalf("POST /v1/compact: %d %s %v", code, body, err)
		}
		if i == 0 || i == compactions-1 {
			t.Logf("compaction %d answered in %v: %s", i+1, time.Since(start).Round(time.Millisecond), strings.TrimSpace(body))
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		var msgs []string
		errs.Range(func(k, _ any) bool { msgs = append(msgs, k.(string)); return true })
		t.Fatalf("%d writes failed or ended unknown during the compactions: %v", n, msgs)
	}
	t.Logf("%d writes acknowledged while the compactions ran", during.Load())

	check := func(when string) {
		t.Helper()
		cl := dial()
		var bad atomic.Int64
		var first sync.Once
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for k, want := range last[w] {
					got, err := cl.Get(context.Background(), k)
					if err != nil || string(got) != want {
						bad.Add(1)
						first.Do(func() { t.Errorf("%s: %s = %q, %v; want %q", when, k, got, err, want) })
					}
				}
			})
		}
		wg.Wait()
		if n := bad.Load(); n > 0 {
			t.Fatalf("%s: %d acknowledged values missing or wrong", when, n)
		}
	}
	check("after the compactions")
	c.kill(1)
	c.start(1)
	c.waitNormal(moveDeadline)
	check("after SIGKILL and a restart")
}
