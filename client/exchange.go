package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/memdb/memdb/net"
)

// exchange sends msg, a request about key (nil if it has none), and
// returns the reply frame, which may carry a *net.Error. write says whether
// msg changes the store, which decides what a lost reply means: a read is
// retried, on another connection and then another node, a write is
// ErrUnknownOutcome.
//
// The nodes are tried in the order of a cursor: with a route, key's
// replicas first (the first one coordinates the call without an extra
// hop), then any other node, then those that are down or slow; without
// one, Options.Addrs from the node that answered last. A routed call that
// cannot reach a node kicks a refresh of the ring, since the ring may have
// changed.
//
// With health tracking (see health), a request unanswered past its slow
// bound marks its node slow, so that later calls go elsewhere first; the
// call itself goes on waiting for that answer if it is a write, since a
// write that was sent is never sent again: its outcome is the node's to
// tell. A read is hedged instead: unanswered after its hedge delay, it is
// sent to the next node of the cursor as well, and the first answer wins.
// The hedge never holds up the first attempt: it goes over a live
// connection, or one dialed in the background (see hedgeOut), and
// nothing that goes wrong with it ends the call while the first attempt
// may still answer. A serial read is not hedged: it runs a Paxos round,
// and two coordinators of one key would fight over its ballots (each
// making the other retry, or fail with ErrContention), where one alone
// would have answered.
func (c *Client) exchange(ctx context.Context, key []byte, msg net.Message, write bool, co call) (net.Frame, error) {
	ctx, cancel := withTimeout(ctx, co.timeout)
	defer cancel()
	x := exchanger{c: c, ctx: ctx, msg: msg, write: write, cl: classOf(msg), track: c.tracking()}
	x.hedge = !write && x.cl == classRead && c.hedging()
	x.deadline, x.bounded = ctx.Deadline()
	newCursor(&x.cur, c.route.Load(), key, c.seeds, int(c.preferred.Load()), x.track)
	x.routed = x.cur.r != nil
	defer x.finish()
	if err := x.launch(nil, -1); err != nil {
		return net.Frame{}, err
	}
	return x.wait()
}

// attempt is a call's request sent to one node.
type attempt struct {
	p    *pool
	seed int // the pool's index in Options.Addrs, or -1 (see cursor.next)
	cn   *conn
	id   uint64
	ch   chan reply
	// sent is clockNow when the request was queued; slowAt when, still
	// unanswered, it finds its node slow (0: judged, or no tracking).
	sent, slowAt int64
	// again says that another connection of the same pool may be tried
	// if this one breaks.
	again bool
}

// exchanger is the state of one exchange.
type exchanger struct {
	c            *Client
	ctx          context.Context
	msg          net.Message
	write        bool
	cl           class
	track, hedge bool
	deadline     time.Time
	bounded      bool // deadline is set
	cur          cursor
	routed       bool
	failures     []string
	// att are the attempts in flight, att[:n]: one, or a read and its
	// hedge.
	att [2]*attempt
	n   int
	// hedgeAt is when the read goes to another node as well; 0: not (or
	// no longer) to be hedged.
	hedgeAt int64
	// dialing, while the hedge's node is being dialed in the background,
	// receives the outcome (see hedgeOut); nil otherwise.
	dialing chan dialed
	dialTo  *pool // the pool being dialed
	timer   *time.Timer
}

// dialed is the outcome of dialing a hedge's node: a connection to send
// the hedge over, or why there is none.
type dialed struct {
	p    *pool
	seed int
	cn   *conn
	err  error
}

// lost records that addr could not be used and moves on.
func (x *exchanger) lost(addr string, err error) {
	x.failures = append(x.failures, addr+": "+err.Error())
	if x.routed {
		x.c.kickRefresh()
	}
}

// launch sends the request to the next node that takes it: again, a pool
// to try once more (seed its index in Options.Addrs, or -1), if not nil,
// else the cursor's next. It returns an error that ends the call (a
// refused key, a closed client, the call's end while connecting); having
// no node left to try is not one: nothing is then launched.
func (x *exchanger) launch(again *pool, seed int) error {
	for {
		p, retry := again, false
		if p == nil {
			var ok bool
			if p, seed, ok = x.cur.next(); !ok {
				return nil
			}
			retry = true
		}
		again = nil
		// A node that is not the last resort gets a bounded dial: nothing
		// is sent until it succeeds, so the call can move on.
		var bound time.Duration
		if x.track && !x.cur.lastResort() {
			bound = dialBound
		}
		cn, err := p.getWithin(x.ctx, bound)
		if err != nil {
			if errors.Is(err, ErrAuth) || errors.Is(err, ErrClosed) {
				return err
			}
			if x.ctx.Err() != nil {
				return unreachable(x.failures, p.addr, x.ctx.Err())
			}
			x.lost(p.addr, err)
			continue
		}
		id, ch, err := cn.send(x.msg)
		if err != nil {
			// The connection had broken: nothing was sent, and a fresh
			// one may do.
			x.lost(p.addr, err)
			if retry {
				again = p
			}
			continue
		}
		x.add(&attempt{p: p, seed: seed, cn: cn, id: id, ch: ch, sent: clockNow(), again: retry})
		return nil
	}
}

