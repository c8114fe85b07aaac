package client

import (
	"context"
	"crypto/tls"
	"errors"
	stdnet "net"
	"sync/atomic"
	"time"
)

// pool holds the connections to one node address: Options.Conns slots,
// each with at most one live connection, dialed when first needed and
// redialed when found broken. Calls spread over the slots round-robin.
//
// Pools are keyed by address in the Client, so routing a request to a
// particular replica is a matter of picking its pool.
//
// A pool whose last dial failed is down for downFor: a routing client then
// tries it after every node that is not (see cursor), so that a node whose
// dials hang does not cost each call its whole deadline.
type pool struct {
	addr    string
	key     []byte
	tls     *tls.Config                                        // nil: plaintext
	dialer  func(context.Context, string) (stdnet.Conn, error) // nil: a net.Dialer
	session *session
	next    atomic.Uint64
	closed  atomic.Bool
	slots   []slot
	// downUntil is when the pool stops being down, in nanoseconds of
	// monotonic time since the process started (clockNow); 0 when up.
	downUntil atomic.Int64
	// health is what calls and connections have seen of the node.
	health health
}

// downFor is how long a failed dial sets a pool down.
const downFor = time.Second

// started anchors clockNow: time.Since reads the monotonic clock, which
// wall-clock steps do not move.
var started = time.Now()

// clockNow is monotonic time, in nanoseconds since the process started.
func clockNow() int64 { return int64(time.Since(started)) }

// down reports whether the pool's last dial failed less than downFor
// before now, a clockNow value that *now (0: not read yet) caches, so that
// the clock is read only when some pool is down.
func (p *pool) down(now *int64) bool {
	until := p.downUntil.Load()
	if until == 0 {
		return false
	}
	if *now == 0 {
		*now = clockNow()
	}
	return *now < until
}

// slot is one connection of a pool. lock (capacity 1) serializes dialing,
// as a mutex a waiter can abandon when its context ends; c is read without
// it on the fast path.
type slot struct {
	lock chan struct{}
	c    atomic.Pointer[conn]
}

func newPool(addr string, key []byte, s *session, conns int) *pool {
	p := &pool{addr: addr, key: key, session: s, slots: make([]slot, conns)}
	for i := range p.slots {
		p.slots[i].lock = make(chan struct{}, 1)
	}
	return p
}

// get returns a live connection, dialing one if the next slot has none.
func (p *pool) get(ctx context.Context) (*conn, error) { return p.getWithin(ctx, 0) }

// tryGet returns a live connection of the pool without dialing: the next
// slot's if it has one, else any other's; nil if none is live.
func (p *pool) tryGet() *conn {
	n := uint64(len(p.slots))
	start := p.next.Add(1) - 1
	for i := range n {
		if c := p.slots[(start+i)%n].c.Load(); c != nil && c.alive() {
			return c
		}
	}
	return nil
}

// getWithin is get, with dialing bounded by bound as well unless it is 0:
// a dial that runs out of it sets the pool down, as a failed one does.
func (p *pool) getWithin(ctx context.Context, bound time.Duration) (*conn, error) {
	s := &p.slots[(p.next.Add(1)-1)%uint64(len(p.slots))]
	if c := s.c.Load(); c != nil && c.alive() {
		return c, nil
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.lock }()
	// Another caller may have dialed while this one waited.
	if c := s.c.Load(); c != nil && c.alive() {
		return c, nil
	}
	c, err := dial(ctx, p.addr, p.key, p.tls, p.dialer, p.session, &p.health)
	if err != nil {
		// A refused key or a caller that gave up says nothing of the
		// node's health.
		if !errors.Is(err, ErrAuth) && !errors.Is(ctx.Err(), context.Canceled) {
			p.downUntil.Store(clockNow() + int64(downFor))
		}
		return nil, err
	}
	p.downUntil.Store(0)
	if old := s.c.Swap(c); old != nil {
		old.close(errReplaced)
	}
	// close sets closed before it empties the slots, so a connection
	// stored here after close emptied this slot is seen and closed here.
	if p.closed.Load() {
		c.close(ErrClosed)
		return nil, ErrClosed
	}
	return c, nil
}

// close closes every connection of the pool with reason and waits for
// their goroutines; a get racing with it fails with ErrClosed.
func (p *pool) close(reason error) {
	p.closed.Store(true)
	for i := range p.slots {
		if c := p.slots[i].c.Swap(nil); c != nil {
			c.close(reason)
		}
	}
}
