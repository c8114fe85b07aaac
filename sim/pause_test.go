package sim

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// seen is one thing a recorder saw: a tick of its 10 ms ticker, or a ping
// from another node, with what its own clock read then.
type seen struct {
	at   time.Duration // the node's clock, from Epoch
	node net.NodeID    // who saw it
	from net.NodeID    // 0 for a tick
	seq  uint64
}

// recorder is a bare process (no node inside: nothing but what the test
// does) that pings every other node every 10 ms with a numbered ping, and
// writes down every tick and every ping it receives. If long is set, node
// 1 also sets a timer for long at its start that pings the others with
// the number longSeq.
type recorder struct {
	env  node.Env
	id   net.NodeID
	n    int
	seq  uint64
	long time.Duration
	log  *[]seen
	sent map[net.NodeID]int // pings sent, by sender, over every incarnation
}

const longSeq = 1 << 40

func (r *recorder) Start() error {
	r.tick()
	if r.long > 0 && r.id == 1 {
		r.env.Clock.AfterFunc(r.long, func() { r.ping(longSeq) })
	}
	return nil
}

func (r *recorder) now() time.Duration { return r.env.Clock.Now().Sub(Epoch) }

func (r *recorder) ping(seq uint64) {
	for to := 1; to <= r.n; to++ {
		if net.NodeID(to) != r.id {
			r.env.Transport.Send(net.Peer{ID: net.NodeID(to)}, net.Frame{Clock: clock.Timestamp{Counter: 1}, Msg: &net.Get{Key: []byte(strconv.FormatUint(seq, 10))}})
			r.sent[r.id]++
		}
	}
}

func (r *recorder) tick() {
	*r.log = append(*r.log, seen{at: r.now(), node: r.id})
	r.seq++
	r.ping(r.seq)
	r.env.Clock.AfterFunc(10*time.Millisecond, r.tick)
}

func (r *recorder) Deliver(from net.NodeID, f net.Frame) {
	seq, _ := strconv.ParseUint(string(f.Msg.(*net.Get).Key), 10, 64)
	*r.log = append(*r.log, seen{at: r.now(), node: r.id, from: from, seq: seq})
}

func (r *recorder) Request(net.ConnID, net.Frame) {}
func (r *recorder) Disconnected(net.ConnID)       {}
func (r *recorder) Err() error                    { return nil }

// steady is base(seed) on n nodes with a constant one-way latency of
// 550µs, so that pings arrive in the order they were sent.
func steady(seed uint64, n int) Params {
	p := base(seed)
	p.Nodes = n
	p.Net.LatencySigma = 0
	return p
}

const steadyLatency = 550 * time.Microsecond