// add puts a, just sent, among the attempts in flight, timing its slow
// bound and, for the call's first attempt of a read, the hedge.
func (x *exchanger) add(a *attempt) {
	slow := x.c.slowBound(&a.p.health, x.cl, x.left())
	if x.track {
		a.slowAt = a.sent + slow
	}
	if x.hedge {
		// One hedge per call, timed by the first node's latency.
		x.hedge = false
		x.hedgeAt = a.sent + x.c.hedgeDelay(&a.p.health, x.cl, slow)
	}
	x.att[x.n] = a
	x.n++
}

// hedgeOut sends the read to the next node of the cursor as well. It
// never keeps the call from hearing the attempt in flight: over a live
// connection of that node it sends at once; else it dials the node in the
// background (bounded as launch bounds a dial, and by the call's end), and
// wait sends the hedge once the connection comes (see hedged). A hedge
// that cannot be sent is a failure of its node, never of the call.
func (x *exchanger) hedgeOut() {
	p, seed, ok := x.cur.next()
	if !ok {
		return
	}
	if cn := p.tryGet(); cn != nil {
		x.sendHedge(p, seed, cn)
		return
	}
	var bound time.Duration
	if x.track && !x.cur.lastResort() {
		bound = dialBound
	}
	ch := make(chan dialed, 1)
	x.dialing, x.dialTo = ch, p
	ctx := x.ctx
	go func() {
		cn, err := p.getWithin(ctx, bound)
		ch <- dialed{p: p, seed: seed, cn: cn, err: err}
	}()
}

// hedged deals with the outcome d of dialing the hedge's node: it sends
// the hedge, or records the failure. It returns an error that ends the
// call only if no attempt is in flight (the first one failed meanwhile,
// with no node left to try) and the failure is one that ends a call (a
// refused key, a closed client).
func (x *exchanger) hedged(d dialed) error {
	x.dialing, x.dialTo = nil, nil
	if d.err == nil {
		x.sendHedge(d.p, d.seed, d.cn)
		return nil
	}
	if x.n == 0 && (errors.Is(d.err, ErrAuth) || errors.Is(d.err, ErrClosed)) {
		return d.err
	}
	x.lost(d.p.addr, d.err)
	return nil
}

// sendHedge sends the hedge over cn, a connection of p.
func (x *exchanger) sendHedge(p *pool, seed int, cn *conn) {
	id, ch, err := cn.send(x.msg)
	if err != nil {
		x.lost(p.addr, err)
		return
	}
	x.add(&attempt{p: p, seed: seed, cn: cn, id: id, ch: ch, sent: clockNow(), again: true})
}

// left is the time the call has left; 0 without a deadline.
func (x *exchanger) left() time.Duration {
	if !x.bounded {
		return 0
	}
	return max(time.Until(x.deadline), 1)
}

// wait waits for an answer to an attempt in flight, hedging and judging
// nodes slow on the way.
func (x *exchanger) wait() (net.Frame, error) {
	for {
		if x.n == 0 && x.dialing == nil {
			return net.Frame{}, unreachable(x.failures, "", nil)
		}
		var ch0, ch1 chan reply
		if x.n > 0 {
			ch0 = x.att[0].ch
		}
		if x.n > 1 {
			ch1 = x.att[1].ch
		}
		var r reply
		var i int
		select {
		case r = <-ch0:
			i = 0
		case r = <-ch1:
			i = 1
		case <-x.arm():
			x.fire()
			continue
		case d := <-x.dialing:
			if err := x.hedged(d); err != nil {
				return net.Frame{}, err
			}
			continue
		case <-x.ctx.Done():
			if x.n == 0 {
				// Nothing was sent but the hedge, still being dialed.
				return net.Frame{}, unreachable(x.failures, x.dialTo.addr, x.ctx.Err())
			}
			return net.Frame{}, timeoutError(x.ctx, x.addrs(), x.write)
		}
		a := x.att[i]
		x.drop(i)
		if f, err, done := x.handle(a, r); done {
			return f, err
		}
	}
}

