package net

import (
	"errors"
	"io"
	"log/slog"
	stdnet "net"
	"sync"
)

// Conn is one accepted connection after a successful handshake. Send may be
// called from any goroutine; frames sent between two flushes go to the
// socket in one write.
type Conn struct {
	id   ConnID
	role Role
	peer uint16 // the peer's node id, for RolePeer
	nc   stdnet.Conn
	raw  stdnet.Conn // the TCP connection under nc (nc itself without TLS)
	log  *slog.Logger

	mu      sync.Mutex
	out     []byte // encoded frames waiting for the writer
	spare   []byte // the writer's last buffer, reused
	closing bool   // no more frames accepted; close once out is flushed
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

func newConn(id ConnID, nc stdnet.Conn, log *slog.Logger) *Conn {
	c := &Conn{id: id, nc: nc, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.writeLoop()
	return c
}

// ID returns the connection's id, unique within this server's lifetime.
func (c *Conn) ID() ConnID { return c.id }

// Role returns who authenticated on this connection.
func (c *Conn) Role() Role { return c.role }

// Peer returns the node id a peer authenticated as (0 for clients).
func (c *Conn) Peer() uint16 { return c.peer }

// RemoteAddr returns the other end's address.
func (c *Conn) RemoteAddr() string { return c.nc.RemoteAddr().String() }

// Send queues f for the writer. It never blocks on the network; frames sent
// after Close are dropped.
func (c *Conn) Send(f Frame) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.out = AppendFrame(c.out, f)
	c.mu.Unlock()
	c.signal()
}

// CloseAfter queues f, then closes the connection once it is written. It is
// how an error frame that ends a connection reaches the other side.
func (c *Conn) CloseAfter(f Frame) {
	c.mu.Lock()
	if !c.closing {
		c.out = AppendFrame(c.out, f)
		c.closing = true
	}
	c.mu.Unlock()
	c.signal()
}

// Close flushes what is queued and closes the connection.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.signal()
}

// Done is closed once the connection's socket is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// abort closes the socket at once, without flushing.
func (c *Conn) abort() {
	c.mu.Lock()
	c.closing = true
	c.out = nil
	c.mu.Unlock()
	c.signal()
}

// writeLoop coalesces: everything queued since its last write goes out in
// the next one.
func (c *Conn) writeLoop() {
	defer close(c.done)
	defer c.nc.Close()
	for range c.wake {
		c.mu.Lock()
		buf, closing := c.out, c.closing
		c.out, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				if !errors.Is(err, stdnet.ErrClosed) && !errors.Is(err, io.EOF) {
					c.log.Debug("write failed", "conn", c.id, "err", err)
				}
				c.markClosed()
				return
			}
		}
		c.mu.Lock()
		if c.spare == nil && cap(buf) <= 1<<20 {
			c.spare = buf[:0]
		}
		more := len(c.out) > 0
		c.mu.Unlock()
		if closing && !more {
			c.markClosed()
			return
		}
	}
}

func (c *Conn) markClosed() {
	c.mu.Lock()
	c.closing, c.closed, c.out = true, true, nil
	c.mu.Unlock()
}
