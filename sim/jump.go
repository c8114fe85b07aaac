package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/linearize"
)

// Clock jumps (the Jump fault). A machine's clock is the skew model of
// host.go — clockAt + (now - skewAt) × rate — and a jump adds to clockAt:
// from then on the clock reads By ahead of where it would have. Every
// timer the node has set is due at a time on that clock, so each comes By
// (in the clock's time) sooner: the ones whose time has now passed fire
// at once, in the order they were due, as they do after a host suspend;
// the others keep their distance.
//
// Only forward jumps exist for a node. It reads time in two ways
// (node/membership.go, node/paxos.go): durations since its boot
// (Clock.Now().Sub(bootTime)) and deadlines (Clock.Now().Add(d), then
// Before), and it sets timers with Clock.AfterFunc; it never stores a
// clock reading or sends one to a peer. Under memdbd the clock is
// clock.Real, whose Now carries Go's monotonic reading, and Sub, Before
// and timers use that reading alone — so a wall-clock step (NTP, an
// operator's date, either way) moves none of them, and a monotonic clock
// never goes back. What can happen is the monotonic clock running ahead of
// the process at once — a stalled VM whose clock is caught up, a host
// resumed from suspend under a clock source that counts it — which is
// this fault.

// jump moves h's clock forward by by and brings its timers forward with
// it; it reports false (and does nothing) if h is down.
func (h *host) jump(by time.Duration) bool {
	if !h.up {
		return false
	}
	w := h.w
	if h.rate == 0 {
		h.setRate(1) // the clock now has an offset from true time
	}
	h.clockAt += by
	// A timer due at virtual time t was due when the clock read
	// local(t); the clock reads that by/rate sooner now.
	shift := time.Duration(float64(by) / h.rate)
	var timers []*event
	for _, e := range w.q {
		if e.kind == evTimer && e.node == h.id && e.fn != nil {
			timers = append(timers, e)
		}
	}
	slices.SortFunc(timers, func(a, b *event) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	fired := 0
	for _, e := range timers {
		if e.at-shift <= w.now {
			// Due now: after whatever is already due now, in the
			// order the timers were due.
			e.at = w.now
			w.seq++
			e.seq = w.seq
			fired++
		} else {
			e.at -= shift
		}
	}
	w.q.init()
	w.stats.Jumps++
	w.stats.JumpFired += fired
	w.windows = append(w.windows, linearize.Window{
		Tag: fmt.Sprintf("node %d", h.id), Start: w.now, End: w.now,
		Description: fmt.Sprintf("clock +%v, %d timers due at once", by, fired),
	})
	return true
}

// init restores the heap order after events' times changed in place.
func (q queue) init() {
	for i := len(q)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

// down sifts the event at i down to its place.
func (q queue) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q) {
			return
		}
		m := l
		if r := l + 1; r < len(q) && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
}
