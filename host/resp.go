package host

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	stdnet "net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/net/resp"
)

// The RESP front door: Redis clients (redis-cli, redis-benchmark, client
// libraries) talk to the node on its own port. This file is the transport
// half — accepting, reading commands, writing replies; respcmd.go turns the
// commands into the same client requests the binary protocol makes, and
// the node coordinates them exactly as it does those.
//
// Each connection has a reader goroutine, which parses everything one read
// brought and posts the commands to the loop in one event, and a writer
// goroutine, which coalesces the replies queued since its last write into
// one write (as net.Conn does for the binary protocol). Everything else —
// the connection's session and its queue of replies — lives on the loop.

// respConnBit marks the ids of RESP connections, so they never meet the
// binary server's (counted from 1) nor the node's own internal id (all
// ones bits) in the node's reply path.
const respConnBit = net.ConnID(1) << 62

// respServer accepts RESP connections for a Server.
type respServer struct {
	s      *Server
	ln     stdnet.Listener
	log    *slog.Logger
	nextID atomic.Uint64
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[*respConn]struct{}
	closed bool
}

func startRESP(s *Server, addr string) (*respServer, error) {
	ln, err := stdnet.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rs := &respServer{s: s, ln: ln, log: s.log, conns: make(map[*respConn]struct{})}
	rs.wg.Add(1)
	go rs.acceptLoop()
	return rs, nil
}

// RESPAddr returns the RESP front door's address, or "" if it is disabled.
func (s *Server) RESPAddr() string {
	if s.resp == nil {
		return ""
	}
	return s.resp.ln.Addr().String()
}

func (rs *respServer) stopAccepting() {
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	rs.ln.Close()
}

// close stops accepting, flushes what every connection has queued and
// closes it, and waits for the goroutines (5 seconds at most per
// connection whose peer does not read).
func (rs *respServer) close() {
	rs.stopAccepting()
	rs.mu.Lock()
	conns := make([]*respConn, 0, len(rs.conns))
	for c := range rs.conns {
		conns = append(conns, c)
	}
	rs.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	// One deadline for all: a connection whose client does not read holds
	// the close up to it, not each such connection in turn.
	deadline := time.After(5 * time.Second)
	for _, c := range conns {
		select {
		case <-c.w.Done():
		case <-deadline:
			c.nc.Close()
		}
	}
	rs.wg.Wait()
}

func (rs *respServer) acceptLoop() {
	defer rs.wg.Done()
	for {
		nc, err := rs.ln.Accept()
		if err != nil {
			if errors.Is(err, stdnet.ErrClosed) {
				return
			}
			rs.log.Warn("resp: accept failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := nc.(*stdnet.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		if rs.s.tls != nil {
			nc = tls.Server(nc, rs.s.tls.resp)
		}
		id := respConnBit | net.ConnID(rs.nextID.Add(1))
		c := &respConn{id: id, nc: nc, log: rs.log,
			w: net.NewWriter(nc, func(err error) { rs.log.Debug("resp: write failed", "conn", id, "err", err) })}
		rs.mu.Lock()
		if rs.closed {
			rs.mu.Unlock()
			c.w.Abort()
			continue
		}
		rs.conns[c] = struct{}{}
		rs.mu.Unlock()
		rs.wg.Add(1)
		go rs.serve(c)
	}
}

// serve reads c's commands and posts them to the loop until the
// connection ends.
func (rs *respServer) serve(c *respConn) {
	defer rs.wg.Done()
	defer func() {
		rs.mu.Lock()
		delete(rs.conns, c)
		rs.mu.Unlock()
	}()
	s := rs.s
	if tc, ok := c.nc.(*tls.Conn); ok {
		if err := rs.handshakeTLS(tc); err != nil {
			rs.log.Info("resp: TLS handshake failed", "conn", c.id, "remote", c.nc.RemoteAddr().String(), "err", err)
			c.close()
			<-c.w.Done()
			return
		}
	}
	// The reader runs its commands on the node itself (Server.run), and
	// writes their replies itself when the node answers them at once
	// (Hold, Flush): no hand-off to the loop or the writer.
	s.run(func() { s.respOpen(c) })
	r := respReader{nc: c.nc}
	for {
		// Back-pressure: a client that sends without reading its replies
		// stops being read once respMaxOut bytes of replies wait for it.
		if !c.waitDrained() {
			break
		}
		cmds, err := r.read()
		if len(cmds) > 0 {
			c.pending.Add(int64(len(cmds)))
			c.w.Hold()
			s.run(func() { s.respCommands(c.id, cmds) })
			c.w.Flush()
		}
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				rs.log.Info("resp: closing connection after a protocol error", "conn", c.id, "remote", c.nc.RemoteAddr().String(), "err", pe)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, stdnet.ErrClosed) {
				rs.log.Debug("resp: read failed", "conn", c.id, "err", err)
			}
			s.run(func() { s.respEnd(c.id, pe) })
			break
		}
	}
	<-c.w.Done()
}

