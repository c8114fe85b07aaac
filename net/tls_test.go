package net

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/memdb/memdb/net/tlstest"
)

// tlsServer starts a server with a certificate from ca, requiring client
// certificates from clientCA and peer certificates from peerCA when they
// are set.
func tlsServer(t *testing.T, ca, clientCA, peerCA *tlstest.CA, rec *recorder) *Server {
	t.Helper()
	cfg := ServerConfig{Node: 42, ClientKey: []byte("ck"), ClusterKey: []byte("pk"), Handler: rec,
		TLS: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "node 42").TLS(t)}, MinVersion: tls.VersionTLS12}}
	if clientCA != nil {
		cfg.ClientCAs = clientCA.Pool()
	}
	if peerCA != nil {
		cfg.PeerCAs = peerCA.Pool()
	}
	return listen(t, cfg)
}

// handshakeTLS dials addr over TLS trusting ca, with cert as the client
// certificate if given, and runs the handshake of keys as role.
func handshakeTLS(t *testing.T, addr string, ca *tlstest.CA, cert *tlstest.Leaf, role Role, key string) error {
	t.Helper()
	cfg := &tls.Config{RootCAs: ca.Pool()}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS(t)}
	}
	tc, err := StartTLS(dialTCP(t, addr), addr, cfg)
	if err != nil {
		return err
	}
	node := uint16(0)
	if role == RolePeer {
		node = 7
	}
	_, err = Handshake(tc, role, node, []byte(key))
	return err
}

func TestTLSHandshake(t *testing.T) {
	ca, other := tlstest.NewCA(t, "cluster CA"), tlstest.NewCA(t, "another CA")
	rec := newRecorder()
	s := tlsServer(t, ca, nil, ca, rec)
	nodeCert, strangerCert := ca.Issue(t, "node 7"), other.Issue(t, "stranger")
	tests := []struct {
		name    string
		trust   *tlstest.CA
		cert    *tlstest.Leaf
		role    Role
		key     string
		wantErr string // "" for success; else a part of the error
	}{
		{"client without a certificate", ca, nil, RoleClient, "ck", ""},
		{"client with the wrong key", ca, nil, RoleClient, "pk", "wrong client key"},
		{"peer with a cluster certificate", ca, &nodeCert, RolePeer, "pk", ""},
		{"peer with the wrong key", ca, &nodeCert, RolePeer, "ck", "wrong peer key"},
		{"peer without a certificate", ca, nil, RolePeer, "pk", "must present a certificate signed by the cluster CA"},
		{"peer with another CA's certificate", ca, &strangerCert, RolePeer, "pk", "must present a certificate signed by the cluster CA"},
		{"client that does not trust the node", other, nil, RoleClient, "ck", "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := handshakeTLS(t, s.Addr(), tt.trust, tt.cert, tt.role, tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("handshake: %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("handshake: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTLSClientCA(t *testing.T) {
	ca, clientCA := tlstest.NewCA(t, "cluster CA"), tlstest.NewCA(t, "client CA")
	s := tlsServer(t, ca, clientCA, nil, newRecorder())
	app := clientCA.Issue(t, "app")
	if err := handshakeTLS(t, s.Addr(), ca, &app, RoleClient, "ck"); err != nil {
		t.Fatalf("client with a client-CA certificate: %v", err)
	}
	err := handshakeTLS(t, s.Addr(), ca, nil, RoleClient, "ck")
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "signed by the client CA") {
		t.Fatalf("client without a certificate: %v, want ErrAuth naming the client CA", err)
	}
	node := ca.Issue(t, "node 7")
	if err := handshakeTLS(t, s.Addr(), ca, &node, RoleClient, "ck"); err == nil {
		t.Fatal("client with a cluster-CA certificate was let in where the client CA is required")
	}
}

// A plaintext side meets the preamble and fails at once with a message
// that says what to do, not after a deadline.
func TestPlaintextToTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	s := tlsServer(t, ca, nil, nil, newRecorder())
	_, err := Handshake(dialTCP(t, s.Addr()), RoleClient, 0, []byte("ck"))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "serves TLS only") {
		t.Fatalf("plaintext handshake with a TLS server: %v, want ErrAuth saying it serves TLS only", err)
	}
}

// A TLS side meets a plaintext node's Challenge and says so.
func TestTLSToPlaintext(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	s := listen(t, ServerConfig{Node: 1})
	_, err := StartTLS(dialTCP(t, s.Addr()), s.Addr(), &tls.Config{RootCAs: ca.Pool()})
	if !errors.Is(err, ErrNoTLS) {
		t.Fatalf("TLS to a plaintext server: %v, want ErrNoTLS", err)
	}
}

// Peers over TLS deliver; a Peers whose certificate the cluster CA did not
// sign is refused, and counts dial failures instead.
func TestPeersTLS(t *testing.T) {
	ca, other := tlstest.NewCA(t, "cluster CA"), tlstest.NewCA(t, "another CA")
	rec := newRecorder()
	s := tlsServer(t, ca, nil, ca, rec)
	good := newPeers(t, PeersConfig{Key: []byte("pk"), TLS: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Issue(t, "node 7").TLS(t)}}})
	good.Send(Peer{ID: 42, Addr: s.Addr()}, replicate(1))
	rec.waitFor(t, 1)

	peersLog := &logSink{}
	bad := newPeers(t, PeersConfig{Key: []byte("pk"), Log: slog.New(peersLog),
		TLS: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{other.Issue(t, "stranger").TLS(t)}}})
	eventually(t, "a refused dial", func(i int) bool {
		bad.Send(Peer{ID: 42, Addr: s.Addr()}, replicate(i))
		return bad.Stats().DialFailures >= 1
	})
	if st := bad.Stats(); st.Connects != 0 || st.Sent != 0 {
		t.Errorf("a peer without a cluster-CA certificate connected: stats %+v", st)
	}
	if w := peersLog.matching("refused the cluster key"); len(w) == 0 || !strings.Contains(w[0].attrs, "cluster CA") {
		t.Errorf("the refusal was not logged with its reason; logs: %+v", peersLog.records)
	}
	if got := rec.count(); got != 1 {
		t.Errorf("the server received %d frames, want only the good peer's 1", got)
	}
}
