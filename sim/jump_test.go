package sim

import (
	"testing"
	"time"
)

// TestJumpFiresOverdueTimers: node 1 sets a timer for 1.5 s at its start.
// A jump of its clock by 1 s at 0.2 s brings it to 0.5 s of true time; a
// jump by 2 s fires it at once, with the 10 ms ticker that was due; and
// the clock reads the jump's amount ahead from then on.
func TestJumpFiresOverdueTimers(t *testing.T) {
	ms := time.Millisecond
	long := 1500 * ms
	for _, c := range []struct {
		by, fires time.Duration // the jump, and when the long timer fires in true time
	}{
		{0, long},
		{1000 * ms, 500 * ms},
		{1300 * ms, 200 * ms},
		{2000 * ms, 200 * ms},
	} {
		p := steady(1, 2)
		if c.by > 0 {
			p.Faults = []Fault{{At: 200 * ms, Kind: Jump, Node: 1, By: c.by}}
		}
		res, log, _ := record(t, p, long)
		// Node 2's clock is true time: it hears the long timer's ping one
		// latency after it fired.
		var heard []seen
		for _, s := range filter(log, 2, 1, 0, time.Hour) {
			if s.seq == longSeq {
				heard = append(heard, s)
			}
		}
		if len(heard) != 1 || heard[0].at != c.fires+steadyLatency {
			t.Errorf("jump by %v: node 2 heard the long timer's ping at %v, want once at %v", c.by, heard, c.fires+steadyLatency)
		}
		if c.by == 0 {
			continue
		}
		if res.Stats.Jumps != 1 || res.Stats.JumpFired < 1 {
			t.Errorf("jump by %v: stats %d jumps, %d timers fired at once", c.by, res.Stats.Jumps, res.Stats.JumpFired)
		}
		// The ticker, due within 10 ms, fired at the jump by a clock that
		// read 0.2 s + by.
		if got := filter(log, 1, 0, 200*ms+c.by, 200*ms+c.by); len(got) != 1 {
			t.Errorf("jump by %v: node 1 ticked %d times at its jumped clock's %v, want 1", c.by, len(got), 200*ms+c.by)
		}
		if got := filter(log, 1, 0, 200*ms+time.Nanosecond, 200*ms+c.by-time.Nanosecond); len(got) > 0 {
			t.Errorf("jump by %v: node 1's clock read times the jump skipped: %v", c.by, got)
		}
	}
}

// TestJumpSkewed: on a clock running at twice the true rate, a jump by 1 s
// brings a timer 0.5 s of true time sooner. (A timer set before a skew
// keeps the true time it was set for: host.go.)
func TestJumpSkewed(t *testing.T) {
	ms := time.Millisecond
	p := steady(1, 2)
	p.Faults = []Fault{
		{At: 100 * ms, Kind: Skew, Node: 1, Factor: 2, For: p.Duration},
		{At: 200 * ms, Kind: Jump, Node: 1, By: 1000 * ms},
	}
	_, log, _ := record(t, p, 1500*ms)
	var heard []seen
	for _, s := range filter(log, 2, 1, 0, time.Hour) {
		if s.seq == longSeq {
			heard = append(heard, s)
		}
	}
	if len(heard) != 1 || heard[0].at != 1000*ms+steadyLatency {
		t.Errorf("node 2 heard the long timer's ping at %v, want once at %v", heard, 1000*ms+steadyLatency)
	}
	// From the jump on, node 1's clock reads 0.1 s + 0.1 s×2 + 1 s and
	// runs twice as fast: it ticks twice as often as node 2.
	if got := filter(log, 1, 0, 1300*ms, 1300*ms); len(got) != 1 {
		t.Errorf("node 1 ticked %d times at its clock's 1.3 s, want 1 (the overdue ticker)", len(got))
	}
	if n1, n2 := len(filter(log, 1, 0, 1300*ms, 1300*ms+2*(p.Duration-200*ms))), len(filter(log, 2, 0, 200*ms, p.Duration)); n1 < 2*n2-4 || n1 > 2*n2+4 {
		t.Errorf("between the jump and the heal node 1 ticked %d times and node 2 %d: want twice as many", n1, n2)
	}
}

// TestJumpRealNode: a memdb node whose clock jumps past its request and
// Paxos deadlines stays correct, and the run replays exactly.
func TestJumpRealNode(t *testing.T) {
	p := base(6)
	p.Nodes, p.RF = 3, 3
	p.Client.Serial, p.Client.CAS, p.Client.Mix[2] = true, 3, 0
	p.Client.Timeout = 3 * time.Second
	p.Faults = []Fault{
		{At: 300 * time.Millisecond, Kind: Jump, Node: 1, By: 5 * time.Second},
		{At: 600 * time.Millisecond, Kind: Jump, Node: 2, By: 1500 * time.Millisecond},
		{At: 900 * time.Millisecond, Kind: Jump, Node: 3, By: 30 * time.Millisecond},
	}
	if a := runReplayed(t, p); a.Stats.Jumps != 3 || a.Stats.JumpFired < 3 {
		t.Errorf("the jumps did nothing: %+v", a.Stats)
	}
}
