package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Range movements with real processes: a node decommissioned through
// POST /v1/leave hands its ranges to the nodes that gain them and exits by
// itself; a node that joins while clients write gets every acknowledged
// write of its ranges; a movement asked for while another runs waits for
// it (the movement lock, node/move.go).
//
// The deadlines here (moveDeadline) catch hangs; the durations are logged,
// never asserted.

func TestLeave(t *testing.T) {
	t.Parallel()
	const rf = 3
	c := startCluster(t, 4, rf)
	joined := c.waitNormal(moveDeadline)
	t.Logf("4 nodes normal on every node %v after the last one said ready", joined.Round(time.Millisecond))

	kvs := sets("l", "leave", 0, 400)
	setAll(t, kvs, "-addr", c.addrs(1), "-consistency", "quorum")
	before := map[int]nodeStatus{}
	for id := 1; id <= 4; id++ {
		before[id] = c.waitKeys(id, len(replicasOn(t, kvs, ids(1, 2, 3, 4), rf, id)))
	}
	handed := replicasOn(t, kvs, ids(1, 2, 3, 4), rf, 4)

	res := c.leave(4)
	settled := c.waitRing(ids(1, 2, 3), ids(4))
	t.Logf("leave of node 4: POST /v1/leave answered after %v, memdbd exited 0 after %v, every remaining ring showed 4 left %v later",
		res.answered.Round(time.Millisecond), res.exited.Round(time.Millisecond), settled.Round(time.Millisecond))

	gained, gainedBytes := 0, 0
	for id := 1; id <= 3; id++ {
		mine := replicasOn(t, kvs, ids(1, 2, 3), rf, id)
		st := c.waitKeys(id, len(mine))
		b := before[id]
		gained += st.Keys - b.Keys
		gainedBytes += st.Bytes - b.Bytes
		t.Logf("node %d: %d keys before, %d after (+%d keys, +%d store bytes); streamed_in +%d entries, +%d bytes; read repairs +%d, hints delivered +%d",
			id, b.Keys, st.Keys, st.Keys-b.Keys, st.Bytes-b.Bytes, st.StreamedIn-b.StreamedIn, st.StreamedInBytes-b.StreamedInBytes,
			st.ReadRepairs-b.ReadRepairs, st.HintsDelivered-b.HintsDelivered)
		// At consistency one a coordinator that is a replica answers from
		// its own store: with the count above, the node holds exactly its
		// keys, each with its value.
		mustReadAll(t, mine, "-addr", c.addrs(id), "-consistency", "one", "-no-routing")
	}
	t.Logf("node 4 handed off its %d keys (%d bytes as entries); the remaining nodes gained %d keys, %d store bytes",
		len(handed), entryBytes(handed), gained, gainedBytes)
	if gained != len(handed) {
		t.Errorf("the remaining nodes gained %d keys in all, want node 4's %d (with rf 3, each of node 4's keys has one gainer among the 3 that remain)", gained, len(handed))
	}

	for id := 1; id <= 3; id++ {
		for _, level := range []string{"quorum", "all"} {
			mustReadAll(t, kvs, "-addr", c.addrs(id), "-consistency", level, "-no-routing")
		}
	}
	// A routing client, given only the address of the node that left and
	// one that remains, learns the new ring.
	mustReadAll(t, kvs[:50], "-addr", c.addrs(4, 1), "-consistency", "quorum")
}

func TestJoinUnderLoad(t *testing.T) {
	t.Parallel()
	const rf = 3
	c := startCluster(t, 3, rf)
	c.waitNormal(moveDeadline)

	// Data from before the join, for it to stream.
	base := sets("j", "base", 0, 300)
	setAll(t, base, "-addr", c.addrs(1), "-consistency", "quorum")

	w := startWriters(t, strings.Split(c.addrs(1, 2, 3), ","), 4)
	w.waitAcked(t, 50)
	ackedBefore := w.acked.Load()
	start := time.Now()
	n4 := c.addNode()
	ready := time.Since(start)
	c.waitNormal(moveDeadline)
	took := time.Since(start)
	during := w.acked.Load() - ackedBefore
	// Some writes on the new ring too, before the writers stop.
	w.waitAcked(t, w.acked.Load()+50)
	ok, failed := w.halt()
	t.Logf("node 4 said ready %v after it was started and was normal on every node %v after; %d writes acknowledged during the join, %d in all, %d failed%s",
		ready.Round(time.Millisecond), took.Round(time.Millisecond), during, len(ok), len(failed), w.errSummary())
	if during == 0 {
		t.Errorf("no write was acknowledged while node 4 joined: the cluster stopped taking writes\n%s", c.dump())
	}

	all := append(slices.Clone(base), ok...)
	// The new node holds every key it replicates, checked before any read
	// could repair it: each acknowledged one (a read at one coordinated by
	// a replica answers from its own store), and in all its keys, plus at
	// most the failed writes it replicates (each may or may not have been
	// applied). Its count may lag the last acknowledgements for a moment
	// (a write refused on a stale ring reaches it as a hint).
	ring4 := ids(1, 2, 3, 4)
	mine := replicasOn(t, all, ring4, rf, 4)
	maybe := replicasOn(t, failed, ring4, rf, 4)
	st := c.waitKeysAtLeast(4, len(mine))
	mustReadAll(t, mine, "-addr", n4.listen, "-consistency", "one", "-no-routing")
	if st = n4.status(t); st.Keys > len(mine)+len(maybe) {
		t.Errorf("node 4 holds %d keys, want the %d acknowledged ones it replicates plus at most %d failed ones: status %+v",
			st.Keys, len(mine), len(maybe), st)
	}
	mineBase := replicasOn(t, base, ring4, rf, 4)
	t.Logf("node 4 replicates %d of %d keys (%d of the %d written before the join, %d bytes as entries); it streamed in %d entries, %d bytes (a join streams its ranges twice: once joining, once more before it turns normal); status %+v",
		len(mine), len(all), len(mineBase), len(base), entryBytes(mineBase), st.StreamedIn, st.StreamedInBytes, st)
	if st.StreamedIn < uint64(len(mineBase)) {
		t.Errorf("node 4 streamed in %d entries, fewer than the %d keys of its ranges written before it joined", st.StreamedIn, len(mineBase))
	}

	// Every acknowledged write, at quorum, coordinated by the new node.
	mustReadAll(t, all, "-addr", n4.listen, "-consistency", "quorum", "-no-routing")
	t.Logf("the quorum reads through node 4 repaired %d stale replicas", n4.status(t).ReadRepairs-st.ReadRepairs)
}

