package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/memdb/memdb/net"
)

// Incr adds delta to the counter key (a negative delta subtracts) and
// returns the counter's value just after the increment, at the replica
// that applied it. A key never incremented counts from 0.
//
// An increment is made exactly once however often it is sent: it carries
// an operation id, the client's session and a sequence number, which every
// attempt of the call repeats. An attempt whose outcome is unknown (no
// answer within its share of the call's time, a broken connection, or the
// node's own CodeUnknownOutcome) is sent again, with the same id, to the
// same node — the node that got the first attempt, which can tell whether
// it applied the operation and answers the first result if it did — after
// a short backoff, reconnecting if needed, until the call's deadline. Only
// the first attempt moves on to another node, and only if it could not be
// sent at all. Increments are never hedged.
//
// Errors, besides those of every call:
//   - ErrUnknownOutcome: no attempt's answer came before the call's
//     deadline (ErrTimeout too), or a node answered with something that is
//     not an answer to an increment. The increment may or may not have
//     been applied; it was never applied twice.
//   - ErrWrongKind: key holds a plain value, not a counter.
//   - ErrQuorum: too few replicas answered; nothing was applied.
//   - ErrZeroDelta: delta is 0; nothing is sent (read with Counter).
//   - A *net.Error with CodeUnsupported or another code: refused, as the
//     node said.
//
// The level is one, quorum or all: the call fails before sending anything
// at net.Serial (also when it is the client's default), since counters are
// not made through Paxos.
func (c *Client) Incr(ctx context.Context, key string, delta int64, opts ...CallOption) (int64, error) {
	return c.incr(ctx, "incr", key, delta, opts)
}

// Decr subtracts delta from the counter key and returns its value just
// after; it is Incr with -delta, and fails as Incr does. A delta of
// math.MinInt64, whose negation is not an int64, fails with ErrOverflow
// before anything is sent.
func (c *Client) Decr(ctx context.Context, key string, delta int64, opts ...CallOption) (int64, error) {
	if delta == math.MinInt64 {
		return 0, fmt.Errorf("decr %s: %w: cannot subtract %d", keyString(key), ErrOverflow, delta)
	}
	return c.incr(ctx, "decr", key, -delta, opts)
}

// Counter returns the value of the counter key: 0 for a key never
// incremented. It is a read: at quorum and all the node merges what the
// key's replicas hold; it is retried and hedged as Get is. A key that
// holds a plain value fails with ErrWrongKind. Serial fails before
// anything is sent, as for Incr.
func (c *Client) Counter(ctx context.Context, key string, opts ...CallOption) (int64, error) {
	co := c.callOptions(opts)
	if err := counterLevel(co.level); err != nil {
		return 0, fmt.Errorf("counter %s: %w", keyString(key), err)
	}
	f, err := c.request(ctx, "counter", key, &net.GetCounter{Level: co.level, Key: []byte(key)}, false, co)
	if err != nil {
		return 0, err
	}
	if m, ok := f.Msg.(*net.CounterValue); ok {
		return m.Value, nil
	}
	return 0, unexpectedReply("counter", key, f.Msg, false)
}

// counterLevel refuses the level a counter call cannot take: serial (the
// node would take the frame for a malformed one and hang up).
func counterLevel(l net.Consistency) error {
	if l == net.Serial {
		return fmt.Errorf("%w: a counter cannot be serial (counters are not made through Paxos); use one, quorum or all", errOptions)
	}
	return nil
}

// counters holds what names a client's increments: a session id drawn at
// random when the client is made, and the last sequence number used.
type counters struct {
	session uint64
	seq     atomic.Uint64
}

// nextSeq numbers a new increment call.
func (c *Client) nextSeq() uint64 { return c.counters.seq.Add(1) }

// newSession draws a session id: random, never 0.
func newSession() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if s := binary.BigEndian.Uint64(b[:]); s != 0 {
			return s
		}
	}
}

// Retry tuning of increments.
const (
	// attemptShare: an attempt waits at most 1/attemptShare of the time
	// the call has left when it is sent, at least minAttempt, before the
	// next is sent (the node may yet answer the earlier one: every
	// attempt's answer is awaited until the next is sent).
	attemptShare = 4
	minAttempt   = 50 * time.Millisecond
	// firstBackoff doubles per retry up to maxBackoff: the pause after an
	// attempt that ended in an unknown outcome before its bound (a broken
	// connection, a failed dial, CodeUnknownOutcome).
	firstBackoff = 5 * time.Millisecond
	maxBackoff   = 250 * time.Millisecond
)

