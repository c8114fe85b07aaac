package nodetest

import (
	"container/heap"
	"time"

	"github.com/memdb/memdb/clock"
)

// Start is the virtual time every cluster begins at.
var Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// timer is one AfterFunc call waiting for the cluster's time to reach at.
// Timers of the same instant fire in the order they were made (seq).
type timer struct {
	at      time.Time
	seq     uint64
	h       *Host
	inc     uint64 // the incarnation that made it: a crash voids it
	fn      func()
	stopped bool
}

// timers is a min-heap of pending timers by (at, seq).
type timers []*timer

func (q timers) Len() int { return len(q) }
func (q timers) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q timers) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *timers) Push(x any)   { *q = append(*q, x.(*timer)) }
func (q *timers) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}

// hostClock is one incarnation's clock.Clock: it reads the cluster's
// virtual time, and its timers fire only when the test moves time on
// (Advance, Run), and only while that incarnation runs.
type hostClock struct {
	h   *Host
	inc uint64
}

var _ clock.Clock = hostClock{}

func (c hostClock) Now() time.Time { return c.h.c.now }

func (c hostClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	cl := c.h.c
	cl.timerSeq++
	t := &timer{at: cl.now.Add(max(d, 0)), seq: cl.timerSeq, h: c.h, inc: c.inc, fn: f}
	heap.Push(&cl.timers, t)
	return stopper{t}
}

// stopper stops a timer; a stopped timer is skipped when it comes due.
type stopper struct{ t *timer }

func (s stopper) Stop() bool {
	was := !s.t.stopped && s.t.fn != nil
	s.t.stopped = true
	return was
}

// next returns the earliest live timer without removing it, dropping the
// stopped and void ones it finds first; nil if none is left.
func (c *Cluster) next() *timer {
	for len(c.timers) > 0 {
		t := c.timers[0]
		if !t.stopped && t.h.alive(t.inc) {
			return t
		}
		heap.Pop(&c.timers)
	}
	return nil
}

// fireDue fires, in order, every timer due at or before the cluster's
// current time, including those that firing schedules for now.
func (c *Cluster) fireDue() {
	for t := c.next(); t != nil && !t.at.After(c.now); t = c.next() {
		heap.Pop(&c.timers)
		fn := t.fn
		t.fn = nil // fired: Stop now reports false
		c.step(t.h.name()+" timer", false, func() { t.h.call(fn) })
	}
}

// Advance moves time on by d, firing each timer as its time comes, in
// order. Messages and disk completions the timers cause stay queued.
func (c *Cluster) Advance(d time.Duration) {
	end := c.now.Add(d)
	for t := c.next(); t != nil && !t.at.After(end); t = c.next() {
		c.now = t.at
		c.fireDue()
	}
	c.now = end
}

// Run lets the cluster run for d of virtual time on a perfect network
// with instant disks: it stabilizes, moves time to the next timer, fires
// it, and again, until d has passed. It prints what every step prints;
// the run command wraps it in Quietly, which leaves only client replies.
func (c *Cluster) Run(d time.Duration) {
	end := c.now.Add(d)
	c.Stabilize()
	for t := c.next(); t != nil && !t.at.After(end); t = c.next() {
		c.now = t.at
		c.fireDue()
		c.Stabilize()
	}
	c.now = end
}

// Elapsed is the virtual time since the cluster began.
func (c *Cluster) Elapsed() time.Duration { return c.now.Sub(Start) }
