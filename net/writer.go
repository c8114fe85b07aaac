package net

import (
	"errors"
	"io"
	stdnet "net"
	"sync"
)

// Writer is a connection's outgoing half, shared by the binary protocol's
// Conn and the host's RESP connections: bytes queued from any goroutine go
// out coalesced, everything queued since the last write in the next one.
//
// Its own goroutine writes whatever is queued when woken. A goroutine that
// queues a batch of replies itself (a connection's reader answering what it
// read) can Hold the writer, so queuing does not wake that goroutine, and
// Flush afterwards, which writes on the caller's goroutine: one write per
// batch and no hand-off. Only one goroutine writes at a time (writing);
// bytes queued meanwhile go out in that goroutine's next write.
type Writer struct {
	nc stdnet.Conn
	// onErr is told of a failed write (not of a closed connection's).
	onErr func(error)

	mu      sync.Mutex
	out     []byte // queued, not yet handed to a write
	spare   []byte // the last write's buffer, reused
	closing bool   // no more bytes accepted; close once out is written
	closed  bool   // the socket is closed or a write failed
	writing bool   // a goroutine is writing: it writes what is queued
	held    int    // Hold calls without their Flush: queuing does not wake the writer
	wake    chan struct{}
	drained chan struct{} // signalled after each write
	done    chan struct{} // closed once the socket is closed
}

// NewWriter starts the writer goroutine of nc. onErr (may be nil) hears
// of a write that failed other than on a closed connection.
func NewWriter(nc stdnet.Conn, onErr func(error)) *Writer {
	w := &Writer{nc: nc, onErr: onErr, wake: make(chan struct{}, 1), drained: make(chan struct{}, 1), done: make(chan struct{})}
	go w.loop()
	return w
}

// Write queues a copy of b. It never blocks on the network; bytes queued
// after Close are dropped.
func (w *Writer) Write(b []byte) {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.out = append(w.out, b...)
	w.queued()
}

// queued ends a queuing: it wakes the writer goroutine unless someone
// writes already or the queue is held. Called with mu held; releases it.
func (w *Writer) queued() {
	wake := !w.writing && w.held == 0
	w.mu.Unlock()
	if wake {
		w.signal()
	}
}

// Hold makes queuing leave the writer goroutine asleep until Flush.
func (w *Writer) Hold() {
	w.mu.Lock()
	w.held++
	w.mu.Unlock()
}

// Flush ends a Hold and writes what is queued on the calling goroutine,
// unless another goroutine is writing (then that one writes it). It may
// block on the network: the caller stops reading meanwhile, which is the
// back-pressure a client that does not read its replies should get.
func (w *Writer) Flush() {
	w.mu.Lock()
	w.held--
	w.mu.Unlock()
	w.drain(true)
}

// Close writes what is queued, then closes the connection.
func (w *Writer) Close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.signal()
}

// CloseAfter is Close after queuing b, unless the writer is closing already.
func (w *Writer) CloseAfter(b []byte) {
	w.mu.Lock()
	if !w.closing {
		w.out = append(w.out, b...)
		w.closing = true
	}
	w.mu.Unlock()
	w.signal()
}

// Abort closes the socket at once, without writing what is queued.
func (w *Writer) Abort() {
	w.mu.Lock()
	w.closing = true
	w.out = nil
	w.mu.Unlock()
	w.signal()
}

// Queued returns how many bytes wait to be written.
func (w *Writer) Queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.out)
}

// Drained receives after each write (one pending signal at most).
func (w *Writer) Drained() <-chan struct{} { return w.drained }

// Done is closed once the socket is closed.
func (w *Writer) Done() <-chan struct{} { return w.done }

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	defer w.nc.Close()
	for range w.wake {
		if w.drain(false) {
			return
		}
	}
}

// drain writes until nothing is queued, unless another goroutine is
// writing. It returns true when the connection is finished (closing with
// nothing left, or a write failed): the writer goroutine then closes the
// socket; another caller (inline) wakes it to do so.
func (w *Writer) drain(inline bool) (finished bool) {
	w.mu.Lock()
	if w.writing {
		w.mu.Unlock()
		return false
	}
	w.writing = true
	for {
		buf := w.out
		if len(buf) == 0 || w.closed {
			w.writing = false
			finished = w.closing && (len(w.out) == 0 || w.closed)
			w.mu.Unlock()
			if finished && inline {
				w.signal() // the writer goroutine closes the socket
				return false
			}
			return finished
		}
		w.out, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		_, err := w.nc.Write(buf)
		w.mu.Lock()
		if err != nil {
			if w.onErr != nil && !errors.Is(err, stdnet.ErrClosed) && !errors.Is(err, io.EOF) {
				w.onErr(err)
			}
			w.closing, w.closed, w.out = true, true, nil
			continue
		}
		if w.spare == nil && cap(buf) <= 1<<20 {
			w.spare = buf[:0]
		}
		select {
		case w.drained <- struct{}{}:
		default:
		}
	}
}
