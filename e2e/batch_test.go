package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// Batches with real processes (issue 15 item 6): one writer writes batches
// of the keys b0..b3, batch i giving each the value i, through node 1
// first; readers read b0, b1, b2, b3 in that order at quorum, and within a
// pass never see a sequence lower than one they read before it (no
// fractured read: a batch read on one key is on the others too). Node 1,
// the coordinator, is killed with SIGKILL in the middle of batches and
// restarted. Afterwards, at all through every node, the four keys hold one
// batch: all or nothing.

var batchKeys = []string{"b0", "b1", "b2", "b3"}

func TestBatchesAtomicUnderKill(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 3)
	c.waitNormal(moveDeadline)
	dial := func(noRouting bool, addrs ...string) *client.Client {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cl, err := client.Dial(ctx, client.Options{Addrs: addrs, NoRouting: noRouting, Timeout: callTimeout})
		if err != nil {
			t.Fatalf("dial %v: %v", addrs, err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	addrs := strings.Split(c.addrs(1, 2, 3), ",")

	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var committed, aborted, unknown, other int
	var lastCommitted atomic.Int64
	writer := dial(true, addrs...) // node 1 coordinates while it is up
	wg.Go(func() {
		for i := int64(1); !stop.Load(); i++ {
			ws := make([]client.Write, len(batchKeys))
			for j, k := range batchKeys {
				ws[j] = client.Write{Key: k, Value: []byte(strconv.FormatInt(i, 10))}
			}
			err := writer.Batch(context.Background(), ws)
			mu.Lock()
			switch {
			case err == nil:
				committed++
				lastCommitted.Store(i)
			case errors.Is(err, client.ErrAborted):
				aborted++
			case errors.Is(err, client.ErrUnknownOutcome):
				unknown++
			default:
				other++
			}
			mu.Unlock()
		}
	})
	var passes, fractured atomic.Int64
	var firstFracture atomic.Value
	for r := range 3 {
		reader := dial(false, addrs...)
		wg.Go(func() {
			for !stop.Load() {
				high, complete := int64(0), true
				var seen []string
				for _, k := range batchKeys {
					v, err := reader.Get(context.Background(), k, client.WithConsistency(net.Quorum))
					if err != nil {
						complete = false
						break // a node is down: start the pass again
					}
					seq, _ := strconv.ParseInt(string(v), 10, 64)
					seen = append(seen, fmt.Sprintf("%s=%d", k, seq))
					if seq < high {
						fractured.Add(1)
						firstFracture.CompareAndSwap(nil, fmt.Sprintf("reader %d: %v", r, seen))
					}
					high = max(high, seq)
				}
				if complete {
					passes.Add(1)
				}
			}
		})
	}
	for lastCommitted.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	c.kill(1)
	before := lastCommitted.Load()
	for lastCommitted.Load() < before+50 {
		time.Sleep(5 * time.Millisecond)
	}
	c.start(1)
	c.waitNormal(moveDeadline)
	before = lastCommitted.Load()
	for lastCommitted.Load() < before+100 {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("batches: %d committed, %d aborted, %d unknown, %d other errors; %d complete read passes, %d fractured reads",
		committed, aborted, unknown, other, passes.Load(), fractured.Load())
	if n := fractured.Load(); n > 0 {
		t.Errorf("%d fractured reads; the first: %v", n, firstFracture.Load())
	}
	// All or nothing at all, through every node.
	for id := 1; id <= 3; id++ {
		var vals []string
		deadline := time.Now().Add(moveDeadline)
		for _, k := range batchKeys {
			for {
				out, errOut, code := memdb(t, "", "-addr", c.addrs(id), "-no-routing", "-consistency", "all", "get", k)
				if code == 0 {
					vals = append(vals, strings.TrimSpace(out))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("get %s at all through node %d: status %d, %s%s", k, id, code, out, errOut)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		for _, v := range vals[1:] {
			if v != vals[0] {
				t.Errorf("through node %d at all the batch keys hold %v: not one batch", id, vals)
				break
			}
		}
		if last, _ := strconv.ParseInt(vals[0], 10, 64); last < lastCommitted.Load() {
			t.Errorf("through node %d the keys hold batch %d, older than the last committed, %d", id, last, lastCommitted.Load())
		}
	}
}
