package host

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/memdb/memdb/clock"
)

// timers is the node's clock in the live host: the operating system's
// time, with AfterFunc callbacks posted to the loop (as clock.Posting
// does), kept in one heap behind one runtime timer.
//
// The node sets a timer for nearly every request it coordinates and stops
// it as soon as the request is answered, which on one node (rf 1) is at
// once. clock.Posting over clock.Real makes four allocations and a runtime
// timer per AfterFunc; here it is one allocation and a heap push, usually
// at the bottom (timeouts of one length end in the order they were set),
// and a Stop is a heap removal. Callbacks that come due together run in
// one loop event, in the order of their deadlines.
type timers struct {
	post func(func())

	// base is when the clock was made: deadlines are monotonic time since
	// base (time.Since reads one clock, time.Now two, at a quarter to
	// half a microsecond on this project's virtual machines).
	base time.Time

	mu    sync.Mutex
	heap  []*hostTimer  // a min-heap by at
	wake  *time.Timer   // fires the heap's head; nil until the first timer
	armed time.Duration // when wake fires (since base); 0 when it is not set
}

var _ clock.Clock = (*timers)(nil)

type hostTimer struct {
	ts      *timers
	at      time.Duration // since ts.base
	f       func()
	i       int // index in ts.heap; -1 once out of it
	stopped atomic.Bool
}

func newTimers(post func(func())) *timers { return &timers{post: post, base: time.Now()} }

// Now returns the operating system's time.
func (ts *timers) Now() time.Time { return time.Now() }

// AfterFunc posts f to the loop once d has passed. A timer stopped after
// its callback was posted but before the loop ran it still suppresses it.
func (ts *timers) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &hostTimer{ts: ts, at: time.Since(ts.base) + max(d, 0), f: f}
	ts.mu.Lock()
	t.i = len(ts.heap)
	ts.heap = append(ts.heap, t)
	ts.up(t.i)
	if t.i == 0 && (ts.armed == 0 || t.at < ts.armed) {
		ts.arm(t.at)
	}
	ts.mu.Unlock()
	return t
}

// Stop prevents the callback from running; it reports whether this call
// did (false: it ran, or was stopped before).
func (t *hostTimer) Stop() bool {
	ts := t.ts
	ts.mu.Lock()
	if t.i >= 0 {
		ts.remove(t.i)
	}
	ts.mu.Unlock()
	// The runtime timer stays armed for the head that was: firing with
	// nothing due only arms it again.
	return t.stopped.CompareAndSwap(false, true)
}

// arm sets the runtime timer to fire at at. Called with mu held.
func (ts *timers) arm(at time.Duration) {
	ts.armed = max(at, 1) // 0 means not armed
	d := at - time.Since(ts.base)
	if ts.wake == nil {
		ts.wake = time.AfterFunc(d, ts.fire)
		return
	}
	ts.wake.Reset(d)
}

// fire posts the callbacks that are due, in one event, and arms the
// runtime timer for the next.
func (ts *timers) fire() {
	now := time.Since(ts.base)
	var due []*hostTimer
	ts.mu.Lock()
	for len(ts.heap) > 0 && ts.heap[0].at <= now {
		t := ts.heap[0]
		ts.remove(0)
		due = append(due, t)
	}
	ts.armed = 0
	if len(ts.heap) > 0 {
		ts.arm(ts.heap[0].at)
	}
	ts.mu.Unlock()
	if len(due) == 0 {
		return
	}
	ts.post(func() {
		for _, t := range due {
			if t.stopped.CompareAndSwap(false, true) {
				t.f()
			}
		}
	})
}

// remove takes the timer at index i out of the heap. Called with mu held.
func (ts *timers) remove(i int) {
	h := ts.heap
	last := len(h) - 1
	h[i].i = -1
	if i != last {
		h[i] = h[last]
		h[i].i = i
	}
	h[last] = nil
	ts.heap = h[:last]
	if i != last {
		ts.down(i)
		ts.up(i)
	}
}

func (ts *timers) up(i int) {
	h := ts.heap
	for i > 0 {
		p := (i - 1) / 2
		if h[i].at >= h[p].at {
			break
		}
		h[i], h[p] = h[p], h[i]
		h[i].i, h[p].i = i, p
		i = p
	}
}

func (ts *timers) down(i int) {
	h := ts.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].at < h[l].at {
			m = r
		}
		if h[m].at >= h[i].at {
			return
		}
		h[i], h[m] = h[m], h[i]
		h[i].i, h[m].i = i, m
		i = m
	}
}
