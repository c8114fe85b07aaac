package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"runtime"
	"sync"

	"github.com/memdb/memdb/net"
)

// conn is one authenticated, pipelined connection to a node.
//
// Callers queue requests with send, which encodes the frame into the
// outgoing buffer and wakes the writer; the writer sends everything queued
// in one write, so concurrent requests coalesce. The reader decodes replies
// and hands each to the waiter registered under its id. When anything
// breaks, the connection fails as a whole: every waiter is told, and the
// pool replaces it on the next call.
type conn struct {
	addr    string
	nc      stdnet.Conn
	session *session
	// health hears of every frame read: the node is not stalled.
	health *health

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan reply // waiters by request id; nil once broken
	out     []byte                // encoded frames not yet handed to the writer
	spare   []byte                // the writer's previous buffer, for reuse
	err     error                 // why the connection broke; nil while it works

	wake chan struct{} // capacity 1: there is something in out
	done chan struct{} // closed when the connection breaks
	wg   sync.WaitGroup
}

// reply is what a waiter receives: a reply frame, or why none will come.
type reply struct {
	f   net.Frame
	err error
}

// maxSpare bounds the write buffer a connection keeps between writes, so
// one large value does not pin its buffer for the connection's life.
const maxSpare = 1 << 20

// readBufferSize is the reader's buffer; larger frames are read into a
// buffer of their own.
const readBufferSize = 64 << 10

// start runs the reader and writer of an authenticated connection.
func (c *conn) start(br *bufio.Reader) {
	c.pending = make(map[uint64]chan reply)
	c.wake = make(chan struct{}, 1)
	c.done = make(chan struct{})
	c.wg.Add(2)
	go c.readLoop(br)
	go c.writeLoop()
}

// alive reports whether the connection has not broken yet.
func (c *conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// send queues a request and returns its id and the channel its reply will
// arrive on. An error wrapping errNotSent means the connection had already
// broken: the request was not sent.
func (c *conn) send(msg net.Message) (uint64, chan reply, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	// The clock is read here, under c.mu, so it is at least what the
	// session knew when this request was queued.
	c.out = net.AppendFrame(c.out, net.Frame{ID: id, Clock: c.session.now(), Msg: msg})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return id, ch, nil
}

// forget drops the waiter of a request whose caller gave up; a late reply
// to it is discarded.
func (c *conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// roundTrip sends msg and waits for its reply or for ctx to end. sent says
// whether the request may have reached the node: false only if the
// connection had broken before the request was queued.
func (c *conn) roundTrip(ctx context.Context, msg net.Message) (f net.Frame, sent bool, err error) {
	id, ch, err := c.send(msg)
	if err != nil {
		return net.Frame{}, false, err
	}
	select {
	case r := <-ch:
		return r.f, true, r.err
	case <-ctx.Done():
		c.forget(id)
		return net.Frame{}, true, ctx.Err()
	}
}

// fail breaks the connection for reason, once: it closes the socket and
// tells every waiter. Later calls do nothing.
func (c *conn) fail(reason error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = reason
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	close(c.done)
	c.nc.Close()
	err := fmt.Errorf("%w to %s: %w", errConnLost, c.addr, reason)
	for _, ch := range pending {
		ch <- reply{err: err}
	}
}

// close breaks the connection with reason and waits for its goroutines.
func (c *conn) close(reason error) {
	c.fail(reason)
	c.wg.Wait()
}

// writeLoop sends the queued frames until the connection breaks. Each
// write takes everything queued since the previous one.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		// Let callers that are ready to run queue their requests first,
		// so one write carries more of them: fewer system calls under
		// load, at the cost of one scheduler pass when idle.
		runtime.Gosched()
		c.mu.Lock()
		buf := c.out
		c.out, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := c.nc.Write(buf); err != nil {
			c.fail(fmt.Errorf("write: %w", err))
			return
		}
		if cap(buf) <= maxSpare {
			c.mu.Lock()
			c.spare = buf[:0]
			c.mu.Unlock()
		}
	}
}

// readLoop hands each reply to its waiter until the connection breaks.
func (c *conn) readLoop(br *bufio.Reader) {
	defer c.wg.Done()
	for {
		f, err := readFrame(br)
		if errors.Is(err, net.ErrUnknownKind) {
			// The frame is intact, so the stream is still in step: fail
			// only the request it answers.
			c.deliver(f.ID, reply{err: fmt.Errorf("%s sent a reply this client does not understand: %w", c.addr, err)})
			continue
		}
		if err != nil {
			c.fail(err)
			return
		}
		c.session.observe(f.Clock)
		c.health.hear(clockNow())
		if f.ID == 0 {
			// A frame that answers no request: the node is telling the
			// connection why it is about to close it.
			if e, ok := f.Msg.(*net.Error); ok {
				c.fail(fmt.Errorf("%s closed the connection: %w", c.addr, e))
				return
			}
			continue
		}
		c.deliver(f.ID, reply{f: f})
	}
}

// deliver hands r to the waiter for id, if it still waits.
func (c *conn) deliver(id uint64, r reply) {
	c.mu.Lock()
	ch, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ok {
		ch <- r
	}
}

// readFrame reads and decodes one frame. Frames that fit the reader's
// buffer are decoded in place (Decode copies what it keeps).
func readFrame(br *bufio.Reader) (net.Frame, error) {
	head, err := br.Peek(4)
	if err != nil {
		return net.Frame{}, readErr(err)
	}
	n, err := net.FrameLen(head)
	if err != nil {
		return net.Frame{}, fmt.Errorf("bad frame from node: %w", err)
	}
	if n <= br.Size() {
		buf, err := br.Peek(n)
		if err != nil {
			return net.Frame{}, readErr(err)
		}
		f, _, err := net.Decode(buf)
		br.Discard(n)
		return f, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return net.Frame{}, readErr(err)
	}
	f, _, err := net.Decode(buf)
	return f, err
}

// readErr names an end of stream for people: the node closed the
// connection.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("closed by the node: %w", err)
	}
	return fmt.Errorf("read: %w", err)
}
