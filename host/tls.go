package host

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// TLS in the live host. One certificate per node (-tls-cert, -tls-key),
// for both server and client authentication: the binary port carries
// clients and peers alike, so it presents one certificate to both, and the
// node presents the same one when it dials its peers.
//
//   - With a certificate, the binary port and the RESP port serve TLS only
//     (a plaintext client of the binary port reads the preamble and fails
//     with a message saying so; a plaintext Redis client gets an -ERR line).
//   - -tls-client-ca: clients must present a certificate this CA signed
//     (on the RESP port, the TLS handshake refuses them; on the binary
//     port, the handshake of keys does, with a message).
//   - -tls-peer-ca, the cluster CA: peers must present a certificate it
//     signed, and the nodes this one dials must present one too (it is
//     the only root trusted for them). Without it, peers still talk TLS,
//     verifying each other's certificates against the system's roots, and
//     authenticate with the cluster key alone.
//
// The certificate and key are read again on ReloadTLS (memdbd: SIGHUP), so
// a renewed certificate takes effect without a restart: new connections
// get it, open ones keep theirs. The CAs are read at start only.
//
// Keys (client, cluster) apply on top of TLS, unchanged. The admin API is
// HTTPS with the same certificate (http.go), and the admin key authorizes
// it; nodes reach each other's admin APIs with the peer configuration.

// tlsSetup is what the files of the configuration become.
type tlsSetup struct {
	server    *tls.Config // the binary port: ClientCAs/PeerCAs are checked by role in net
	resp      *tls.Config // the RESP port: the client CA is checked by TLS itself
	peer      *tls.Config // dialing peers
	clientCAs *x509.CertPool
	peerCAs   *x509.CertPool
	// cert is the node's certificate now; every configuration above hands
	// it out through getCertificate or getClientCertificate.
	cert              atomic.Pointer[tls.Certificate]
	certFile, keyFile string
}

func (ts *tlsSetup) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return ts.cert.Load(), nil
}

func (ts *tlsSetup) getClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return ts.cert.Load(), nil
}

// load reads the certificate and key files; on error the one in use stays.
func (ts *tlsSetup) load() error {
	cert, err := tls.LoadX509KeyPair(ts.certFile, ts.keyFile)
	if err != nil {
		return fmt.Errorf("tls.cert %s and tls.key %s: %v", ts.certFile, ts.keyFile, err)
	}
	ts.cert.Store(&cert)
	return nil
}

// ReloadTLS reads the node's certificate and key files again: connections
// made from now on, by clients and peers and to peers, use the new ones.
// On an error (a file unreadable, a key that does not match) the
// certificate in use stays.
func (s *Server) ReloadTLS() error {
	if s.tls == nil {
		return errors.New("reload TLS: the node has no certificate (-tls-cert)")
	}
	if err := s.tls.load(); err != nil {
		return fmt.Errorf("reload TLS: %w", err)
	}
	return nil
}

// TLS reports whether the node has a certificate.
func (s *Server) TLS() bool { return s.tls != nil }

// loadTLS reads the certificate, key and CAs cfg names; nil without TLS.
// Errors wrap ErrUsage and name the file.
func loadTLS(cfg Config) (*tlsSetup, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	ts := &tlsSetup{certFile: cfg.TLSCert, keyFile: cfg.TLSKey}
	if err := ts.load(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	var err error
	if cfg.TLSClientCA != "" {
		if ts.clientCAs, err = loadPool("tls.client_ca", cfg.TLSClientCA); err != nil {
			return nil, err
		}
	}
	if cfg.TLSPeerCA != "" {
		if ts.peerCAs, err = loadPool("tls.peer_ca", cfg.TLSPeerCA); err != nil {
			return nil, err
		}
	}
	ts.server = &tls.Config{GetCertificate: ts.getCertificate, MinVersion: tls.VersionTLS12}
	ts.resp = &tls.Config{GetCertificate: ts.getCertificate, MinVersion: tls.VersionTLS12}
	if ts.clientCAs != nil {
		ts.resp.ClientAuth, ts.resp.ClientCAs = tls.RequireAndVerifyClientCert, ts.clientCAs
	}
	ts.peer = &tls.Config{GetClientCertificate: ts.getClientCertificate, RootCAs: ts.peerCAs, MinVersion: tls.VersionTLS12}
	return ts, nil
}

// loadPool reads a PEM file of CA certificates.
func loadPool(key, path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, key, err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%w: %s %s holds no PEM certificate", ErrUsage, key, path)
	}
	return p, nil
}