// record runs p with recorders and returns what they saw and sent.
func record(t *testing.T, p Params, long time.Duration) (Result, []seen, map[net.NodeID]int) {
	t.Helper()
	var log []seen
	sent := map[net.NodeID]int{}
	res, err := Run(p, Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		return &recorder{env: env, id: cfg.ID, n: p.Nodes, long: long, log: &log, sent: sent}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res, log, sent
}

// filter returns what node saw of from (0: its ticks) within [lo, hi].
func filter(log []seen, node, from net.NodeID, lo, hi time.Duration) []seen {
	var out []seen
	for _, s := range log {
		if s.node == node && s.from == from && s.at >= lo && s.at <= hi {
			out = append(out, s)
		}
	}
	return out
}

// inOrder reports whether the pings in ss carry increasing numbers.
func inOrder(ss []seen) bool {
	return slices.IsSortedFunc(ss, func(a, b seen) int { return int(a.seq) - int(b.seq) })
}

// TestPauseHoldsEverything: node 1, paused from 0.5 s to 1 s, runs
// nothing meanwhile — no tick, no delivery, no ping sent — and at the
// resume handles everything that arrived, in order (its overdue tick
// included), losing nothing.
func TestPauseHoldsEverything(t *testing.T) {
	ms := time.Millisecond
	p := steady(1, 2)
	p.Faults = []Fault{{At: 500 * ms, Kind: Pause, Node: 1, For: 500 * ms}}
	res, log, sent := record(t, p, 0)
	if res.Stats.Pauses != 1 || res.Stats.PauseHeld < 45 {
		t.Errorf("stats: %d pauses, %d events held; want 1 and ≥45", res.Stats.Pauses, res.Stats.PauseHeld)
	}
	if got := filter(log, 1, 2, 500*ms+time.Nanosecond, 1000*ms-time.Nanosecond); len(got) > 0 {
		t.Errorf("paused node 1 handled pings meanwhile: %v", got)
	}
	if got := filter(log, 1, 0, 500*ms+time.Nanosecond, 1000*ms-time.Nanosecond); len(got) > 0 {
		t.Errorf("paused node 1 ticked meanwhile: %v", got)
	}
	if got := filter(log, 1, 0, 1000*ms, 1000*ms); len(got) != 1 {
		t.Errorf("node 1 ticked %d times at the resume, want 1 (its overdue timer)", len(got))
	}
	held := filter(log, 1, 2, 1000*ms, 1000*ms)
	if len(held) < 45 || !inOrder(held) {
		t.Errorf("at the resume node 1 handled %d pings (want ≥45, in order): %v", len(held), held)
	}
	if all := filter(log, 1, 2, 0, time.Hour); len(all) != sent[2] || !inOrder(all) {
		t.Errorf("node 1 received %d of node 2's %d pings (in order: %v): a pause loses nothing", len(all), sent[2], inOrder(all))
	}
	// Node 2 hears nothing from node 1 between what was in flight at
	// the pause and what node 1 sends at the resume.
	if got := filter(log, 2, 1, 500*ms+steadyLatency+time.Nanosecond, 1000*ms); len(got) > 0 {
		t.Errorf("node 2 heard paused node 1: %v", got)
	}
}

// TestPauseEndsAtHealOrCrash: the heal resumes a pause that would outlast
// the fault phase; a crash ends a pause and loses what it held, and the
// restarted process runs unpaused.
func TestPauseEndsAtHealOrCrash(t *testing.T) {
	ms := time.Millisecond
	p := steady(1, 2)
	p.Faults = []Fault{{At: 1500 * ms, Kind: Pause, Node: 1, For: time.Hour}}
	_, log, sent := record(t, p, 0)
	if got := filter(log, 1, 2, p.Duration, p.Duration); len(got) < 45 {
		t.Errorf("at the heal node 1 handled %d pings, want ≥45", len(got))
	}
	if all := filter(log, 1, 2, 0, time.Hour); len(all) != sent[2] {
		t.Errorf("node 1 received %d of node 2's %d pings", len(all), sent[2])
	}

	p.Faults = []Fault{
		{At: 500 * ms, Kind: Pause, Node: 1, For: 500 * ms},
		{At: 700 * ms, Kind: Crash, Node: 1, For: 100 * ms},
	}
	res, log, sent := record(t, p, 0)
	if res.Stats.Crashes != 1 || res.Stats.Restarts != 1 {
		t.Fatalf("stats %+v", res.Stats)
	}
	if got := filter(log, 1, 0, 500*ms+time.Nanosecond, 800*ms-time.Nanosecond); len(got) > 0 {
		t.Errorf("node 1 ticked while paused or down: %v", got)
	}
	if got := filter(log, 1, 0, 800*ms, 1000*ms-time.Nanosecond); len(got) < 15 {
		t.Errorf("the restarted node 1 ticked %d times before the pause's end, want ≥15: a crash ends a pause", len(got))
	}
	if all := filter(log, 1, 2, 0, time.Hour); len(all) >= sent[2]-15 {
		t.Errorf("node 1 received %d of node 2's %d pings, though what it held died with it", len(all), sent[2])
	}
}

// TestPauseRealNode: a memdb node paused for longer than its clients wait
// loses nothing a client was told, and the run replays exactly.
func TestPauseRealNode(t *testing.T) {
	p := base(5)
	p.Faults = []Fault{
		{At: 300 * time.Millisecond, Kind: Pause, Node: 1, For: 700 * time.Millisecond},
		{At: 1500 * time.Millisecond, Kind: Pause, Node: 1, For: 3 * time.Millisecond},
	}
	if a := runReplayed(t, p); a.Stats.Pauses != 2 || a.Stats.PauseHeld == 0 || a.Stats.Unknown == 0 {
		t.Errorf("the pauses did nothing: %+v", a.Stats)
	}
}
