package net

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	stdnet "net"
	"sync"
	"sync/atomic"
	"time"
)

// Handler receives what a Server reads. Its methods are called from each
// connection's reader goroutine: concurrently across connections, in order
// within one.
type Handler interface {
	// Frames is called with every frame decoded from one read of the
	// socket, in order. The handler owns fs and the frames in it.
	Frames(c *Conn, fs []Frame)
	// Closed is called once, after the last Frames call for c.
	Closed(c *Conn)
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Node is this node's id, sent in the Challenge.
	Node uint16
	// ClientKey and ClusterKey are the keys clients and peers must prove
	// they hold. An empty key lets anyone in for that role.
	ClientKey, ClusterKey []byte
	// Handler receives the frames.
	Handler Handler
	// Log receives connection-level events.
	Log *slog.Logger
	// HandshakeTimeout bounds how long a new connection may take to
	// authenticate, TLS included. Zero means 10 seconds.
	HandshakeTimeout time.Duration
	// TLS, when set, makes every connection TLS: the server writes the
	// preamble (tls.go), then runs TLS with this configuration (its
	// certificate; the server sets ClientAuth to request a certificate,
	// which the handshake of keys checks by role below).
	TLS *tls.Config
	// ClientCAs, when set (with TLS), requires clients to present a
	// certificate these roots vouch for; PeerCAs does the same for peers
	// (the cluster CA). A connection without one is refused with CodeAuth
	// once its Auth says its role.
	ClientCAs, PeerCAs *x509.CertPool
}

// Server accepts connections, authenticates them, and hands their frames
// to a Handler.
type Server struct {
	cfg    ServerConfig
	ln     stdnet.Listener
	nextID atomic.Uint64
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[ConnID]*Conn
	closed bool
}

// Listen starts a server on addr ("host:port"; port 0 picks one).
func Listen(addr string, cfg ServerConfig) (*Server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("net: ServerConfig.Handler is nil")
	}
	ln, err := stdnet.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return Serve(ln, cfg)
}

// Serve starts a server on a listener the caller bound, and owns it from
// then on. Binding first lets a host learn its address (port 0) before it
// is ready to serve: connections made meanwhile wait in the listen backlog
// until Serve accepts them. Serve closes ln if cfg is invalid.
func Serve(ln stdnet.Listener, cfg ServerConfig) (*Server, error) {
	if cfg.Handler == nil {
		ln.Close()
		return nil, errors.New("net: ServerConfig.Handler is nil")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.ClientAuth = tls.RequestClientCert
	} else if cfg.ClientCAs != nil || cfg.PeerCAs != nil {
		ln.Close()
		return nil, errors.New("net: ServerConfig.ClientCAs or PeerCAs without TLS")
	}
	s := &Server{cfg: cfg, ln: ln, conns: make(map[ConnID]*Conn)}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// StopAccepting closes the listener; connections already open go on.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
}

// Close stops accepting, flushes and closes every connection, and waits
// for the server's goroutines to end.
func (s *Server) Close() {
	s.StopAccepting()
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	for _, c := range conns {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			c.nc.Close()
		}
	}
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, stdnet.ErrClosed) {
				return
			}
			s.cfg.Log.Warn("accept failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := nc.(*stdnet.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		raw := nc
		if s.cfg.TLS != nil {
			nc = tls.Server(nc, s.cfg.TLS)
		}
		c := newConn(ConnID(s.nextID.Add(1)), nc, s.cfg.Log)
		c.raw = raw
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.abort()
			continue
		}
		s.conns[c.id] = c
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

// serve runs the handshake, then the read loop, of one connection.
func (s *Server) serve(c *Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c.id)
		s.mu.Unlock()
	}()
	r := &reader{nc: c.nc, reject: c.Send}
	if err := s.handshake(c, r); err != nil {
		s.cfg.Log.Info("handshake refused", "conn", c.id, "remote", c.RemoteAddr(), "err", err)
		<-c.Done()
		return
	}
	defer s.cfg.Handler.Closed(c)
	for {
		fs, err := r.frames()
		if len(fs) > 0 {
			s.cfg.Handler.Frames(c, fs)
		}
		if err != nil {
			s.endWith(c, err)
			return
		}
	}
}

