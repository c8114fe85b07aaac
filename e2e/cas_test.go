package e2e

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/linearize"
)

// Compare-and-set across a crash, with real processes: concurrent clients
// run serial reads, Paxos puts and cas calls on a few keys of a 3-node
// cluster while the coordinator of the first key (the replica routing
// clients send its calls to) is killed with SIGKILL and restarted on its
// data dir. The history they record is judged by the same model as the
// simulator's (package linearize). A cas or put whose outcome is unknown
// may land anywhere after its call, or nowhere; everything that answered
// must fit one sequential order.

// The phases of the run. They shape the workload; nothing asserts how
// much gets done in any of them.
const (
	casBeforeKill   = 3 * time.Second
	casDown         = 1500 * time.Millisecond
	casAfterRestart = 3 * time.Second
	casWorkers      = 6
)

// casSeed is the seed of the workers' choices of operation, key and
// expected value: MEMDB_E2E_SEED if set, else the time. The interleaving
// of real processes is not reproducible; the seed only fixes what each
// worker tries.
func casSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("MEMDB_E2E_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MEMDB_E2E_SEED=%q: %v", s, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

func TestCASLinearizableAcrossKill(t *testing.T) {
	seed := casSeed(t)
	t.Logf("seed %d (choices only; rerun: MEMDB_E2E_SEED=%d go test ./e2e -run TestCASLinearizableAcrossKill -v)", seed, seed)
	c := startCluster(t, 3, 3)
	joined := c.waitNormal(30 * time.Second)
	t.Logf("3 nodes normal on every node %v after the last one said ready", joined.Round(time.Millisecond))

	keys := []string{"k0", "k1", "k2"}
	victim := firstReplica(t, keys[0], 3, 3)
	addrs := []string{c.node(1).listen, c.node(2).listen, c.node(3).listen}
	rec := newRecorder()
	var workers []*casWorker
	for i := 1; i <= casWorkers; i++ {
		workers = append(workers, newCASWorker(t, i, seed, addrs, rec, keys))
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(&stop) }()
	}
	// If the test fails while the workers run, stop them before the
	// cleanups close their clients and kill the nodes.
	t.Cleanup(func() { stop.Store(true); wg.Wait() })

	time.Sleep(casBeforeKill)
	killAt := rec.now()
	c.kill(victim)
	time.Sleep(casDown)
	restartAt := rec.now()
	c.start(victim)
	readyAt := rec.now()
	time.Sleep(casAfterRestart)
	stop.Store(true)
	wg.Wait()
	end := rec.now()

	h := rec.ops()
	t.Logf("node %d (coordinator of %s) killed at %v, restarted at %v, ready at %v; run ended at %v",
		victim, keys[0], killAt.Round(time.Millisecond), restartAt.Round(time.Millisecond), readyAt.Round(time.Millisecond), end.Round(time.Millisecond))
	counts := countOps(h)
	t.Logf("%d operations: %s", len(h), counts)
	unknownWhy := map[string]int{}
	for _, w := range workers {
		for k, n := range w.errs {
			unknownWhy[k] += n
		}
	}
	t.Logf("unknown outcomes by error: %v; processes used: %d", unknownWhy, rec.procs.Load())
	t.Logf("operations that did not answer ok (first 20):")
	shown := 0
	for _, o := range h {
		if o.Outcome != linearize.OK && shown < 20 {
			shown++
			t.Logf("  %v..%v worker %d: %s: %s", o.Call.Round(time.Millisecond), o.Return.Round(time.Millisecond), o.Client, o, o.Note)
		}
	}
	phases := []string{"before kill", "down", "after restart"}
	byPhase := map[string]tally{}
	slowest := map[string]time.Duration{}
	for _, p := range phases {
		byPhase[p] = tally{}
	}
	for _, o := range h {
		p := phases[0]
		switch {
		case o.Call >= readyAt:
			p = phases[2]
		case o.Call >= killAt:
			p = phases[1]
		}
		byPhase[p][o.Outcome.String()]++
		if o.Outcome == linearize.OK {
			slowest[p] = max(slowest[p], o.Return-o.Call)
		}
	}
	for _, p := range phases {
		t.Logf("called %s: %s, slowest answered call %v", p, byPhase[p], slowest[p].Round(time.Millisecond))
	}

	// The run must have exercised both sides of cas and the Paxos put,
	// or a linearizable verdict says little.
	for _, want := range []string{"cas true", "cas false", "set ok", "get ok"} {
		if counts[want] == 0 {
			t.Errorf("no %q operation in the history (%s): the check would pass vacuously", want, counts)
		}
	}

	checkStart := time.Now()
	res, err := linearize.Check(h, 0)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	t.Logf("checked %d operations in %v (%d steps): linearizable %t, undecided %t", res.Ops, time.Since(checkStart).Round(time.Millisecond), res.Steps, res.OK, res.Undecided)
	if res.Undecided {
		t.Errorf("the linearizability search ran out of steps on a history of %d operations (key %q): the verdict is not a pass", len(h), res.UndecidedKey)
	}
	windows := []linearize.Window{{
		Tag: fmt.Sprintf("node %d", victim), Start: killAt, End: readyAt,
		Description: "killed with SIGKILL, then restarted on its data dir",
	}}
	if res.OK {
		canary(t, h, windows)
		return
	}
	dir := saveViolation(t, "", h, res, windows)
	prefix, last := linearize.ShortestPrefix(h, res.Key)
	lastOp := "(none found)"
	if last != nil {
		lastOp = fmt.Sprintf("%s by process %d (worker %d), call %v, return %v, note %q",
			last, last.Process, last.Client, last.Call, last.Return, last.Note)
	}
	t.Errorf("key %s is not linearizable; its shortest illegal prefix has %d operations and ends with %s\nhistory and visualisation in %s\n%s",
		res.Key, len(prefix), lastOp, dir, c.dump())
}

// canary proves that the check can fail on this run's history: with one
// read changed to see a value already overwritten, the history must
// be judged not linearizable, on that read's key, and the failure path
// (shortest prefix, visualisation) must work.
func canary(t *testing.T, h linearize.History, windows []linearize.Window) {
	t.Helper()
	bad, ok := staleCanary(h)
	if !ok {
		t.Errorf("canary: no answered get after two answered writes of its key in %d operations", len(h))
		return
	}
	res, err := linearize.Check(bad, 0)
	if err != nil {
		t.Fatalf("canary check: %v", err)
	}
	if res.OK || res.Undecided {
		t.Errorf("canary: a stale read was not caught: ok %t, undecided %t", res.OK, res.Undecided)
		return
	}
	prefix, last := linearize.ShortestPrefix(bad, res.Key)
	if last == nil {
		t.Errorf("canary: key %s fails the check but ShortestPrefix finds no illegal prefix", res.Key)
		return
	}
	saveViolation(t, t.TempDir(), bad, res, windows)
	t.Logf("canary: a stale read on %s is caught; shortest illegal prefix %d operations, ending with %s", res.Key, len(prefix), last)
}
