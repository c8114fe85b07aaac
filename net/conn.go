package net

import (
	"log/slog"
	stdnet "net"
)

// Conn is one accepted connection after a successful handshake. Send may be
// called from any goroutine; frames sent between two writes go to the
// socket in one write (Writer).
type Conn struct {
	id   ConnID
	role Role
	peer uint16 // the peer's node id, for RolePeer
	nc   stdnet.Conn
	raw  stdnet.Conn // the TCP connection under nc (nc itself without TLS)
	log  *slog.Logger
	w    *Writer
}

func newConn(id ConnID, nc stdnet.Conn, log *slog.Logger) *Conn {
	c := &Conn{id: id, nc: nc, log: log}
	c.w = NewWriter(nc, func(err error) { log.Debug("write failed", "conn", id, "err", err) })
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
	w := c.w
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.out = AppendFrame(w.out, f)
	w.queued()
}

// Hold and Flush bracket a batch of Sends made for what one read brought
// (Handler.Frames): the frames go out in one write, made by Flush on the
// caller's goroutine (Writer.Hold).
func (c *Conn) Hold()  { c.w.Hold() }
func (c *Conn) Flush() { c.w.Flush() }

// CloseAfter queues f, then closes the connection once it is written. It is
// how an error frame that ends a connection reaches the other side.
func (c *Conn) CloseAfter(f Frame) { c.w.CloseAfter(AppendFrame(nil, f)) }

// Close flushes what is queued and closes the connection.
func (c *Conn) Close() { c.w.Close() }

// Done is closed once the connection's socket is closed.
func (c *Conn) Done() <-chan struct{} { return c.w.Done() }

// abort closes the socket at once, without flushing.
func (c *Conn) abort() { c.w.Abort() }