// endWith closes c after a read error, with an error frame if the error
// was the peer's fault rather than the connection ending.
func (s *Server) endWith(c *Conn, err error) {
	var fe *frameError
	switch {
	case errors.As(err, &fe):
		s.cfg.Log.Info("closing connection after bad frame", "conn", c.id, "remote", c.RemoteAddr(), "err", fe.err)
		c.CloseAfter(Frame{ID: fe.id, Msg: &Error{Code: CodeOf(fe.err), Message: fe.err.Error()}})
	case errors.Is(err, io.EOF), errors.Is(err, stdnet.ErrClosed):
		c.Close()
	default:
		s.cfg.Log.Debug("connection read failed", "conn", c.id, "err", err)
		c.abort()
	}
	<-c.Done()
}

// startTLS writes the preamble on c's socket and runs the server side of
// TLS, within the handshake timeout. Nothing has been queued on c yet, so
// its writer does not touch the socket meanwhile.
func (s *Server) startTLS(c *Conn) error {
	tc := c.nc.(*tls.Conn)
	c.raw.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	defer c.raw.SetDeadline(time.Time{})
	if err := WritePreamble(c.raw); err != nil {
		return fmt.Errorf("write the TLS preamble: %w", err)
	}
	if err := tc.HandshakeContext(context.Background()); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	return nil
}

// checkCert enforces the certificate a role needs on a TLS connection:
// a nil error when the server requires none for it.
func (s *Server) checkCert(c *Conn, role Role) error {
	roots, who := s.cfg.ClientCAs, "a client"
	if role == RolePeer {
		roots, who = s.cfg.PeerCAs, "a peer"
	}
	tc, ok := c.nc.(*tls.Conn)
	if roots == nil || !ok {
		return nil
	}
	if err := VerifyClientCert(tc.ConnectionState(), roots); err != nil {
		if role == RolePeer {
			return fmt.Errorf("%s must present a certificate signed by the cluster CA (-tls-peer-ca): %v", who, err)
		}
		return fmt.Errorf("%s must present a certificate signed by the client CA (-tls-client-ca): %v", who, err)
	}
	return nil
}

func (s *Server) handshake(c *Conn, r *reader) error {
	if s.cfg.TLS != nil {
		if err := s.startTLS(c); err != nil {
			c.abort()
			return err
		}
	}
	var ch Challenge
	ch.Version = Version
	ch.Node = s.cfg.Node
	if _, err := rand.Read(ch.Nonce[:]); err != nil {
		c.abort()
		return fmt.Errorf("draw nonce: %w", err)
	}
	c.Send(Frame{Msg: &ch})
	c.nc.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	f, err := r.one()
	c.nc.SetReadDeadline(time.Time{})
	if err != nil {
		var fe *frameError
		if errors.As(err, &fe) {
			c.CloseAfter(Frame{ID: fe.id, Msg: &Error{Code: CodeOf(fe.err), Message: fe.err.Error()}})
		} else {
			c.abort()
		}
		return err
	}
	refuse := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		c.CloseAfter(Frame{ID: f.ID, Msg: &Error{Code: CodeAuth, Message: msg}})
		return errors.New(msg)
	}
	a, ok := f.Msg.(*Auth)
	if !ok {
		return refuse("the first frame must be auth, not %s", f.Msg.Kind())
	}
	if err := s.checkCert(c, a.Role); err != nil {
		return refuse("%v", err)
	}
	key := s.cfg.ClientKey
	if a.Role == RolePeer {
		key = s.cfg.ClusterKey
	}
	if len(key) > 0 && !VerifyProof(a.MAC, ClientProof(key, a.Role, a.Node, ch.Nonce, a.Nonce)) {
		return refuse("wrong %s key", a.Role)
	}
	c.role, c.peer = a.Role, a.Node
	c.Send(Frame{ID: f.ID, Msg: &AuthOK{MAC: ServerProof(key, a.Role, a.Node, ch.Nonce, a.Nonce)}})
	return nil
}

// frameError is a frame the peer got wrong; id is the request id if the
// frame was intact enough to have one.
type frameError struct {
	id  uint64
	err error
}

func (e *frameError) Error() string { return e.err.Error() }
func (e *frameError) Unwrap() error { return e.err }
