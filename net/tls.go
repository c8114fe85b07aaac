package net

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	stdnet "net"
)

// TLS (doc.go, "TLS"): a node that serves TLS first writes one plaintext
// frame, the preamble — an Error of CodeAuth whose message is TLSRequired —
// and then expects a TLS ClientHello. Everything after, the handshake of
// keys included, runs inside TLS.
//
// The preamble is what makes a plaintext client fail at once with a clear
// error instead of waiting for a Challenge that never comes: the server
// speaks first in this protocol, so a client that does not speak TLS would
// otherwise wait out its deadline. Any client of protocol 1 reads it as a
// refused handshake whose message says what to do. A TLS client reads it,
// checks that it is exactly the preamble, and starts TLS; nothing in it is
// trusted, since TLS authenticates everything that follows.

// TLSRequired is the message of the preamble a TLS node sends in plaintext.
const TLSRequired = "this node serves TLS only: connect over TLS (memdb -tls-ca FILE; client.Options.TLS)"

// tlsPreamble is the preamble's bytes: the frame, id 0, clock zero.
var tlsPreamble = Encode(Frame{Msg: &Error{Code: CodeAuth, Message: TLSRequired}})

// ErrNoTLS means a connection was made with TLS to a node that does not
// serve it: its first frame was not the preamble.
var ErrNoTLS = errors.New("the node does not serve TLS")

// IsTLSRequired reports whether e is the preamble of a TLS node, read by a
// side that did not start TLS.
func IsTLSRequired(e *Error) bool { return e.Code == CodeAuth && e.Message == TLSRequired }

// WritePreamble writes the preamble to a connection a TLS server accepted,
// before it starts TLS on it.
func WritePreamble(nc stdnet.Conn) error {
	_, err := nc.Write(tlsPreamble)
	return err
}

// StartTLS runs the connecting side of TLS on nc, a connection to the node
// at addr: it reads the preamble, then makes the TLS handshake with cfg. If
// cfg names no ServerName, the host of addr is checked against the node's
// certificate. It sets no deadline: the caller bounds it with
// nc.SetDeadline, and closes nc if it fails. The returned connection
// carries the rest of the protocol, from the Challenge on.
//
// Errors: ErrNoTLS (wrapped) when the node sent something other than the
// preamble (a Challenge: it serves plaintext); the TLS error when the
// handshake failed (an unknown authority, a refused client certificate).
func StartTLS(nc stdnet.Conn, addr string, cfg *tls.Config) (*tls.Conn, error) {
	f, err := readOne(nc)
	if err != nil {
		return nil, fmt.Errorf("read the TLS preamble: %w", err)
	}
	if !bytes.Equal(Encode(f), tlsPreamble) {
		return nil, fmt.Errorf("%w: %s sent %s first, not the TLS preamble (it serves plaintext: connect without TLS, or start it with -tls-cert)", ErrNoTLS, addr, f.Msg.Kind())
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		host, _, err := stdnet.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// VerifyClientCert checks that a TLS connection's other side presented a
// certificate for client authentication that roots (with the intermediates
// it sent) vouch for. The TLS handshake has already checked that it holds
// the certificate's key.
func VerifyClientCert(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate presented")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return fmt.Errorf("certificate %q: %w", leaf.Subject.String(), err)
	}
	return nil
}
