package client

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/memdb/memdb/net"
)

// health is what the client has seen of one node: how fast it answers each
// class of request, when it last heard from it, and whether it counts as
// slow. Every field is atomic: calls on any goroutine update it, and the
// connection's reader records what it hears.
//
// A node is slow when a request to it went unanswered past its bound (see
// Client.slowBound) and nothing at all came from the node since that
// request was sent: a node that answers other requests meanwhile is alive,
// and the request is merely slow at its coordinator (a Paxos round under
// contention, a replica the coordinator waits for). A slow node is tried
// after every other; the first frame heard from it again — a late answer,
// or the answer to a probe — makes it healthy.
type health struct {
	// heard is clockNow when a frame last came from the node; 0: never.
	heard atomic.Int64
	// slow is clockNow when the node was found slow; 0 when it is not.
	slow atomic.Int64
	// probing says that a prober goroutine runs for the node.
	probing atomic.Bool
	// lat estimates the latency of each class of request.
	lat [numClasses]estimate
}

// hear records a frame from the node at now: it is not slow.
func (h *health) hear(now int64) {
	h.heard.Store(now)
	if h.slow.Load() != 0 {
		h.slow.Store(0)
	}
}

// isSlow reports whether the node counts as slow.
func (h *health) isSlow() bool { return h.slow.Load() != 0 }

// overdue records that a request sent at sent went unanswered past its
// bound, at now. It reports whether that made the node slow: it does
// unless something was heard from the node since sent, or it was slow
// already.
func (h *health) overdue(sent, now int64) bool {
	if h.heard.Load() >= sent {
		return false
	}
	return h.slow.CompareAndSwap(0, now)
}

// class is a kind of request whose latency is estimated apart: a quorum
// write waits for fsyncs and a Paxos round for several round trips, so
// either would make a read look slow, or the other way round.
type class uint8

const (
	classRead  class = iota // get, contains and counter reads at one, quorum, all
	classWrite              // set, delete and incr at one, quorum, all; compact
	classPaxos              // cas, and serial get, contains and set
	numClasses
)

// classOf returns the class of a request.
func classOf(m net.Message) class {
	switch m := m.(type) {
	case *net.Get:
		if m.Level == net.Serial {
			return classPaxos
		}
		return classRead
	case *net.Contains:
		if m.Level == net.Serial {
			return classPaxos
		}
		return classRead
	case *net.Set:
		if m.Level == net.Serial {
			return classPaxos
		}
	case *net.CAS:
		return classPaxos
	case *net.GetCounter:
		return classRead
	}
	return classWrite
}

// estimate tracks a latency as TCP tracks a round-trip time (RFC 6298,
// after Jacobson): a smoothed mean (gain 1/8) and a smoothed mean deviation
// (gain 1/4), in nanoseconds; high, the mean plus four deviations, is a
// latency few answers exceed. The two words are updated without a lock: a
// sample lost to a concurrent update changes nothing that matters.
type estimate struct {
	srtt, rttvar atomic.Int64
}

// observe adds a sample of d nanoseconds.
func (e *estimate) observe(d int64) {
	d = max(d, 1)
	s := e.srtt.Load()
	if s == 0 {
		e.rttvar.Store(d / 2)
		e.srtt.Store(d)
		return
	}
	dev := d - s
	if dev < 0 {
		dev = -dev
	}
	v := e.rttvar.Load()
	e.rttvar.Store(v + (dev-v)/4)
	e.srtt.Store(s + (d-s)/8)
}

// high is the mean plus four mean deviations; 0 before any sample.
func (e *estimate) high() int64 { return e.srtt.Load() + 4*e.rttvar.Load() }

// Health tuning that is not an option.
const (
	// slowFactor times a node's high latency is how long a request may go
	// unanswered before the node is found slow (at least
	// Options.SlowAfter).
	slowFactor = 8
	// slowShare of the call's time is the most that bound may be, so that
	// a slow node is found well before the call's deadline.
	slowShare = 4
	// probeEvery is how often a slow node is probed.
	probeEvery = 200 * time.Millisecond
	// probeTimeout bounds one probe.
	probeTimeout = time.Second
	// dialBound bounds a dial to a node that is not the call's last
	// resort: nothing was sent, so the call may try another node.
	dialBound = 500 * time.Millisecond
)

// tracking reports whether the client tracks node health: it does when it
// routes, unless Options.SlowAfter is negative.
func (c *Client) tracking() bool { return !c.opts.NoRouting && c.opts.SlowAfter >= 0 }

// hedging reports whether reads are hedged.
func (c *Client) hedging() bool { return !c.opts.NoRouting && c.opts.HedgeAfter >= 0 }

// slowBound is how long, in nanoseconds, a request of class cl may go
// unanswered before its node is found slow: slowFactor times the node's
// high latency, at least Options.SlowAfter, at most 1/slowShare of left,
// the time the call has (left <= 0: no bound).
func (c *Client) slowBound(h *health, cl class, left time.Duration) int64 {
	b := max(int64(c.opts.SlowAfter), slowFactor*h.lat[cl].high())
	if left > 0 {
		b = min(b, int64(left)/slowShare)
	}
	return b
}

// hedgeDelay is how long, in nanoseconds, a read of class cl waits for
// its node before it goes to another node as well: the node's high
// latency, at least Options.HedgeAfter, at most slow, the request's slow
// bound.
func (c *Client) hedgeDelay(h *health, cl class, slow int64) int64 {
	return min(max(int64(c.opts.HedgeAfter), h.lat[cl].high()), slow)
}

// noteOverdue marks p's node slow if a request sent to it at sent is
// overdue at now, and starts probing it.
func (c *Client) noteOverdue(p *pool, sent, now int64) {
	if !p.health.overdue(sent, now) {
		return
	}
	c.startProbe(p)
}

// startProbe starts a prober for p unless one runs or the client is
// closed.
func (c *Client) startProbe(p *pool) {
	if !p.health.probing.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if c.closed || c.bg == nil {
		c.mu.Unlock()
		p.health.probing.Store(false)
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go c.probe(p)
}

// probe asks p's node for the ring every probeEvery while it is slow: any
// frame it sends, the answer or a late reply, makes it healthy again.
func (c *Client) probe(p *pool) {
	defer c.wg.Done()
	h := &p.health
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		for h.isSlow() {
			select {
			case <-c.bg.Done():
				h.probing.Store(false)
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(c.bg, probeTimeout)
			if cn, err := p.get(ctx); err == nil {
				cn.roundTrip(ctx, &net.Ring{})
			}
			cancel()
		}
		h.probing.Store(false)
		// A request may have found the node slow again between the last
		// check and the store; then its CompareAndSwap failed, and this
		// prober must go on.
		if !h.isSlow() || !h.probing.CompareAndSwap(false, true) {
			return
		}
	}
}