// respTLSRequired is the reply of a TLS RESP port to a client that spoke
// plaintext: the Redis error line it can show.
const respTLSRequired = "-ERR this port serves TLS only: connect with TLS (redis-cli --tls --cacert FILE)\r\n"

// handshakeTLS runs the server side of TLS on a new RESP connection,
// within respHandshakeTimeout. A client that spoke plaintext (a Redis
// command where a ClientHello should be) is told in a Redis error line.
func (rs *respServer) handshakeTLS(tc *tls.Conn) error {
	tc.SetDeadline(time.Now().Add(respHandshakeTimeout))
	defer tc.SetDeadline(time.Time{})
	err := tc.HandshakeContext(context.Background())
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && rh.Conn != nil {
		rh.Conn.Write([]byte(respTLSRequired))
	}
	return err
}

// respHandshakeTimeout bounds a RESP connection's TLS handshake.
const respHandshakeTimeout = 10 * time.Second

// respConn is one RESP connection's socket and writer.
type respConn struct {
	id  net.ConnID
	nc  stdnet.Conn
	log *slog.Logger
	// w writes the replies (nil in tests of the commands alone, which
	// find them in sink).
	w    *net.Writer
	sink []byte

	// pending counts the commands read whose replies are not written yet
	// (added by the reader, taken off by the loop as it writes them).
	pending atomic.Int64
}

// respMaxOut bounds the replies queued for one connection before its
// reader stops reading (a few of the largest values); respMaxPending
// bounds the commands read and not yet answered (a pipeline waiting behind
// a slow command, or a client that does not read), so neither the node's
// requests nor the replies held for order grow without bound.
const (
	respMaxOut     = 32 << 20
	respMaxPending = 4096
)

// waitDrained returns once fewer than respMaxOut bytes wait to be written
// and fewer than respMaxPending commands wait for their replies, or false
// if the connection closed first.
func (c *respConn) waitDrained() bool {
	for {
		if c.w.Queued() < respMaxOut && c.pending.Load() < respMaxPending {
			return true
		}
		select {
		case <-c.w.Drained():
		case <-c.w.Done():
			return false
		}
	}
}

// write queues b for the writer (it copies b).
func (c *respConn) write(b []byte) {
	if c.w == nil {
		c.sink = append(c.sink, b...)
		return
	}
	c.w.Write(b)
}

// close writes what is queued, then closes the connection.
func (c *respConn) close() {
	if c.w != nil {
		c.w.Close()
	}
}

// respReader turns a byte stream into commands, parsing everything each
// read brings in one go.
type respReader struct {
	nc  io.Reader
	buf []byte // bytes read and not yet parsed
}

const respMinRead = 16 << 10

// read reads once and returns every complete command buffered, each as its
// arguments. The arguments of one call share one new allocation (the
// reader's buffer is reused), so the caller owns them. A non-nil error ends
// the connection: io.EOF, a network error, or a *resp.ProtocolError, with
// the commands parsed before it.
func (r *respReader) read() ([][][]byte, error) {
	if cap(r.buf)-len(r.buf) < respMinRead/4 {
		nb := make([]byte, len(r.buf), max(2*cap(r.buf), respMinRead))
		copy(nb, r.buf)
		r.buf = nb
	}
	n, rerr := r.nc.Read(r.buf[len(r.buf):cap(r.buf)])
	r.buf = r.buf[:len(r.buf)+n]
	cmds, err := r.parseAll()
	if err == nil {
		err = rerr
	}
	if errors.Is(err, io.EOF) && len(r.buf) > 0 {
		err = io.ErrUnexpectedEOF
	}
	return cmds, err
}

func (r *respReader) parseAll() (cmds [][][]byte, err error) {
	var args [][]byte
	var ends []int // where each command's arguments end in args
	off := 0
	for off < len(r.buf) {
		a, n, perr := resp.Parse(r.buf[off:], args)
		if errors.Is(perr, resp.ErrShort) {
			break
		}
		if perr != nil {
			err = perr
			break
		}
		if len(a) > len(args) {
			ends = append(ends, len(a))
		}
		args, off = a, off+n
	}
	if off == 0 {
		return nil, err
	}
	// Move the arguments into one allocation of their own. Each argument
	// was sliced (with two indices) from r.buf, so its capacity tells its
	// offset there: cap(r.buf) - cap(arg).
	arena := bytes.Clone(r.buf[:off])
	for i, a := range args {
		o := cap(r.buf) - cap(a)
		args[i] = arena[o : o+len(a) : o+len(a)]
	}
	start := 0
	for _, end := range ends {
		cmds = append(cmds, args[start:end:end])
		start = end
	}
	r.buf = r.buf[:copy(r.buf, r.buf[off:])]
	if len(r.buf) == 0 && cap(r.buf) > 1<<20 {
		r.buf = nil // a large command passed: do not keep its buffer
	}
	return cmds, err
}
