package client

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	stdnet "net"
	"time"

	"github.com/memdb/memdb/net"
)

// dial connects to addr, starts TLS with tc unless it is nil
// (net.StartTLS), and authenticates with key (see net/auth.go):
//
//	node   → Challenge{nonce_s}
//	client → Auth{client, nonce_c, HMAC(key, client-proof | … | nonce_s | nonce_c)}
//	node   → AuthOK{HMAC(key, server-proof | …)}   or   Error{CodeAuth}, then close
//
// An error wrapping ErrAuth means the node refused the key or could not
// prove it knows it, or TLS could not be agreed (the node serves TLS and
// tc is nil, or the reverse; a certificate that does not verify); any
// other error means addr could not be reached.
// Every frame the connection reads is recorded in h. dialer, if not nil,
// opens the connection (Options.Dialer).
func dial(ctx context.Context, addr string, key []byte, tc *tls.Config, dialer func(context.Context, string) (stdnet.Conn, error), s *session, h *health) (*conn, error) {
	var nc stdnet.Conn
	var err error
	if dialer != nil {
		nc, err = dialer(ctx, addr)
	} else {
		var d stdnet.Dialer
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*stdnet.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	// The handshake obeys ctx: a deadline becomes the socket's, and a
	// cancellation interrupts a blocked read or write.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	raw := nc
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	if tc != nil {
		var tconn *tls.Conn
		if tconn, err = net.StartTLS(nc, addr, tc); err == nil {
			nc = tconn
		} else if tlsRefused(err) {
			err = fmt.Errorf("%w, %w: %w", ErrAuth, ErrTLS, err)
		}
	}
	br := bufio.NewReaderSize(nc, readBufferSize)
	if err == nil {
		err = handshake(nc, br, addr, key, s)
	}
	if !stop() || ctx.Err() != nil {
		err = fmt.Errorf("handshake with %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	c := &conn{addr: addr, nc: nc, session: s, health: h}
	c.start(br)
	return c, nil
}

// handshake runs the client side of the authentication exchange.
func handshake(nc stdnet.Conn, br *bufio.Reader, addr string, key []byte, s *session) error {
	f, err := readFrame(br)
	if errors.Is(err, net.ErrMalformed) || errors.Is(err, net.ErrTooLarge) {
		return fmt.Errorf("handshake with %s (is it a memdb node?): %w", addr, err)
	}
	if err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	s.observe(f.Clock)
	if e, ok := f.Msg.(*net.Error); ok && net.IsTLSRequired(e) {
		return fmt.Errorf("%w, %w: %s serves TLS only: connect with TLS (memdb -tls-ca FILE; client.Options.TLS)", ErrAuth, ErrTLS, addr)
	}
	ch, ok := f.Msg.(*net.Challenge)
	if !ok {
		return unexpected(addr, "a challenge", f.Msg)
	}
	if ch.Version < net.Version {
		return fmt.Errorf("%s speaks protocol version %d; this client needs %d", addr, ch.Version, net.Version)
	}
	auth := &net.Auth{Role: net.RoleClient}
	if _, err := rand.Read(auth.Nonce[:]); err != nil {
		return fmt.Errorf("handshake nonce: %w", err)
	}
	auth.MAC = net.ClientProof(key, net.RoleClient, 0, ch.Nonce, auth.Nonce)
	if _, err := nc.Write(net.Encode(net.Frame{Clock: s.now(), Msg: auth})); err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	f, err = readFrame(br)
	if err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	s.observe(f.Clock)
	switch m := f.Msg.(type) {
	case *net.AuthOK:
		if !net.VerifyProof(m.MAC, net.ServerProof(key, net.RoleClient, 0, ch.Nonce, auth.Nonce)) {
			return fmt.Errorf("%w: %s could not prove it knows the client key (is it a memdb node of this cluster?)", ErrAuth, addr)
		}
		return nil
	case *net.Error:
		if m.Code == net.CodeAuth {
			return fmt.Errorf("%w by %s: %s", ErrAuth, addr, m.Message)
		}
		return fmt.Errorf("handshake with %s: %w", addr, m)
	}
	return unexpected(addr, "auth-ok", f.Msg)
}

func unexpected(addr, want string, got net.Message) error {
	return fmt.Errorf("handshake with %s: got %s, want %s: %w", addr, got.Kind(), want, errProtocol)
}

// errProtocol means a node broke the protocol.
var errProtocol = errors.New("protocol violation")

// tlsRefused reports whether a failed TLS start is a refusal — the node
// serves no TLS, a certificate did not verify, the node refused ours — and
// not the network failing: it fails the call at once, as a refused key
// does, since trying again will not help.
func tlsRefused(err error) bool {
	var (
		alert   tls.AlertError
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.Is(err, net.ErrNoTLS) || errors.As(err, &alert) || errors.As(err, &verify) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}
