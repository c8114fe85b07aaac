package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	stdnet "net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// The pause measurement (PAPER §5.9) runs the same workload as
// TestPausedNodeDoesNotStall with the timings and prints the
// throughput; without -pause.measure the test runs shorter and asserts
// only completions and the unknown-outcome rule, never a rate.
var (
	pauseMeasure = flag.Bool("pause.measure", false, "TestPausedNodeDoesNotStall: pause 10 s and print throughput before, during and after")
	pauseTimeout = flag.Duration("pause.timeout", 2*time.Second, "TestPausedNodeDoesNotStall: the client's call timeout")
)

// pauseOp is one call of a pause run, its times measured from the run's
// start.
type pauseOp struct {
	start, end time.Duration
	key        string
	err        error
}

// pauseRun is one client driving calls in turn through a window in which
// a node is stopped.
type pauseRun struct {
	mu  sync.Mutex
	ops []pauseOp
	// stop and cont are when SIGSTOP and SIGCONT were sent.
	stop, cont, end time.Duration
}

func (r *pauseRun) add(op pauseOp) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// window is what ended in [from, to): calls that succeeded and calls that
// failed, by class.
type window struct {
	from, to time.Duration
	ok       int
	errs     map[string]int
}

func (w window) rate() float64 { return float64(w.ok) / (w.to - w.from).Seconds() }

func (w window) String() string {
	var es []string
	for k, n := range w.errs {
		es = append(es, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(es)
	if len(es) == 0 {
		es = []string{"none"}
	}
	return fmt.Sprintf("[%5.1fs, %5.1fs) %6d ok, %8.0f/s, errors: %s", w.from.Seconds(), w.to.Seconds(), w.ok, w.rate(), strings.Join(es, ", "))
}

// pauseErrClass names an error for the tally.
func pauseErrClass(err error) string {
	switch {
	case errors.Is(err, client.ErrUnknownOutcome):
		return "unknown"
	case errors.Is(err, client.ErrTimeout):
		return "timeout"
	case errors.Is(err, client.ErrQuorum):
		return "quorum"
	case errors.Is(err, client.ErrUnreachable):
		return "unreachable"
	}
	return "other"
}

func (r *pauseRun) window(from, to time.Duration) window {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := window{from: from, to: to, errs: map[string]int{}}
	for _, op := range r.ops {
		if op.end < from || op.end >= to {
			continue
		}
		if op.err == nil {
			w.ok++
		} else {
			w.errs[pauseErrClass(op.err)]++
		}
	}
	return w
}

// failedInPause returns the calls that failed and were in flight at some
// point while the node was stopped: they ended after the stop and started
// before the resume. It logs the other failed calls, which the test does
// not judge (see TestPausedNodeDoesNotStall).
func (r *pauseRun) failedInPause(t *testing.T) []pauseOp {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var in, out []pauseOp
	for _, op := range r.ops {
		switch {
		case op.err == nil:
		case op.end >= r.stop && op.start < r.cont:
			in = append(in, op)
		default:
			out = append(out, op)
		}
	}
	if len(out) > 0 {
		t.Logf("%d calls failed outside the pause (not judged):\n%s", len(out), renderOps(out))
	}
	return in
}

// pausePlan is the timeline of a run: calls for `before`, the node
// stopped for `pause` (or until enough, if not nil, says so), calls for
// `after` more.
type pausePlan struct {
	before, pause, after time.Duration
	enough               func(*pauseRun) bool
}

// runPaused drives call(key) on keys in turn from one goroutine, stops
// the node (stopNode) after plan.before and resumes it (contNode) as
// plan says, and returns the record.
func runPaused(t *testing.T, plan pausePlan, keys []string, call func(ctx context.Context, key string) error, stopNode, contNode func()) *pauseRun {
	t.Helper()
	r := &pauseRun{}
	begin := time.Now()
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			key := keys[i%len(keys)]
			s := time.Since(begin)
			err := call(context.Background(), key)
			r.add(pauseOp{start: s, end: time.Since(begin), key: key, err: err})
		}
	}()
	time.Sleep(plan.before)
	r.mu.Lock()
	r.stop = time.Since(begin)
	r.mu.Unlock()
	stopNode()
	for deadline := time.Now().Add(plan.pause); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if plan.enough != nil && plan.enough(r) {
			break
		}
	}
	r.mu.Lock()
	r.cont = time.Since(begin)
	r.mu.Unlock()
	contNode()
	time.Sleep(plan.after)
	close(quit)
	<-done
	r.end = time.Since(begin)
	return r
}

// doneDuringPause returns the keys of calls that started after the stop
// and succeeded before the resume (r.cont zero: not resumed yet).
func (r *pauseRun) doneDuringPause() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make(map[string]bool)
	for _, op := range r.ops {
		if op.err == nil && op.start >= r.stop && (r.cont == 0 || op.end < r.cont) {
			keys[op.key] = true
		}
	}
	return keys
}

// report renders before, during (from 1 s after the stop, or from the
// stop for a pause shorter than 2 s) and after.
func (r *pauseRun) report() (before, during, after window) {
	before = r.window(0, r.stop)
	from := r.stop + time.Second
	if r.cont-r.stop < 2*time.Second {
		from = r.stop
	}
	during = r.window(from, r.cont)
	after = r.window(r.cont, r.end)
	return before, during, after
}

// sigNode sends sig to the node's process.
func sigNode(t *testing.T, n *cnode, sig syscall.Signal) {
	t.Helper()
	if err := n.d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to node %d: %v", sig, n.id, err)
	}
}

// pauseKeys are the keys a run cycles through, as the run did.
func pauseKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("pause-%04d", i)
	}
	return keys
}

// stallPlan is the plan of a run through a stalled node over keys, and
// the client's call timeout: by default a stall that lasts until every
// key was done during it (30 s at most) and a 10 s timeout (calls are
// judged on completing, not on speed: see TestPausedNodeDoesNotStall);
// with -pause.measure, the 10 s stall and -pause.timeout.
func stallPlan(keys []string) (pausePlan, time.Duration) {
	if *pauseMeasure {
		return pausePlan{before: 5 * time.Second, pause: 10 * time.Second, after: 5 * time.Second}, *pauseTimeout
	}
	return pausePlan{before: 2 * time.Second, pause: 30 * time.Second, after: 2 * time.Second,
		enough: func(r *pauseRun) bool { return len(r.doneDuringPause()) == len(keys) }}, max(*pauseTimeout, 10*time.Second)
}

// pauseClient dials a routing client of every node of c, through dialer
// if it is not nil (client.Options.Dialer).
func pauseClient(t *testing.T, c *cluster, timeout time.Duration, dialer func(context.Context, string) (stdnet.Conn, error)) *client.Client {
	t.Helper()
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.listen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, client.Options{Addrs: addrs, Timeout: timeout, Consistency: net.Quorum, Dialer: dialer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}