// TestLeavesTakeTurns asks node 3 to leave while node 4 leaves. Node 4's
// leave cannot finish while node 2, which gains some of its ranges, is
// stopped (SIGSTOP): so node 3's leave certainly starts while node 4's
// runs, without any assumption about how long a leave takes. Node 3 must
// log that it waits for node 4's movement, stay normal, and — once node 2
// resumes and node 4 has left — leave in turn. Its logged turn to leaving
// must come after node 4's logged turn to left (one host, one clock).
//
// rf 2 on 4 nodes, so that after both leaves the 2 that remain still hold
// rf replicas, and so that node 2 holds no replica of the lock's key: the
// Paxos rounds on the lock have their quorums while it is stopped.
func TestLeavesTakeTurns(t *testing.T) {
	t.Parallel()
	const rf = 2
	c := startCluster(t, 4, rf)
	c.waitNormal(moveDeadline)

	kvs := sets("m", "turns", 0, 200)
	setAll(t, kvs, "-addr", c.addrs(1), "-consistency", "quorum")
	for id := 1; id <= 4; id++ {
		c.waitKeys(id, len(replicasOn(t, kvs, ids(1, 2, 3, 4), rf, id)))
	}
	// What the test relies on, fixed by the ring's tokens (which depend on
	// node ids only): node 2 gains keys from node 4's leave and holds no
	// replica of the lock's key on the rings of either leave.
	lock := []kv{{lockKey, ""}}
	for _, ring := range [][]uint16{ids(1, 2, 3, 4), ids(1, 2, 3)} {
		if len(replicasOn(t, lock, ring, rf, 2)) > 0 {
			t.Fatalf("node 2 replicates the movement lock on ring %v: pick another node to stop", ring)
		}
	}
	gains := len(replicasOn(t, kvs, ids(1, 2, 3), rf, 2)) - len(replicasOn(t, kvs, ids(1, 2, 3, 4), rf, 2))
	if gains <= 0 {
		t.Fatalf("node 2 gains no key when node 4 leaves: stopping it would not hold the leave")
	}

	d4, d3 := c.node(4).d, c.node(3).d
	resume := stopped(t, c.node(2))
	start4 := time.Now()
	first := postAsync(c.node(4), "/v1/leave")
	c.waitOwnPhase(4, "leaving")
	start3 := time.Now()
	second := postAsync(c.node(3), "/v1/leave")
	notNormal := func() string {
		if p, _ := c.node(3).ownPhase(); p != "normal" {
			return fmt.Sprintf("node 3 is %q while node 4's leave holds the movement lock; want normal", p)
		}
		return ""
	}
	line := c.waitLog(3, regexp.MustCompile(`msg="waiting for a movement to finish" .*want="leave 3 \d+" holder="leave 4 \d+"`), notNormal)
	t.Logf("node 3, asked to leave while node 4 leaves: %s", line)
	if p, _ := c.node(4).ownPhase(); p != "leaving" {
		t.Fatalf("node 4 is %q while node 2, a gainer of its ranges, is stopped; want leaving\n%s", p, c.dump())
	}
	if why := notNormal(); why != "" {
		t.Fatalf("%s\n%s", why, c.dump())
	}
	resume()

	a4 := answer(t, first, "POST /v1/leave to node 4")
	if !leftOK(a4) {
		t.Fatalf("POST /v1/leave to node 4: %s\n%s", a4, c.dump())
	}
	exit4 := c.waitExit(4, start4)
	a3 := answer(t, second, "POST /v1/leave to node 3")
	if !leftOK(a3) {
		t.Fatalf("POST /v1/leave to node 3: %s\n%s", a3, c.dump())
	}
	exit3 := c.waitExit(3, start3)
	c.waitRing(ids(1, 2), ids(3, 4))
	left4, leaving3 := phaseTime(t, d4, "left"), phaseTime(t, d3, "leaving")
	t.Logf("node 4: POST /v1/leave answered after %v, exited after %v; node 3, asked %v after node 4: answered after %v, exited after %v; node 3 turned leaving %v after node 4 turned left",
		a4.took.Round(time.Millisecond), exit4.Round(time.Millisecond), start3.Sub(start4).Round(time.Millisecond),
		a3.took.Round(time.Millisecond), exit3.Round(time.Millisecond), leaving3.Sub(left4))
	if leaving3.Before(left4) {
		t.Errorf("node 3 turned leaving at %v, before node 4 turned left at %v: two leaves ran at once", leaving3, left4)
	}

	for id := 1; id <= 2; id++ {
		c.waitKeys(id, len(kvs))
		for _, level := range []string{"quorum", "all"} {
			mustReadAll(t, kvs, "-addr", c.addrs(id), "-consistency", level, "-no-routing")
		}
	}
}

