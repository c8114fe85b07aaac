package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/memdb/memdb/net"
)

// kickGap is the least time between two refreshes that failed calls ask
// for: while a replica is down every call to it asks, and one question a
// second is enough.
const kickGap = time.Second

// startRouting learns the ring within ctx and starts refreshLoop. Failing
// to learn it leaves the client without a route, until a refresh succeeds.
func (c *Client) startRouting(ctx context.Context) {
	c.learn(ctx)
	c.kick = make(chan struct{}, 1)
	bg, stop := context.WithCancel(context.Background())
	c.mu.Lock()
	c.bg, c.stop = bg, stop
	c.mu.Unlock()
	c.wg.Add(1)
	go c.refreshLoop(bg)
}

// learn asks the nodes for the ring, in turn, until one answers, and
// installs what it says. Without a route it asks Options.Addrs from the
// one that answered last; with one, every node it knows, starting with a
// different one each time. It moves on only from nodes it cannot reach or
// that are shutting down: once a node answers, its answer is the result,
// errNoRing included.
func (c *Client) learn(ctx context.Context) error {
	pools, start := c.seeds, int(c.preferred.Load())
	if r := c.route.Load(); r != nil {
		pools, start = r.all, int(c.asks.Add(1)%uint64(len(r.all)))
	}
	var failures []string
	// Nodes found slow are asked last, so that a stalled node does not
	// hold the refresh for its whole timeout.
	for _, slow := range []bool{false, true} {
		for k := range pools {
			p := pools[(start+k)%len(pools)]
			if p.health.isSlow() != slow {
				continue
			}
			moveOn, err := c.ask(ctx, p)
			if !moveOn {
				return err
			}
			failures = append(failures, p.addr+": "+err.Error())
		}
	}
	return fmt.Errorf("ask for the ring: %w", unreachable(failures, "", nil))
}

// ask asks the node of p for the ring and installs the answer. moveOn says
// that the node could not be asked or would not answer, so another may be.
func (c *Client) ask(ctx context.Context, p *pool) (moveOn bool, err error) {
	cn, err := p.get(ctx)
	if err != nil {
		stop := errors.Is(err, ErrAuth) || errors.Is(err, ErrClosed) || ctx.Err() != nil
		return !stop, err
	}
	f, sent, err := cn.roundTrip(ctx, &net.Ring{})
	if err != nil {
		lost := !sent || errors.Is(err, errConnLost) && !errors.Is(err, ErrClosed)
		return lost && ctx.Err() == nil, fmt.Errorf("ask %s for the ring: %w", p.addr, err)
	}
	switch m := f.Msg.(type) {
	case *net.RingInfo:
		l, err := parseRing(m)
		if err != nil {
			return false, fmt.Errorf("ring from %s: %w", p.addr, err)
		}
		return false, c.install(l)
	case *net.Error:
		switch m.Code {
		case net.CodeUnknownKind:
			return false, fmt.Errorf("%s: %w: %w", p.addr, errNoRing, m)
		case net.CodeShuttingDown:
			return true, m
		}
		return false, fmt.Errorf("ask %s for the ring: %w", p.addr, replyError(m))
	}
	return false, fmt.Errorf("ask %s for the ring: it replied %s: %w", p.addr, f.Msg.Kind(), errProtocol)
}

// install makes l the client's route, unless the client already routes by
// a later epoch: a node that has not caught up must not turn it back.
func (c *Client) install(l layout) error {
	r, err := newRoute(l, c.seeds, c.pool)
	if err != nil {
		return err
	}
	for {
		old := c.route.Load()
		if old != nil && old.epoch > r.epoch {
			return nil
		}
		if c.route.CompareAndSwap(old, r) {
			return nil
		}
	}
}

// kickRefresh asks the refresher to learn the ring again soon; it returns
// at once, and many requests coalesce into one refresh.
func (c *Client) kickRefresh() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// refreshLoop learns the ring every Options.RingRefresh and when kicked,
// at most once per kickGap for kicks, until ctx ends. Errors only leave the
// route as it was: calls go on using it, or Options.Addrs without one.
func (c *Client) refreshLoop(ctx context.Context) {
	defer c.wg.Done()
	var tick <-chan time.Time
	if c.opts.RingRefresh > 0 {
		t := time.NewTicker(c.opts.RingRefresh)
		defer t.Stop()
		tick = t.C
	}
	timeout := c.opts.Timeout
	if timeout < 0 {
		timeout = DefaultTimeout
	}
	kicked := false
	var lastKick int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-c.kick:
			if wait := lastKick + int64(kickGap) - clockNow(); kicked && wait > 0 {
				t := time.NewTimer(time.Duration(wait))
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			kicked, lastKick = true, clockNow()
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		c.learn(rctx)
		cancel()
	}
}
