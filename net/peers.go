package net

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	stdnet "net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PeersConfig configures Peers. Zero durations and sizes take the defaults
// named on each field.
type PeersConfig struct {
	// Node is this node's id, proved in every handshake.
	Node uint16
	// Key is the cluster key. Empty proves the empty key, which a peer
	// configured without a cluster key accepts.
	Key []byte
	// Deliver receives the frames that arrive on an outbound connection (a
	// peer may answer on it), with the node id the peer announced in its
	// Challenge. It is called from the connection's reader goroutine:
	// concurrently across peers, in order within one connection, and never
	// after Close returns. It owns fs. Nil drops those frames.
	Deliver func(from NodeID, fs []Frame)
	// TLS, when set, makes every connection TLS (StartTLS): its RootCAs
	// vouch for the peers' certificates (nil: the system's roots), and its
	// Certificates hold this node's, which peers that require the cluster
	// CA check.
	TLS *tls.Config
	// Log receives connection events: connects, losses, refused keys.
	Log *slog.Logger
	// QueueBytes bounds the encoded frames waiting for one peer, in bytes;
	// 0 means 8 MiB. A frame that would take a queue over it is dropped
	// (the newest is dropped, not the oldest); a frame that finds its queue
	// empty is always taken, whatever its size.
	QueueBytes int
	// DialTimeout bounds connecting and the handshake; 0 means 5 s.
	DialTimeout time.Duration
	// WriteTimeout bounds one write; a peer that takes longer to accept
	// the bytes counts as lost and is dialed again. 0 means 10 s.
	WriteTimeout time.Duration
	// MinBackoff and MaxBackoff pace redials. After a failed dial, frames
	// to that peer are dropped for a delay drawn uniformly from [b/2, b]
	// (the jitter keeps a cluster's nodes from redialing in step), where b
	// starts at MinBackoff and doubles with each failure in a row, up to
	// MaxBackoff. 0 means 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// CloseTimeout bounds how long Close spends flushing what is queued
	// to connected peers; 0 means 1 s.
	CloseTimeout time.Duration
}

func (c *PeersConfig) fill() {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 8 << 20
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = time.Second
	}
}

// PeerStats counts what Peers did since it was made. Every frame passed to
// Send ends up counted once: sent, or dropped for one of three reasons.
type PeerStats struct {
	Sent         uint64 // frames written to a peer's socket
	DroppedFull  uint64 // dropped because the peer's queue was full
	DroppedDown  uint64 // dropped because the peer was unreachable: its dial failed, or it was backing off
	DroppedLost  uint64 // queued or being written when a connection broke, or when Peers closed
	Connects     uint64 // connections established (the handshake passed)
	Reconnects   uint64 // of those, to an address that had a connection before
	DialFailures uint64 // dials and handshakes that failed
	Connected    int    // connections up now
}

// Dropped returns the frames dropped for any reason.
func (s PeerStats) Dropped() uint64 { return s.DroppedFull + s.DroppedDown + s.DroppedLost }

// PeerStatus describes one peer address Peers has sent to.
type PeerStatus struct {
	Addr string `json:"addr"`
	// Node is the id the peer announced on its last connection, or else
	// the id Send last named for Addr; 0 if neither is known.
	Node   NodeID `json:"node"`
	State  string `json:"state"` // idle, dialing, up or backoff
	Queued int    `json:"queued_bytes"`
}

// Peers is a node's outbound side of the peer protocol: one connection per
// peer address, dialed when there is something to send, authenticated as
// RolePeer with the cluster key, and written by its own goroutine, which
// coalesces every frame queued since its last write into the next one.
//
// Peer messages are unreliable by contract (Transport), and Peers keeps
// that contract cheap: Send never waits for the network. While a peer is
// unreachable, frames to it are dropped, not buffered, and it is dialed
// again only when a frame comes for it after a backoff delay, so a dead
// peer costs a dial per backoff period and nothing else. Protocols above
// retry.
//
// Send, Stats, Status and Close may be called from any goroutine.
type Peers struct {
	cfg    PeersConfig
	ctx    context.Context // canceled by Close: ends dials and writers
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	peers  map[string]*peer
	closed bool

	sent, droppedFull, droppedDown, droppedLost atomic.Uint64
	connects, reconnects, dialFailures          atomic.Uint64
}