// A node killed while it hands its ranges off finishes the leave when it
// is restarted, and memdbd then exits 0 by itself, as after a leave asked
// of it; no key is lost.
func TestLeaveResumedAfterKill(t *testing.T) {
	t.Parallel()
	const rf = 3
	c := startCluster(t, 4, rf)
	c.waitNormal(moveDeadline)
	kvs := sets("r", "resumed", 0, 300)
	setAll(t, kvs, "-addr", c.addrs(1), "-consistency", "quorum")

	go c.node(4).post("/v1/leave") // it dies with the node
	start := time.Now()
	for leaving := false; !leaving; {
		var r ringView
		if _, err := c.node(4).getJSON("/v1/ring", &r); err == nil {
			for _, m := range r.Members {
				leaving = leaving || m.ID == 4 && m.Phase == "leaving"
			}
		}
		if time.Since(start) > moveDeadline {
			t.Fatalf("node 4 did not turn leaving within %v of POST /v1/leave:\n%s", moveDeadline, c.dump())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.kill(4)
	restart := time.Now()
	c.start(4)
	d := c.node(4).d
	exited := c.waitExit(4, restart)
	if !strings.Contains(d.log.String(), "a leave resumed after a restart") {
		t.Errorf("node 4 exited without resuming its leave:\n%s", d.log)
	}
	settled := c.waitRing(ids(1, 2, 3), ids(4))
	t.Logf("node 4 killed while leaving, restarted: it finished the leave and exited 0 %v after its restart; the ring showed it left %v later",
		exited.Round(time.Millisecond), settled.Round(time.Millisecond))
	for id := 1; id <= 3; id++ {
		mustReadAll(t, kvs, "-addr", c.addrs(id), "-consistency", "all", "-no-routing")
	}
}

// A node that dies for good is removed through another one (POST
// /v1/remove?id=N, refused while the node still looks alive): the others
// take its ranges from the remaining replicas, every key is on all three
// that remain, and the removed node, started again, finds it was removed
// and exits 0.
func TestRemoveDeadNode(t *testing.T) {
	t.Parallel()
	const rf = 3
	c := startCluster(t, 4, rf)
	c.waitNormal(moveDeadline)
	kvs := sets("d", "dead", 0, 300)
	setAll(t, kvs, "-addr", c.addrs(1), "-consistency", "quorum")

	c.kill(4)
	start := time.Now()
	refused := 0
	for {
		code, body, err := c.node(1).post("/v1/remove?id=4")
		if err == nil && code == 200 {
			break
		}
		if err != nil || code != 409 || !strings.Contains(body, "alive") || time.Since(start) > moveDeadline {
			t.Fatalf("POST /v1/remove?id=4: %d %q %v after %d refusals as alive\n%s", code, body, err, refused, c.dump())
		}
		refused++
		time.Sleep(250 * time.Millisecond)
	}
	removed := time.Since(start)
	settled := c.waitRing(ids(1, 2, 3), ids(4))
	t.Logf("node 4 killed; POST /v1/remove answered 200 %v later (refused %d times while node 4 still looked alive); every ring showed it left %v after",
		removed.Round(time.Millisecond), refused, settled.Round(time.Millisecond))
	for id := 1; id <= 3; id++ {
		st := c.waitKeys(id, len(kvs))
		t.Logf("node %d: %d keys, streamed in %d entries", id, st.Keys, st.StreamedIn)
		mustReadAll(t, kvs, "-addr", c.addrs(id), "-consistency", "one", "-no-routing")
	}

	restart := time.Now()
	c.start(4)
	d := c.node(4).d
	c.waitExit(4, restart)
	if !strings.Contains(d.log.String(), "removed from the ring") {
		t.Errorf("node 4 stopped without saying it was removed:\n%s", d.log)
	}
}
