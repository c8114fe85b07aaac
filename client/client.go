package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client is a session with a memdb cluster. It is safe for concurrent use;
// share one rather than dialing per request. Close releases it.
type Client struct {
	opts    Options
	key     []byte
	session session
	// counters names the client's increments (see Incr).
	counters counters
	// seeds are the pools of Options.Addrs, in order.
	seeds []*pool
	// preferred indexes Options.Addrs: the node that answered last, where
	// calls that are not routed start.
	preferred atomic.Int64
	// route is where keyed calls go; nil until the client learns the ring,
	// and always nil with Options.NoRouting.
	route atomic.Pointer[route]
	// asks rotates the node a refresh asks first.
	asks atomic.Uint64
	// kick (capacity 1) asks refreshLoop for a refresh; nil without
	// routing. bg is the context of the client's goroutines (refreshLoop,
	// probers; nil without routing), which stop ends and wg waits for.
	kick chan struct{}
	bg   context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu     sync.Mutex
	pools  map[string]*pool // by node address
	closed bool
}

// Dial returns a client of the nodes at opts.Addrs. It connects and
// authenticates before it returns, so a wrong key (ErrAuth) or a dead
// cluster (ErrUnreachable) shows at once; opts.Timeout bounds it when ctx
// has no earlier deadline. Later calls reconnect as needed.
//
// Unless opts.NoRouting, Dial then asks the node it connected to for the
// ring (the next addresses if that node stops answering). A node that does
// not serve the ring, or whose answer is unusable, does not fail Dial: the
// client uses opts.Addrs as without routing until a refresh succeeds.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.Addrs = append([]string(nil), opts.Addrs...)
	c := &Client{opts: opts, key: []byte(opts.Key), pools: make(map[string]*pool)}
	c.counters.session = newSession()
	for _, addr := range opts.Addrs {
		p, err := c.pool(addr)
		if err != nil {
			return nil, err
		}
		c.seeds = append(c.seeds, p)
	}
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	var failures []string
	for i, p := range c.seeds {
		addr := p.addr
		_, err := p.get(ctx)
		switch {
		case err == nil:
			c.preferred.Store(int64(i))
			if !opts.NoRouting {
				c.startRouting(ctx)
			}
			return c, nil
		case errors.Is(err, ErrAuth):
			c.Close()
			return nil, err
		case ctx.Err() != nil:
			c.Close()
			return nil, unreachable(failures, addr, ctx.Err())
		}
		failures = append(failures, addr+": "+err.Error())
	}
	c.Close()
	return nil, unreachable(failures, "", nil)
}

// Close closes every connection. Calls in flight fail with an error
// wrapping ErrClosed (a write in flight is ErrUnknownOutcome as well);
// later calls fail with ErrClosed. Close is idempotent.
func (c *Client) Close() error {
	if c.stop != nil {
		c.stop()
	}
	c.mu.Lock()
	pools := c.pools
	c.pools, c.closed = nil, true
	c.mu.Unlock()
	for _, p := range pools {
		p.close(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// pool returns the connection pool of addr, creating it if needed.
func (c *Client) pool(addr string) (*pool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	p, ok := c.pools[addr]
	if !ok {
		p = newPool(addr, c.key, &c.session, c.opts.Conns)
		p.tls, p.dialer = c.opts.TLS, c.opts.Dialer
		c.pools[addr] = p
	}
	return p, nil
}

// callOptions returns the settings of one call: the client's defaults
// changed by opts.
func (c *Client) callOptions(opts []CallOption) call {
	co := call{level: c.opts.Consistency, timeout: c.opts.Timeout}
	for _, o := range opts {
		o(&co)
	}
	return co
}

// withTimeout bounds ctx by d unless d is negative.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// timeoutError says that a request sent to addr got no answer before ctx
// ended; for a write, that its outcome is unknown.
func timeoutError(ctx context.Context, addr string, write bool) error {
	err := context.Cause(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: no reply from %s before the deadline: %w", ErrTimeout, addr, err)
	} else {
		err = fmt.Errorf("gave up waiting for %s: %w", addr, err)
	}
	if write {
		err = fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	return err
}

// unreachable builds ErrUnreachable from what went wrong with each address
// tried, then with addr if err is not nil. A deadline that ran out while
// connecting is ErrTimeout as well.
func unreachable(failures []string, addr string, err error) error {
	msg := strings.Join(failures, "; ")
	switch {
	case err == nil:
		return fmt.Errorf("%w: %s", ErrUnreachable, msg)
	case msg != "":
		msg += "; "
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s%s: %w: %w", ErrUnreachable, msg, addr, ErrTimeout, err)
	}
	return fmt.Errorf("%w: %s%s: %w", ErrUnreachable, msg, addr, err)
}
