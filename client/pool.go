package client

import (
	"context"
	"sync/atomic"
)

// pool holds the connections to one node address: Options.Conns slots,
// each with at most one live connection, dialed when first needed and
// redialed when found broken. Calls spread over the slots round-robin.
//
// Pools are keyed by address in the Client, so routing a request to a
// particular replica is a matter of picking its pool.
type pool struct {
	addr    string
	key     []byte
	session *session
	next    atomic.Uint64
	closed  atomic.Bool
	slots   []slot
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
func (p *pool) get(ctx context.Context) (*conn, error) {
	s := &p.slots[(p.next.Add(1)-1)%uint64(len(p.slots))]
	if c := s.c.Load(); c != nil && c.alive() {
		return c, nil
	}
	if p.closed.Load() {
		return nil, ErrClosed
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
	c, err := dial(ctx, p.addr, p.key, p.session)
	if err != nil {
		return nil, err
	}
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