// backoff is the pause before attempt n (n ≥ 1) after one that ended
// early: exponential, capped, with jitter in its upper half.
func backoff(n uint32) time.Duration {
	d := firstBackoff << min(n-1, 6)
	d = min(d, maxBackoff)
	return d/2 + mrand.N(d/2+1)
}

// incrCall is one Incr call: the request and the node it is pinned to.
type incrCall struct {
	c     *Client
	ctx   context.Context
	msg   net.Incr
	began int64 // clockNow when the call began
	// cur orders the nodes the first attempt may go to; p is the node
	// that took it, where every later attempt goes.
	cur      cursor
	routed   bool
	p        *pool
	seed     int // p's index in Options.Addrs when not routed, else -1
	failures []string
	// unknown is why the last attempt's outcome is unknown.
	unknown error
}

func (c *Client) incr(ctx context.Context, op, key string, delta int64, opts []CallOption) (int64, error) {
	co := c.callOptions(opts)
	fail := func(err error) (int64, error) { return 0, fmt.Errorf("%s %s: %w", op, keyString(key), err) }
	if err := net.ValidateKey([]byte(key)); err != nil {
		return fail(err)
	}
	if co.level > net.Serial {
		return fail(fmt.Errorf("%w: consistency %s is not a level (want one, quorum or all)", errOptions, co.level))
	}
	if err := counterLevel(co.level); err != nil {
		return fail(err)
	}
	if delta == 0 {
		return fail(ErrZeroDelta)
	}
	ctx, cancel := withTimeout(ctx, co.timeout)
	defer cancel()
	ic := incrCall{c: c, ctx: ctx, began: clockNow(), msg: net.Incr{
		Level: co.level, Key: []byte(key), Delta: delta,
		Session: c.counters.session, Seq: c.nextSeq(), First: c.session.now(),
	}}
	newCursor(&ic.cur, c.route.Load(), ic.msg.Key, c.seeds, int(c.preferred.Load()), c.tracking())
	ic.routed = ic.cur.r != nil
	v, err := ic.run()
	if err != nil {
		return fail(err)
	}
	return v, nil
}

// run makes the call: the first attempt, then retries on the same node.
func (ic *incrCall) run() (int64, error) {
	cn, ch, id, sent, err := ic.first()
	if err != nil {
		return 0, err
	}
	for {
		r, timedOut, err := ic.wait(cn, ch, id, sent)
		if err != nil {
			return 0, err
		}
		if !timedOut {
			if e, ok := r.f.Msg.(*net.Error); ok && r.err == nil && e.Code == net.CodeShuttingDown && ic.msg.Attempt == 0 {
				// The only attempt so far was refused before it was acted
				// on: nothing reached any node, so another may take it.
				ic.lost(ic.p.addr, e)
				if cn, ch, id, sent, err = ic.first(); err != nil {
					return 0, err
				}
				continue
			}
			v, again, err := ic.judge(r, sent)
			if !again {
				return v, err
			}
			ic.unknown = err
		}
		if ic.msg.Attempt >= net.MaxAttempts {
			return 0, ic.gaveUp(fmt.Errorf("%d attempts sent", ic.msg.Attempt+1))
		}
		ic.msg.Attempt++
		if !timedOut {
			if err := ic.sleep(backoff(ic.msg.Attempt)); err != nil {
				return 0, err
			}
		}
		if cn, ch, id, sent, err = ic.retry(); err != nil {
			return 0, err
		}
	}
}

// first sends attempt 0 to the first node that takes it, in the order a
// write takes (see exchange): until it is sent, nothing has reached any
// node, so a node that cannot be dialed, or whose connection had broken,
// is passed over.
func (ic *incrCall) first() (*conn, chan reply, uint64, int64, error) {
	track := ic.c.tracking()
	var again *pool
	seed := -1
	for {
		p, retry := again, false
		if p == nil {
			var ok bool
			if p, seed, ok = ic.cur.next(); !ok {
				return nil, nil, 0, 0, unreachable(ic.failures, "", nil)
			}
			retry = true
		}
		again = nil
		var bound time.Duration
		if track && !ic.cur.lastResort() {
			bound = dialBound
		}
		cn, err := p.getWithin(ic.ctx, bound)
		if err != nil {
			if errors.Is(err, ErrAuth) || errors.Is(err, ErrClosed) {
				return nil, nil, 0, 0, err
			}
			if ic.ctx.Err() != nil {
				return nil, nil, 0, 0, unreachable(ic.failures, p.addr, ic.ctx.Err())
			}
			ic.lost(p.addr, err)
			continue
		}
		id, ch, sent, err := ic.send(cn)
		if err != nil {
			ic.lost(p.addr, err)
			if retry {
				again = p
			}
			continue
		}
		ic.p, ic.seed = p, seed
		return cn, ch, id, sent, nil
	}
}

