package clock

import (
	"sync/atomic"
	"time"
)

// Clock is the node's view of physical time.
//
// Now may be called from the node's loop at any time. AfterFunc arranges for
// f to run after at least d has passed; the host guarantees f runs on the
// node's loop, never concurrently with any other event of that node.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the callback from running. It reports whether the call
	// stopped it; false means the callback already ran or was already
	// stopped, or (in the live host) is already queued on the loop.
	Stop() bool
}

// Real is the operating system's clock. Its AfterFunc callbacks run on their
// own goroutine, as time.AfterFunc's do: a host that needs them on its loop
// wraps Real (see Posting).
type Real struct{}

var _ Clock = Real{}

// Now returns the wall-clock time.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc calls f on its own goroutine after d.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Posting is a Clock whose timer callbacks are handed to Post instead of being
// run directly, so that a host can run them on its event loop.
type Posting struct {
	Base Clock
	Post func(f func())
	// Soon, if set, takes the callbacks of AfterFunc with no delay — the
	// next slice of a long walk the node hands itself (a compaction, a
	// digest, a scan) — instead of a timer of Base: no timer, no goroutine
	// per slice, and the host may let the events already queued go first.
	// AfterFunc calls it on the caller's goroutine, which for a node is
	// its loop.
	Soon func(f func())
}

var _ Clock = (*Posting)(nil)

// Now returns the base clock's time.
func (p *Posting) Now() time.Time { return p.Base.Now() }

// AfterFunc posts f to the loop once d has passed on the base clock.
// A timer stopped after its callback was posted but before the loop ran it
// still suppresses the callback.
func (p *Posting) AfterFunc(d time.Duration, f func()) Timer {
	t := &postedTimer{}
	run := func() {
		if t.stopped.CompareAndSwap(false, true) {
			f()
		}
	}
	if d <= 0 && p.Soon != nil {
		p.Soon(run)
		return t
	}
	t.base = p.Base.AfterFunc(d, func() { p.Post(run) })
	return t
}

type postedTimer struct {
	base    Timer // nil for a callback handed to Soon
	stopped atomic.Bool
}

func (t *postedTimer) Stop() bool {
	if t.base != nil {
		t.base.Stop()
	}
	return t.stopped.CompareAndSwap(false, true)
}
