package e2e

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// TestPausedNodeDoesNotStall stops node 2 of three (rf 3) with SIGSTOP
// while one routing client writes keys in turn, then again while it reads
// them (issue 21). A quorum of every key's replicas is up the whole time,
// so calls must keep completing through other coordinators: the pause
// lasts until every key has been written (read) by a call that started
// after the stop and ended before the resume. The only write allowed to
// fail is one already sent to node 2 before the client could know that
// node 2 had stopped — at most one, the writer calls one at a time — and
// it must be unknown (never resent). Reads must not fail at all: a read
// that node 2 does not answer is hedged to another replica.
//
// What is judged is the pause, not a loaded machine. make test runs this
// beside the simulator on two cores, where a coordinator held up by the
// scheduler for a couple of seconds is common; so
//   - without -pause.measure the client's call timeout is at least 10 s
//     (as the coordinator run's): the test checks that calls complete while
//     node 2 is stopped (one that waited for node 2 would wait until the
//     resume, up to 30 s on), not how fast. The write stuck on node 2 then
//     holds the writer for 10 s of the pause instead of 2;
//   - the failure rules apply to the calls that were in flight at some
//     point while node 2 was stopped (ended after the stop, started before
//     the resume): only those could have been sent to the stopped node or
//     waited on it. Calls wholly before the stop or after the resume run on
//     a whole cluster, which other tests cover; their failures are logged
//     (and counted in the windows), not judged here.
//
// With -pause.measure the pause lasts 10 s, the call timeout is
// -pause.timeout (2 s, as in the issue) and the test prints the
// throughput before, during (from 1 s after the stop) and after, which
// PAPER §5.9 records; it asserts nothing about rates either way.
func TestPausedNodeDoesNotStall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	c := startCluster(t, 3, 3)
	c.waitNormal(30 * time.Second)
	paused := c.node(2)
	t.Cleanup(func() {
		if paused.d != nil && paused.d.cmd.ProcessState == nil {
			paused.d.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	keys := pauseKeys(300)
	plan, timeout := stallPlan(keys)
	stop := func() { sigNode(t, paused, syscall.SIGSTOP) }
	cont := func() { sigNode(t, paused, syscall.SIGCONT) }
	cl := pauseClient(t, c, timeout, nil)
	value := []byte(strings.Repeat("v", 100))
	routedThrough(t, plan, keys, cl, value, paused, stop, cont)
	// Issue 21, item 3: a coordinator does not hold a quorum request for
	// a replica that stopped answering once the others have met the
	// level. A client of node 1 alone (no routing, so nothing of it goes
	// to node 2) writes and reads at quorum through the pause: node 1
	// coordinates every call, every key has node 2 among its replicas,
	// and no call may fail.
	t.Run("coordinator", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A long call timeout: what this run checks is that calls complete
		// while node 2 is stopped (a coordinator that waited for it would
		// hold every call until the resume, 30 s on), not how fast; with
		// the 2 s of the routing runs, one call slowed by a loaded machine
		// (make test runs the simulator beside this) failed it.
		one, err := client.Dial(ctx, client.Options{Addrs: []string{c.node(1).listen}, NoRouting: true, Timeout: max(*pauseTimeout, 10*time.Second), Consistency: net.Quorum})
		if err != nil {
			t.Fatal(err)
		}
		defer one.Close()
		call := func(ctx context.Context, key string) error {
			if err := one.Set(ctx, key, value); err != nil {
				return err
			}
			v, err := one.Get(ctx, key)
			if err == nil && string(v) != string(value) {
				t.Errorf("get %s = %q, want %q", key, v, value)
			}
			return err
		}
		r := runPaused(t, plan, keys, call, stop, cont)
		logPauseRun(t, "node 1 coordinating set+get quorum", r)
		checkDuringPause(t, r, len(keys))
		if failed := r.failedInPause(t); len(failed) > 0 {
			t.Errorf("%d calls coordinated by node 1 failed, want none (nodes 1 and 3 meet quorum):\n%s", len(failed), renderOps(failed))
		}
	})
}

// routedThrough runs a routing client's write run and read run (the
// subtests "write" and "read") through a stall of node stalled, which
// stop begins and cont ends: writes may fail only as one unknown outcome
// naming the node, reads not at all (see TestPausedNodeDoesNotStall).
func routedThrough(t *testing.T, plan pausePlan, keys []string, cl *client.Client, value []byte, stalled *cnode, stop, cont func()) {
	t.Run("write", func(t *testing.T) {
		set := func(ctx context.Context, key string) error { return cl.Set(ctx, key, value) }
		r := runPaused(t, plan, keys, set, stop, cont)
		logPauseRun(t, "set quorum", r)
		checkDuringPause(t, r, len(keys))
		failed := r.failedInPause(t)
		if len(failed) > 1 {
			t.Errorf("%d writes failed, want at most 1 (the one in flight to node 2 when the client found it stopped):\n%s", len(failed), renderOps(failed))
		}
		for _, op := range failed {
			if !errors.Is(op.err, client.ErrUnknownOutcome) || !strings.Contains(op.err.Error(), stalled.listen) {
				t.Errorf("write of %s failed with %v; want ErrUnknownOutcome from node 2 (%s)", op.key, op.err, stalled.listen)
			}
		}
	})
	t.Run("read", func(t *testing.T) {
		get := func(ctx context.Context, key string) error {
			v, err := cl.Get(ctx, key, client.WithConsistency(net.Quorum))
			if err == nil && string(v) != string(value) {
				t.Errorf("get %s = %q, want %q", key, v, value)
			}
			return err
		}
		r := runPaused(t, plan, keys, get, stop, cont)
		logPauseRun(t, "get quorum", r)
		checkDuringPause(t, r, len(keys))
		if failed := r.failedInPause(t); len(failed) > 0 {
			t.Errorf("%d reads failed, want none (a read node 2 does not answer goes to another replica too):\n%s", len(failed), renderOps(failed))
		}
	})
}

// checkDuringPause fails the test unless every key was done by a call
// made entirely while the node was stopped (the pause of the timed
// measurement ends on the clock and is not judged).
func checkDuringPause(t *testing.T, r *pauseRun, keys int) {
	t.Helper()
	if *pauseMeasure {
		return
	}
	if got := len(r.doneDuringPause()); got != keys {
		t.Errorf("while node 2 was stopped, calls completed for %d of the %d keys; want all", got, keys)
	}
}

// logPauseRun logs the run's throughput in three windows.
func logPauseRun(t *testing.T, what string, r *pauseRun) {
	t.Helper()
	b, d, a := r.report()
	t.Logf("%s, stop at %.1fs, resume at %.1fs:\n  before %v\n  during %v\n  after  %v\n  during/before %.0f%%",
		what, r.stop.Seconds(), r.cont.Seconds(), b, d, a, 100*d.rate()/b.rate())
}

// renderOps lists calls, at most ten, for a failure message.
func renderOps(ops []pauseOp) string {
	var b strings.Builder
	for i, op := range ops {
		if i == 10 {
			b.WriteString("  …\n")
			break
		}
		b.WriteString("  " + op.key + " [" + op.start.String() + ", " + op.end.String() + "]: " + op.err.Error() + "\n")
	}
	return b.String()
}