// NewPeers returns a Peers with no connections; it dials on first Send.
func NewPeers(cfg PeersConfig) *Peers {
	cfg.fill()
	ctx, cancel := context.WithCancel(context.Background())
	return &Peers{cfg: cfg, ctx: ctx, cancel: cancel, peers: make(map[string]*peer)}
}

type peerState uint8

const (
	peerIdle    peerState = iota // no connection; the next Send dials
	peerDialing                  // a dial is running; Sends queue
	peerUp                       // connected; Sends queue for the writer
	peerBackoff                  // the last dial failed; Sends are dropped until retryAt
)

var peerStateNames = [...]string{"idle", "dialing", "up", "backoff"}

func (s peerState) String() string { return peerStateNames[s] }

// peer is the state of one peer address.
type peer struct {
	ps   *Peers
	addr string
	wake chan struct{} // the writer has frames to write, or should stop

	mu          sync.Mutex
	id          NodeID // the id Send last named for addr
	state       peerState
	out         []byte // encoded frames waiting for the writer
	frames      int    // frames in out
	spare       []byte // the writer's last buffer, reused
	overflowing bool   // frames were dropped for a full queue since the last write
	link        *link  // the connection, while up
	everUp      bool   // a connection to addr was made before
	retryAt     time.Time
	backoff     time.Duration // the bound of the next failure's delay
	failures    int           // dial failures in a row
	closing     bool          // Close was called: flush and stop
	closeBy     time.Time     // the write deadline while closing
}

// link is one established connection.
type link struct {
	nc       stdnet.Conn
	server   NodeID        // the id the peer announced
	readDone chan struct{} // closed when the reader ends
}

// Send queues f for the peer at to.Addr and returns without waiting for
// the network. It encodes f before it returns, so the caller keeps
// ownership of every byte slice in it. Frames to one address are written
// in the order they were sent; a frame is dropped (and counted) when the
// peer's queue is full, when the peer is unreachable, or after Close.
// to.ID is used for logs only. Like AppendFrame, Send panics on a frame
// that cannot be encoded.
func (ps *Peers) Send(to Peer, f Frame) {
	if to.Addr == "" {
		ps.droppedDown.Add(1)
		ps.cfg.Log.Debug("dropping a peer message with no address", "node", to.ID, "kind", f.Msg.Kind())
		return
	}
	// ps.mu is held across the whole call so that Close cannot start
	// waiting for the goroutines between the check and a new dial.
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		ps.droppedLost.Add(1)
		return
	}
	p := ps.peers[to.Addr]
	if p == nil {
		p = &peer{ps: ps, addr: to.Addr, wake: make(chan struct{}, 1), backoff: ps.cfg.MinBackoff}
		ps.peers[to.Addr] = p
	}
	p.enqueue(to.ID, f)
}

func (p *peer) enqueue(id NodeID, f Frame) {
	ps := p.ps
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != 0 {
		p.id = id
	}
	if p.state == peerBackoff && time.Now().Before(p.retryAt) {
		ps.droppedDown.Add(1)
		return
	}
	before := len(p.out)
	p.out = AppendFrame(p.out, f)
	if before > 0 && len(p.out) > ps.cfg.QueueBytes {
		p.out = p.out[:before]
		ps.droppedFull.Add(1)
		if !p.overflowing {
			p.overflowing = true
			ps.cfg.Log.Warn("peer queue full; dropping messages to it", "peer", p.addr, "node", p.id, "queued_bytes", before)
		}
		return
	}
	p.frames++
	switch p.state {
	case peerIdle, peerBackoff:
		p.state = peerDialing
		ps.wg.Add(1)
		go p.run()
	case peerUp:
		p.signal()
	}
}

