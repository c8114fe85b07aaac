package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// Helpers for range movements with real processes: a node added to a
// running cluster, a node decommissioned through POST /v1/leave, rings
// that show some members left, and writers that record every write the
// cluster acknowledged.

// moveDeadline bounds one join or leave, and a left node's exit. It is a
// deadline that catches a hang, not a performance threshold: a movement
// takes a few seconds on loopback.
const moveDeadline = 60 * time.Second

// addNode starts a new node, id one above the highest, joining through
// node 1, and returns it once it has said ready (it joins afterwards).
func (c *cluster) addNode() *cnode {
	c.t.Helper()
	n := &cnode{id: len(c.nodes) + 1, listen: freeAddr(c.t), dir: c.t.TempDir()}
	c.nodes = append(c.nodes, n)
	c.start(n.id)
	return n
}

// post POSTs to path on the node's admin API and returns the status code
// and body. The client waits up to moveDeadline: POST /v1/leave answers
// once the node has left.
func (n *cnode) post(path string) (int, string, error) {
	cl, base := n.adminClient(moveDeadline)
	resp, err := cl.Post(base+path, "application/json", nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// leaveResult is what a leave took: until POST /v1/leave answered, and
// until the process exited, both from the POST.
type leaveResult struct {
	answered, exited time.Duration
}

// leave decommissions the node with id through POST /v1/leave and waits
// for its memdbd to exit by itself. It fails the test unless the POST
// answers 200 {"left": true} and the process exits with status 0 within
// moveDeadline. The node stays in c.nodes with no daemon.
func (c *cluster) leave(id int) leaveResult {
	c.t.Helper()
	start := time.Now()
	code, body, err := c.node(id).post("/v1/leave")
	p := posted{code, body, err, time.Since(start)}
	if !leftOK(p) {
		c.t.Fatalf("POST /v1/leave to node %d: %v; want 200 {\"left\":true}\n%s", id, p, c.dump())
	}
	return leaveResult{answered: p.took, exited: c.waitExit(id, start)}
}

// waitExit waits for node id's memdbd, asked to leave at start, to exit by
// itself, fails the test unless it exits 0 within moveDeadline of start,
// and returns when it exited, from start.
func (c *cluster) waitExit(id int, start time.Time) time.Duration {
	c.t.Helper()
	n := c.node(id)
	select {
	case <-n.d.done:
	case <-time.After(moveDeadline - time.Since(start)):
		c.t.Fatalf("node %d still running %v after POST /v1/leave:\n%s", id, moveDeadline, c.dump())
	}
	took := time.Since(start)
	if code := n.d.cmd.ProcessState.ExitCode(); code != 0 {
		c.t.Fatalf("node %d exited %d after leaving, want 0:\n%s", id, code, n.d.log)
	}
	if !strings.Contains(n.d.log.String(), "stopped") {
		c.t.Errorf("node %d exited 0 without its stopped line:\n%s", id, n.d.log)
	}
	n.d = nil
	return took
}

// ringIs reports whether ring r shows exactly the members normal and left:
// those of normal normal and alive, on the read and the write ring; those
// of left with phase left (and off both rings).
func ringIs(r ringView, normal, left []uint16) bool {
	if len(r.Members) != len(normal)+len(left) {
		return false
	}
	for _, m := range r.Members {
		switch {
		case slices.Contains(normal, m.ID):
			if m.Phase != "normal" || m.State != "alive" {
				return false
			}
		case slices.Contains(left, m.ID):
			if m.Phase != "left" {
				return false
			}
		default:
			return false
		}
	}
	sorted := func(s []uint16) []uint16 { s = slices.Clone(s); slices.Sort(s); return s }
	return slices.Equal(sorted(r.Read), sorted(normal)) && slices.Equal(sorted(r.Write), sorted(normal))
}

// waitRing polls /v1/ring on every running node until each shows the
// members normal normal and alive and those left left (ringIs), and
// returns how long that took. After moveDeadline it fails the test.
func (c *cluster) waitRing(normal, left []uint16) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		all := true
		for _, n := range c.nodes {
			if n.d == nil {
				continue
			}
			var r ringView
			if _, err := n.getJSON("/v1/ring", &r); err != nil || !ringIs(r, normal, left) {
				all = false
				break
			}
		}
		if all {
			return time.Since(start)
		}
		if time.Since(start) > moveDeadline {
			c.t.Fatalf("the ring did not become normal %v, left %v on every running node within %v:\n%s", normal, left, moveDeadline, c.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ownPhase reads the node's own phase from its /v1/ring ("" if it does not
// answer or does not list itself), and how many members are on its read
// ring.
func (n *cnode) ownPhase() (string, int) {
	var r ringView
	if _, err := n.getJSON("/v1/ring", &r); err != nil {
		return "", 0
	}
	for _, m := range r.Members {
		if int(m.ID) == n.id {
			return m.Phase, len(r.Read)
		}
	}
	return "", len(r.Read)
}

// waitOwnPhase polls the node's /v1/ring until it shows itself in phase,
// and fails the test after moveDeadline.
func (c *cluster) waitOwnPhase(id int, phase string) {
	c.t.Helper()
	start := time.Now()
	for {
		if p, _ := c.node(id).ownPhase(); p == phase {
			return
		}
		if time.Since(start) > moveDeadline {
			c.t.Fatalf("node %d not %s within %v:\n%s", id, phase, moveDeadline, c.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replicasOn returns the keys of kvs whose rf replicas, on the ring of
// members ids with default vnodes, include id: what node id must hold
// once the ring is ids (node/cluster.go builds the same ring).
func replicasOn(t *testing.T, kvs []kv, ids []uint16, rf, id int) []kv {
	t.Helper()
	r, err := ring.New(1, ring.Virtual(ids, ring.DefaultVnodes))
	if err != nil {
		t.Fatal(err)
	}
	var mine []kv
	for _, w := range kvs {
		if slices.Contains(r.Replicas([]byte(w.key), rf), uint16(id)) {
			mine = append(mine, w)
		}
	}
	return mine
}

// phaseLineRE matches a node's "phase changed" log line: its time and the
// phase it turned.
var phaseLineRE = regexp.MustCompile(`(?m)^time=(\S+) .*msg="phase changed".* phase=(\w+)`)

// phaseTime returns when the daemon logged that it turned phase (the first
// time), read from its log line's timestamp.
func phaseTime(t *testing.T, d *daemon, phase string) time.Time {
	t.Helper()
	for _, m := range phaseLineRE.FindAllStringSubmatch(d.log.String(), -1) {
		if m[2] != phase {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("phase line time %q: %v", m[1], err)
		}
		return at
	}
	t.Fatalf("no \"phase changed\" line for phase %s in the log:\n%s", phase, d.log)
	return time.Time{}
}

// writers are goroutines that each write distinct keys, one at a time,
// through their own client, until stopped, and record every write the
// cluster acknowledged and every one that failed (its outcome unknown).
type writers struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	acked atomic.Int64

	mu     sync.Mutex
	ok     []kv           // acknowledged writes
	failed []kv           // writes that returned an error: applied or not
	errs   map[string]int // the failures' errors, by message
}

// startWriters starts procs writers through the nodes at addrs. Writer p
// writes keys w<p>-00000, w<p>-00001, ..., each once, with unique values.
func startWriters(t *testing.T, addrs []string, procs int) *writers {
	t.Helper()
	w := &writers{errs: map[string]int{}}
	for p := range procs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cl, err := client.Dial(ctx, client.Options{Addrs: addrs, Timeout: 5 * time.Second, Consistency: net.Quorum})
		cancel()
		if err != nil {
			t.Fatalf("writer %d: dial %v: %v", p, addrs, err)
		}
		t.Cleanup(func() { cl.Close() })
		w.wg.Go(func() {
			for i := 0; !w.stop.Load(); i++ {
				k := kv{fmt.Sprintf("w%d-%05d", p, i), fmt.Sprintf("v%d.%d-%s", p, i, strings.Repeat("y", i%23))}
				err := cl.Set(context.Background(), k.key, []byte(k.value))
				w.mu.Lock()
				if err == nil {
					w.ok = append(w.ok, k)
					w.acked.Add(1)
				} else {
					w.failed = append(w.failed, k)
					w.errs[err.Error()]++
				}
				w.mu.Unlock()
			}
		})
	}
	return w
}

// waitAcked waits until the writers have n acknowledged writes in all,
// and fails the test if that takes longer than moveDeadline.
func (w *writers) waitAcked(t *testing.T, n int64) {
	t.Helper()
	start := time.Now()
	for w.acked.Load() < n {
		if time.Since(start) > moveDeadline {
			t.Fatalf("writers: %d of %d writes acknowledged after %v", w.acked.Load(), n, moveDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// halt stops the writers, waits for the writes in flight, and returns the
// acknowledged and the failed writes.
func (w *writers) halt() (ok, failed []kv) {
	w.stop.Store(true)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ok), slices.Clone(w.failed)
}

// errSummary renders the failed writes' errors, for the log.
func (w *writers) errSummary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, e := range slices.Sorted(maps.Keys(w.errs)) {
		fmt.Fprintf(&b, "\n  %d× %s", w.errs[e], e)
	}
	return b.String()
}

// waitKeys polls node id's /v1/status until it holds exactly want keys,
// and fails the test with its status after moveDeadline. A quorum write is
// acknowledged before its last replica applies it, so a count may lag for
// a moment; an exact count that never arrives fails.
func (c *cluster) waitKeys(id, want int) nodeStatus {
	c.t.Helper()
	start := time.Now()
	for {
		st := c.node(id).status(c.t)
		if st.Keys == want {
			return st
		}
		if time.Since(start) > moveDeadline {
			c.t.Fatalf("node %d holds %d keys after %v, want exactly the %d it replicates: status %+v\n%s", id, st.Keys, moveDeadline, want, st, c.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitKeysAtLeast polls node id's /v1/status until it holds at least want
// keys, and fails the test with its status after moveDeadline.
func (c *cluster) waitKeysAtLeast(id, want int) nodeStatus {
	c.t.Helper()
	start := time.Now()
	for {
		st := c.node(id).status(c.t)
		if st.Keys >= want {
			return st
		}
		if time.Since(start) > moveDeadline {
			c.t.Fatalf("node %d holds %d keys after %v, want at least the %d it replicates: status %+v\n%s", id, st.Keys, moveDeadline, want, st, c.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ids returns the node ids n as ring member ids.
func ids(n ...int) []uint16 {
	out := make([]uint16, len(n))
	for i, id := range n {
		out[i] = uint16(id)
	}
	return out
}

// stopped pauses a node's process (SIGSTOP) until the returned func
// resumes it (SIGCONT); a cleanup resumes it too, so that the daemon's
// own cleanup can stop it.
func stopped(t *testing.T, n *cnode) func() {
	t.Helper()
	if err := n.d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP node %d: %v", n.id, err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			n.d.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	return resume
}

// posted is the answer to a postAsync: status code, body, error, and how
// long it took to come.
type posted struct {
	code int
	body string
	err  error
	took time.Duration
}

func (p posted) String() string {
	return fmt.Sprintf("%d %s (err %v, after %v)", p.code, strings.TrimSpace(p.body), p.err, p.took.Round(time.Millisecond))
}

// postAsync POSTs path to the node in the background; the channel gets
// the answer.
func postAsync(n *cnode, path string) <-chan posted {
	ch := make(chan posted, 1)
	start := time.Now()
	go func() {
		code, body, err := n.post(path)
		ch <- posted{code, body, err, time.Since(start)}
	}()
	return ch
}

// leftOK reports whether p is POST /v1/leave's answer of success.
func leftOK(p posted) bool {
	var left struct {
		Left bool `json:"left"`
	}
	return p.err == nil && p.code == http.StatusOK && json.Unmarshal([]byte(p.body), &left) == nil && left.Left
}

// waitLog polls the daemon's log until a line matches re, and fails the
// test after moveDeadline, or as soon as check (if not nil) returns a
// reason the line will never come.
func (c *cluster) waitLog(id int, re *regexp.Regexp, check func() string) string {
	c.t.Helper()
	d := c.node(id).d
	start := time.Now()
	for {
		if m := re.FindString(d.log.String()); m != "" {
			return m
		}
		if check != nil {
			if why := check(); why != "" {
				c.t.Fatalf("node %d logged no line matching %q: %s\n%s", id, re, why, c.dump())
			}
		}
		if time.Since(start) > moveDeadline {
			c.t.Fatalf("node %d logged no line matching %q within %v:\n%s", id, re, moveDeadline, c.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answer waits for a postAsync answer, and fails the test after
// moveDeadline.
func answer(t *testing.T, ch <-chan posted, what string) posted {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(moveDeadline):
		t.Fatalf("%s: no answer within %v", what, moveDeadline)
		return posted{}
	}
}

// lockKey is the system key that holds the movement lock (node/move.go).
const lockKey = "\x00memdb/move"