// send sends the current attempt over cn.
func (ic *incrCall) send(cn *conn) (uint64, chan reply, int64, error) {
	now := clockNow()
	// send encodes the frame before it returns, so msg may change after.
	id, ch, err := cn.send(&ic.msg)
	return id, ch, now, err
}

// lost records that addr could not take the first attempt.
func (ic *incrCall) lost(addr string, err error) {
	ic.failures = append(ic.failures, addr+": "+err.Error())
	if ic.routed {
		ic.c.kickRefresh()
	}
}

// wait waits for the answer to the attempt sent at sent, for at most its
// share of the call's time. timedOut says that the share ran out first
// (the node is then judged overdue, see health); err that the call ended.
func (ic *incrCall) wait(cn *conn, ch chan reply, id uint64, sent int64) (r reply, timedOut bool, err error) {
	left := time.Duration(0)
	if dl, ok := ic.ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	var expire <-chan time.Time
	if left > 0 {
		t := time.NewTimer(max(left/attemptShare, minAttempt))
		defer t.Stop()
		expire = t.C
	}
	select {
	case r = <-ch:
		return r, false, nil
	case <-expire:
		cn.forget(id)
		if ic.c.tracking() {
			ic.c.noteOverdue(ic.p, sent, clockNow())
		}
		ic.unknown = fmt.Errorf("no answer from %s to attempt %d", ic.p.addr, ic.msg.Attempt)
		return reply{}, true, nil
	case <-ic.ctx.Done():
		cn.forget(id)
		return reply{}, false, ic.gaveUp(nil)
	}
}

// judge reads the answer r to the attempt sent at sent: the counter's
// value, or an error; again says that the outcome is unknown and the call
// goes on (err then says why).
func (ic *incrCall) judge(r reply, sent int64) (v int64, again bool, err error) {
	if r.err != nil {
		if errors.Is(r.err, ErrClosed) {
			return 0, false, ic.gaveUp(r.err)
		}
		if ic.c.route.Load() != nil {
			ic.c.kickRefresh()
		}
		return 0, true, r.err
	}
	switch m := r.f.Msg.(type) {
	case *net.CounterValue:
		if ic.msg.Attempt == 0 {
			p := ic.p
			p.health.lat[classWrite].observe(min(clockNow()-sent, ic.c.slowBound(&p.health, classWrite, 0)))
		}
		if ic.seed >= 0 {
			ic.c.preferred.Store(int64(ic.seed))
		}
		return m.Value, false, nil
	case *net.Error:
		switch m.Code {
		case net.CodeUnknownOutcome:
			return 0, true, replyError(m)
		case net.CodeShuttingDown:
			// Refused without being acted on; an earlier attempt may still
			// have been applied, and the node may come back.
			return 0, true, m
		}
		return 0, false, replyError(m)
	}
	err = fmt.Errorf("the node replied %s: %w", r.f.Msg.Kind(), errProtocol)
	return 0, false, fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
}

// retry sends the next attempt to the call's node, reconnecting as needed,
// until the call's end.
func (ic *incrCall) retry() (*conn, chan reply, uint64, int64, error) {
	for {
		cn, err := ic.p.get(ic.ctx)
		if err == nil {
			id, ch, sent, err := ic.send(cn)
			if err == nil {
				return cn, ch, id, sent, nil
			}
			ic.unknown = err
		} else {
			if ic.ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return nil, nil, 0, 0, ic.gaveUp(err)
			}
			ic.unknown = err
		}
		// The node cannot be reached, or the connection just broke: wait
		// a little, as after any attempt that ended early.
		if err := ic.sleep(backoff(ic.msg.Attempt)); err != nil {
			return nil, nil, 0, 0, err
		}
	}
}

// sleep pauses for d, or until the call ends.
func (ic *incrCall) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ic.ctx.Done():
		return ic.gaveUp(nil)
	}
}

// gaveUp is the error of a call that ends with its outcome unknown: why
// (err, else the last attempt's reason), the attempts made, and whether
// the deadline passed.
func (ic *incrCall) gaveUp(err error) error {
	if err == nil {
		err = ic.unknown
	}
	n := ic.msg.Attempt + 1
	msg := fmt.Sprintf("%d attempt(s) to %s", n, ic.p.addr)
	var out error
	switch {
	case ic.ctx.Err() != nil:
		out = timeoutError(ic.ctx, ic.p.addr+" ("+msg+")", true)
	default:
		out = fmt.Errorf("%w: %s", ErrUnknownOutcome, msg)
	}
	if err != nil {
		out = fmt.Errorf("%w; last: %w", out, err)
	}
	return out
}
