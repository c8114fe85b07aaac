package sim

import (
	"testing"
	"time"
)

// TestSkewEndsForTimersSetDuringIt: node 1's clock runs at a quarter of
// the true rate from 105 ms to 205 ms. Its 10 ms ticker, set during the
// skew, takes 40 ms of true time while the skew lasts, and the part of it
// left when the skew ends runs at the true rate: node 1 ticks (and node 2
// hears its ping) within 10 ms of true time after the skew's end. The
// timer once ran at the skew's rate to the end, however long after the
// skew it was due (PAPER §4 bug 55: an anti-entropy round due 9 s after
// it was set, during a 3 s skew at 0.27, came 34 s later).
func TestSkewEndsForTimersSetDuringIt(t *testing.T) {
	ms := time.Millisecond
	p := steady(1, 2)
	p.Faults = []Fault{{At: 105 * ms, Kind: Skew, Node: 1, Factor: 0.25, For: 100 * ms}}
	_, log, _ := record(t, p, 0)
	// During the skew: a ping every 40 ms of true time.
	if got := filter(log, 2, 1, 115*ms, 195*ms); len(got) != 2 {
		t.Errorf("during the skew node 2 heard %d pings of node 1, want 2 (one each 40 ms): %v", len(got), got)
	}
	if got := filter(log, 2, 1, 205*ms, 215*ms+steadyLatency); len(got) != 1 {
		t.Errorf("node 2 heard %d pings of node 1 in the 10 ms after the skew ended, want 1: %v", len(got), got)
	}
	// From then on, the true rate again: a ping every 10 ms.
	if got := filter(log, 2, 1, 300*ms, 400*ms-time.Nanosecond); len(got) != 10 {
		t.Errorf("after the skew node 2 heard %d pings of node 1 in 100 ms, want 10", len(got))
	}
}