func (p *peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run dials, then writes until the connection ends or Peers closes.
func (p *peer) run() {
	ps := p.ps
	defer ps.wg.Done()
	nc, server, err := ps.dial(p.addr)
	if err != nil {
		p.dialFailed(err)
		return
	}
	l := &link{nc: nc, server: server, readDone: make(chan struct{})}
	p.mu.Lock()
	if p.closing {
		lost := p.drop()
		p.state = peerIdle
		p.mu.Unlock()
		nc.Close()
		ps.droppedLost.Add(uint64(lost))
		return
	}
	p.state, p.link, p.failures = peerUp, l, 0
	reconnect := p.everUp
	p.everUp = true
	id := p.id
	p.mu.Unlock()

	ps.connects.Add(1)
	if reconnect {
		ps.reconnects.Add(1)
	}
	ps.cfg.Log.Info("connected to peer", "peer", p.addr, "node", server, "reconnect", reconnect)
	if id != 0 && id != server {
		ps.cfg.Log.Warn("peer address answered as another node", "peer", p.addr, "want", id, "got", server)
	}
	up := time.Now()
	ps.wg.Add(1)
	go p.read(l)
	p.signal() // frames queued while dialing
	err = p.write(l)
	nc.Close()
	<-l.readDone

	p.mu.Lock()
	lost := p.drop()
	p.link = nil
	closing := p.closing
	if time.Since(up) >= ps.cfg.MaxBackoff {
		// A connection that lasted is a healthy peer that went away:
		// redial at the next frame, from the smallest backoff.
		p.state, p.backoff = peerIdle, ps.cfg.MinBackoff
	} else {
		// One that broke soon after it was made counts as a failed dial,
		// so a peer that accepts and then hangs up is not redialed in a
		// tight loop.
		p.backOff()
	}
	p.mu.Unlock()
	ps.droppedLost.Add(uint64(lost))
	if !closing {
		ps.cfg.Log.Info("lost connection to peer", "peer", p.addr, "node", server, "err", err, "dropped", lost)
	}
}

// drop empties the queue and returns how many frames were in it. p.mu is
// held.
func (p *peer) drop() int {
	n := p.frames
	p.out, p.frames, p.overflowing = nil, 0, false
	return n
}

// backOff enters the backoff state after a failure. p.mu is held.
func (p *peer) backOff() {
	cfg := &p.ps.cfg
	p.failures++
	p.state = peerBackoff
	p.retryAt = time.Now().Add(p.backoff/2 + rand.N(p.backoff/2+1))
	p.backoff = min(2*p.backoff, cfg.MaxBackoff)
}

func (p *peer) dialFailed(err error) {
	ps := p.ps
	p.mu.Lock()
	lost := p.drop()
	p.backOff()
	failures, closing, id := p.failures, p.closing, p.id
	p.mu.Unlock()
	ps.dialFailures.Add(1)
	if closing {
		ps.droppedLost.Add(uint64(lost))
		return
	}
	ps.droppedDown.Add(uint64(lost))
	switch {
	case errors.Is(err, ErrAuth):
		ps.cfg.Log.Warn("peer refused the cluster key (or could not prove it holds it); retrying with backoff",
			"peer", p.addr, "node", id, "err", err, "failures", failures, "dropped", lost)
	case failures == 1:
		ps.cfg.Log.Info("peer unreachable; dropping messages to it while redialing with backoff",
			"peer", p.addr, "node", id, "err", err, "dropped", lost)
	default:
		ps.cfg.Log.Debug("peer still unreachable", "peer", p.addr, "node", id, "err", err, "failures", failures)
	}
}

// write coalesces: everything queued since its last write goes out in the
// next one. It returns when the connection fails or ends, or, after a last
// flush, when Peers closes.
func (p *peer) write(l *link) error {
	ps := p.ps
	for {
		stop := false
		select {
		case <-p.wake:
		case <-l.readDone:
			return errors.New("the peer closed the connection")
		case <-ps.ctx.Done():
			stop = true
		}
		p.mu.Lock()
		buf, n := p.out, p.frames
		p.out, p.frames, p.spare, p.overflowing = p.spare[:0], 0, nil, false
		// The deadline is set under p.mu so that Close's shorter one is
		// never overwritten by a longer one.
		deadline := time.Now().Add(ps.cfg.WriteTimeout)
		if p.closing {
			deadline, stop = p.closeBy, true
		}
		l.nc.SetWriteDeadline(deadline)
		p.mu.Unlock()
		if len(buf) > 0 {
			if _, err := l.nc.Write(buf); err != nil {
				ps.droppedLost.Add(uint64(n))
				return err
			}
			ps.sent.Add(uint64(n))
		}
		p.mu.Lock()
		if p.spare == nil && cap(buf) <= 1<<20 {
			p.spare = buf[:0]
		}
		p.mu.Unlock()
		if stop {
			return nil
		}
	}
}

// read hands what the peer sends on this connection to Deliver.
func (p *peer) read(l *link) {
	ps := p.ps
	defer ps.wg.Done()
	defer close(l.readDone)
	r := &reader{nc: l.nc, reject: func(f Frame) {
		ps.cfg.Log.Debug("peer sent a frame of an unknown kind", "peer", p.addr, "node", l.server, "id", f.ID)
	}}
	for {
		fs, err := r.frames()
		if len(fs) > 0 && ps.cfg.Deliver != nil {
			ps.cfg.Deliver(l.server, fs)
		}
		if err == nil {
			continue
		}
		var fe *frameError
		switch {
		case errors.As(err, &fe):
			ps.cfg.Log.Warn("peer sent a bad frame; closing the connection", "peer", p.addr, "node", l.server, "err", err)
		case errors.Is(err, io.EOF), errors.Is(err, stdnet.ErrClosed):
		default:
			ps.cfg.Log.Debug("reading from peer failed", "peer", p.addr, "node", l.server, "err", err)
		}
		return
	}
}

// dial connects to addr and authenticates as a peer. Close interrupts it.
func (ps *Peers) dial(addr string) (stdnet.Conn, NodeID, error) {
	ctx, cancel := context.WithTimeout(ps.ctx, ps.cfg.DialTimeout)
	defer cancel()
	var d stdnet.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	if tc, ok := nc.(*stdnet.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	raw := nc
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	if ps.cfg.TLS != nil {
		var tc *tls.Conn
		if tc, err = StartTLS(nc, addr, ps.cfg.TLS); err == nil {
			nc = tc
		}
	}
	var server uint16
	if err == nil {
		server, err = Handshake(nc, RolePeer, ps.cfg.Node, ps.cfg.Key)
	}
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		nc.Close()
		if ctx.Err() != nil && !errors.Is(err, ErrAuth) {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, 0, err
	}
	nc.SetDeadline(time.Time{})
	return nc, NodeID(server), nil
}

// Stats returns the counters.
func (ps *Peers) Stats() PeerStats {
	st := PeerStats{
		Sent:         ps.sent.Load(),
		DroppedFull:  ps.droppedFull.Load(),
		DroppedDown:  ps.droppedDown.Load(),
		DroppedLost:  ps.droppedLost.Load(),
		Connects:     ps.connects.Load(),
		Reconnects:   ps.reconnects.Load(),
		DialFailures: ps.dialFailures.Load(),
	}
	for _, s := range ps.Status() {
		if s.State == peerUp.String() {
			st.Connected++
		}
	}
	return st
}

// Status describes every address Peers has sent to, sorted by address.
func (ps *Peers) Status() []PeerStatus {
	ps.mu.Lock()
	peers := make([]*peer, 0, len(ps.peers))
	for _, p := range ps.peers {
		peers = append(peers, p)
	}
	ps.mu.Unlock()
	out := make([]PeerStatus, 0, len(peers))
	for _, p := range peers {
		p.mu.Lock()
		s := PeerStatus{Addr: p.addr, Node: p.id, State: p.state.String(), Queued: len(p.out)}
		if p.link != nil {
			s.Node = p.link.server
		}
		p.mu.Unlock()
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b PeerStatus) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}

// Close stops Peers: it cancels dials in progress, gives connected peers up
// to CloseTimeout to take what is queued for them, closes every connection
// and waits for its goroutines. Frames it could not write are counted as
// lost; later Sends are dropped. Close may be called more than once.
func (ps *Peers) Close() {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		ps.wg.Wait()
		return
	}
	ps.closed = true
	peers := make([]*peer, 0, len(ps.peers))
	for _, p := range ps.peers {
		peers = append(peers, p)
	}
	ps.mu.Unlock()
	closeBy := time.Now().Add(ps.cfg.CloseTimeout)
	for _, p := range peers {
		p.mu.Lock()
		p.closing, p.closeBy = true, closeBy
		if p.link != nil {
			// Ends a write that is blocked on a peer that does not read.
			p.link.nc.SetWriteDeadline(closeBy)
		}
		p.mu.Unlock()
	}
	ps.cancel()
	ps.wg.Wait()
}
