package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Counters with real processes (issue 14 item 7): eight memdb clients in
// pipe mode increment five counters through a 3-node rf-3 cluster while
// node 2 is killed with SIGKILL and restarted and a fourth node joins and
// then leaves. Afterwards every counter, read at all through each node,
// equals the sum of the acknowledged increments plus some of those whose
// outcome is unknown: none lost, none counted twice.

const counterKeys = 5

// incrementers are memdb processes in pipe mode, each sending
// "incr cK 1" lines one at a time and reading each answer.
type incrementers struct {
	stop    atomic.Bool
	wg      sync.WaitGroup
	acked   atomic.Int64
	mu      sync.Mutex
	ok      [counterKeys]int64 // acknowledged increments per key
	unknown [counterKeys]int64 // increments of unknown outcome per key
	failed  [counterKeys]int64 // definitely failed
	errs    map[string]int
}

func startIncrementers(t *testing.T, addrs string, procs int) *incrementers {
	t.Helper()
	w := &incrementers{errs: map[string]int{}}
	for p := range procs {
		cmd := exec.Command(filepath.Join(binaries(t), "memdb"), "-addr", addrs, "-consistency", "quorum")
		cmd.Env = append(os.Environ(), "MEMDB_CLIENT_KEY=")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		outp, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatalf("memdb client %d: %v", p, err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		out := bufio.NewScanner(outp)
		w.wg.Go(func() {
			defer in.Close()
			for i := 0; !w.stop.Load(); i++ {
				k := (p + i) % counterKeys
				if _, err := fmt.Fprintf(in, "incr c%d 1\n", k); err != nil {
					t.Errorf("client %d: writing to memdb: %v", p, err)
					return
				}
				if !out.Scan() {
					t.Errorf("client %d: memdb ended: %v", p, out.Err())
					return
				}
				w.record(k, out.Text())
			}
		})
	}
	return w
}

// record classifies one answer line of key k.
func (w *incrementers) record(k int, line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := strconv.ParseInt(line, 10, 64); err == nil {
		w.ok[k]++
		w.acked.Add(1)
		return
	}
	msg := strings.TrimPrefix(line, "error: ")
	// The client says "outcome unknown" (its ErrUnknownOutcome), a node's
	// error "unknown outcome" (CodeUnknownOutcome): either may have applied.
	if strings.Contains(msg, "outcome unknown") || strings.Contains(msg, "unknown outcome") {
		w.unknown[k]++
	} else {
		w.failed[k]++
	}
	w.errs[msg]++
}

func (w *incrementers) waitAcked(t *testing.T, n int64) {
	t.Helper()
	start := time.Now()
	for w.acked.Load() < n {
		if time.Since(start) > moveDeadline {
			t.Fatalf("incrementers: %d of %d increments acknowledged after %v", w.acked.Load(), n, moveDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCountersExactUnderKillJoinLeave(t *testing.T) {
	t.Parallel()
	const rf = 3
	c := startCluster(t, 3, rf)
	c.waitNormal(moveDeadline)

	w := startIncrementers(t, c.addrs(1, 2, 3), 8)
	w.waitAcked(t, 200)

	c.kill(2)
	w.waitAcked(t, w.acked.Load()+200)
	c.start(2)
	c.waitNormal(moveDeadline)
	w.waitAcked(t, w.acked.Load()+200)

	c.addNode()
	c.waitNormal(moveDeadline)
	w.waitAcked(t, w.acked.Load()+200)
	c.leave(4)
	c.waitRing(ids(1, 2, 3), ids(4))
	w.waitAcked(t, w.acked.Load()+100)
	w.stop.Store(true)
	w.wg.Wait()

	var acked, unknown, failed int64
	for k := range counterKeys {
		acked, unknown, failed = acked+w.ok[k], unknown+w.unknown[k], failed+w.failed[k]
	}
	var errs []string
	for m, n := range w.errs {
		errs = append(errs, fmt.Sprintf("%d× %s", n, m))
	}
	t.Logf("%d increments acknowledged, %d of unknown outcome, %d failed; errors: %v", acked, unknown, failed, errs)

	for k := range counterKeys {
		key := fmt.Sprintf("c%d", k)
		var first int64
		for id := 1; id <= 3; id++ {
			v := readCounter(t, c, id, key)
			if v < w.ok[k] || v > w.ok[k]+w.unknown[k] {
				t.Errorf("counter %s through node %d at all: %d, want the %d acknowledged increments plus at most the %d unknown ones\n%s",
					key, id, v, w.ok[k], w.unknown[k], c.dump())
			}
			if id == 1 {
				first = v
			} else if v != first {
				t.Errorf("counter %s: node %d reads %d at all, node 1 read %d", key, id, v, first)
			}
		}
		t.Logf("%s = %d: %d acknowledged, %d unknown, %d failed", key, first, w.ok[k], w.unknown[k], w.failed[k])
	}
}

// readCounter reads key at all through node id alone, retrying while the
// cluster settles.
func readCounter(t *testing.T, c *cluster, id int, key string) int64 {
	t.Helper()
	start := time.Now()
	for {
		out, errOut, code := memdb(t, "", "-addr", c.addrs(id), "-no-routing", "-consistency", "all", "counter", key)
		if code == 0 {
			v, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
			if err != nil {
				t.Fatalf("memdb counter %s printed %q", key, out)
			}
			return v
		}
		if time.Since(start) > moveDeadline {
			t.Fatalf("memdb counter %s through node %d: status %d, %s%s", key, id, code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