// handle deals with the reply r to attempt a: done says that it ends the
// call, with f or err.
func (x *exchanger) handle(a *attempt, r reply) (f net.Frame, err error, done bool) {
	if r.err == nil {
		if e, ok := r.f.Msg.(*net.Error); ok && e.Code == net.CodeShuttingDown {
			// Refused before it was acted on: safe to send elsewhere.
			x.lost(a.p.addr, e)
			return x.relaunch(nil, -1)
		}
		d := clockNow() - a.sent
		a.p.health.lat[x.cl].observe(min(d, x.c.slowBound(&a.p.health, x.cl, 0)))
		if a.seed >= 0 {
			x.c.preferred.Store(int64(a.seed))
		}
		return r.f, nil, true
	}
	switch {
	case x.ctx.Err() != nil:
		return net.Frame{}, timeoutError(x.ctx, a.p.addr, x.write), true
	case x.write:
		if x.routed {
			x.c.kickRefresh()
		}
		return net.Frame{}, fmt.Errorf("%w: %w", ErrUnknownOutcome, r.err), true
	case errors.Is(r.err, errConnLost) && !errors.Is(r.err, ErrClosed):
		// A read is harmless to repeat: on a fresh connection of the same
		// node once, then on the next node.
		x.lost(a.p.addr, r.err)
		if a.again {
			return x.relaunch(a.p, a.seed)
		}
		return x.relaunch(nil, -1)
	}
	return net.Frame{}, r.err, true
}

// relaunch launches again (see launch) unless another attempt is still in
// flight, which the call then waits for. (A hedge being dialed does not
// count: it may never be sent.)
func (x *exchanger) relaunch(again *pool, seed int) (net.Frame, error, bool) {
	if x.n > 0 {
		return net.Frame{}, nil, false
	}
	if err := x.launch(again, seed); err != nil {
		return net.Frame{}, err, true
	}
	return net.Frame{}, nil, false
}

// drop removes att[i] from the attempts in flight.
func (x *exchanger) drop(i int) {
	x.att[i] = x.att[x.n-1]
	x.att[x.n-1] = nil
	x.n--
}

// next is the earliest clockNow at which something is due: an attempt's
// slow bound or the hedge; 0 if nothing is.
func (x *exchanger) next() int64 {
	t := x.hedgeAt
	for _, a := range x.att[:x.n] {
		if a.slowAt != 0 && (t == 0 || a.slowAt < t) {
			t = a.slowAt
		}
	}
	return t
}

// arm returns a channel that receives when the next thing is due, or nil
// if nothing is.
func (x *exchanger) arm() <-chan time.Time {
	t := x.next()
	if t == 0 {
		return nil
	}
	d := time.Duration(t - clockNow())
	if x.timer == nil {
		x.timer = timers.Get().(*time.Timer)
	}
	x.timer.Reset(d)
	return x.timer.C
}

// timers are stopped timers for calls to reuse: nearly every call arms
// one, and allocating it was a tenth of a routed read's cost. A stopped
// timer delivers nothing stale (Go 1.23 timers), so reuse is safe.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// fire does what is due: it marks the nodes of overdue attempts slow, and
// sends a read that is due to be hedged to the next node.
func (x *exchanger) fire() {
	now := clockNow()
	for _, a := range x.att[:x.n] {
		if a.slowAt != 0 && now >= a.slowAt {
			a.slowAt = 0
			x.c.noteOverdue(a.p, a.sent, now)
		}
	}
	if x.hedgeAt != 0 && now >= x.hedgeAt {
		x.hedgeAt = 0
		if x.n == 1 {
			x.hedgeOut()
		}
	}
}

// addrs names the nodes of the attempts in flight.
func (x *exchanger) addrs() string {
	var s []string
	for _, a := range x.att[:x.n] {
		s = append(s, a.p.addr)
	}
	return strings.Join(s, " and ")
}

// finish stops the timer and drops the waiters of attempts still in
// flight: their late replies are discarded (but still heard, see health),
// except a plain read's, which is waited for a while to be sampled (see
// sampleLate). An attempt whose slow bound has not come yet is still
// judged when it does: a read that a hedge answered must not leave its
// silent node looking healthy, or every read routed there would wait for
// its hedge.
func (x *exchanger) finish() {
	if x.timer != nil {
		x.timer.Stop()
		timers.Put(x.timer)
	}
	for _, a := range x.att[:x.n] {
		if x.cl == classRead && x.track {
			x.c.sampleLate(a)
		} else {
			a.cn.forget(a.id)
		}
		if a.slowAt != 0 {
			c, p, sent := x.c, a.p, a.sent
			time.AfterFunc(time.Duration(a.slowAt-clockNow()), func() { c.noteOverdue(p, sent, clockNow()) })
		}
	}
}

// sampleLate waits, in the background, for the late reply to a read
// attempt its call no longer waits for (a hedge answered first, or the
// call ran out of time), and adds its latency to the node's estimate, as
// an answer in time would have: the estimate then sees the slow answers
// it hedged around, and does not drift low and hedge ever more. It waits
// for the slow bound, at least lateWait, then forgets the request.
func (c *Client) sampleLate(a *attempt) {
	h := &a.p.health
	bound := c.slowBound(h, classRead, 0)
	wait := time.Duration(max(bound, int64(lateWait)))
	go func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case r := <-a.ch:
			if r.err == nil {
				h.lat[classRead].observe(min(clockNow()-a.sent, bound))
			}
		case <-t.C:
			a.cn.forget(a.id)
		}
	}()
}

// lateWait is the least time sampleLate waits for a late reply.
const lateWait = time.Second
