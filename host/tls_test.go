package host

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/net/tlstest"
)

// tlsNode starts a node serving TLS with a certificate ca issued, client
// key "ck", cluster key "pk", the RESP port on; clientCA and peerCA (PEM
// files, or "") set -tls-client-ca and -tls-peer-ca.
func tlsNode(t *testing.T, id uint16, ca *tlstest.CA, clientCA, peerCA string) *Server {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Listen, cfg.HTTP, cfg.RESP, cfg.DataDir = "127.0.0.1:0", "", "127.0.0.1:0", t.TempDir()
	cfg.ClientKey, cfg.ClusterKey = "ck", "pk"
	cfg.TLSCert, cfg.TLSKey = ca.Issue(t, "node").Files(t, dir, "node")
	cfg.TLSClientCA, cfg.TLSPeerCA = clientCA, peerCA
	s, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dialClient(t *testing.T, addr string, tc *tls.Config) (*client.Client, error) {
	t.Helper()
	c, err := client.Dial(context.Background(), client.Options{Addrs: []string{addr}, Key: "ck", TLS: tc, NoRouting: true, Timeout: 20 * time.Second})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestTLSBinaryClients(t *testing.T) {
	ca, other := tlstest.NewCA(t, "node CA"), tlstest.NewCA(t, "another CA")
	s := tlsNode(t, 1, ca, "", "")
	ctx := context.Background()

	c, err := dialClient(t, s.Addr(), &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatalf("TLS client: %v", err)
	}
	if err := c.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("set over TLS: %v", err)
	}
	if v, err := c.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("get over TLS = %q, %v; want v", v, err)
	}

	// A plaintext client is told at once, not left waiting for a
	// challenge: the error names TLS, and is no timeout.
	_, err = dialClient(t, s.Addr(), nil)
	if !errors.Is(err, client.ErrTLS) || !errors.Is(err, client.ErrAuth) || !strings.Contains(err.Error(), "serves TLS only") {
		t.Fatalf("plaintext client: %v, want ErrTLS saying the node serves TLS only", err)
	}
	// A client that does not trust the node's CA.
	if _, err = dialClient(t, s.Addr(), &tls.Config{RootCAs: other.Pool()}); !errors.Is(err, client.ErrTLS) {
		t.Fatalf("client trusting another CA: %v, want ErrTLS", err)
	}
	// The client key still applies inside TLS.
	_, err = client.Dial(ctx, client.Options{Addrs: []string{s.Addr()}, Key: "wrong", TLS: &tls.Config{RootCAs: ca.Pool()}, Timeout: 20 * time.Second})
	if !errors.Is(err, client.ErrAuth) || errors.Is(err, client.ErrTLS) {
		t.Fatalf("TLS client with a wrong key: %v, want ErrAuth (not ErrTLS)", err)
	}
	// A TLS client of a plaintext node.
	plain := startServer(t, "ck")
	if _, err = dialClient(t, plain.Addr(), &tls.Config{RootCAs: ca.Pool()}); !errors.Is(err, client.ErrTLS) || !errors.Is(err, net.ErrNoTLS) {
		t.Fatalf("TLS client of a plaintext node: %v, want ErrTLS and net.ErrNoTLS", err)
	}
}

func TestTLSClientCertificates(t *testing.T) {
	ca, clientCA := tlstest.NewCA(t, "node CA"), tlstest.NewCA(t, "client CA")
	s := tlsNode(t, 1, ca, clientCA.File(t, t.TempDir(), "clients"), "")
	app := clientCA.Issue(t, "app")
	c, err := dialClient(t, s.Addr(), &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{app.TLS(t)}})
	if err != nil {
		t.Fatalf("client with a certificate of the client CA: %v", err)
	}
	if err := c.Set(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	_, err = dialClient(t, s.Addr(), &tls.Config{RootCAs: ca.Pool()})
	if !errors.Is(err, client.ErrAuth) || !strings.Contains(err.Error(), "client CA") {
		t.Fatalf("client without a certificate: %v, want ErrAuth naming the client CA", err)
	}

	// RESP: TLS itself refuses a client without a certificate.
	rc := dialRESPTLS(t, s.RESPAddr(), &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{app.TLS(t)}})
	rc.send("AUTH ck\r\nPING\r\n")
	if got := rc.reply() + rc.reply(); got != "+OK\r\n+PONG\r\n" {
		t.Fatalf("PING over TLS with a client certificate = %q", got)
	}
	nc, err := tls.Dial("tcp", s.RESPAddr(), &tls.Config{RootCAs: ca.Pool()})
	if err == nil {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadAll(nc) // TLS 1.3 reports the refusal on the first read
		nc.Close()
	}
	if err == nil {
		t.Fatal("RESP client without a certificate was served")
	}
}

func TestTLSRESP(t *testing.T) {
	ca := tlstest.NewCA(t, "node CA")
	s := tlsNode(t, 1, ca, "", "")
	c := dialRESPTLS(t, s.RESPAddr(), &tls.Config{RootCAs: ca.Pool()})
	c.send("AUTH ck\r\nSET k v\r\nGET k\r\n")
	for _, want := range []string{"+OK\r\n", "+OK\r\n", "$1\r\nv\r\n"} {
		if got := c.reply(); got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	// A plaintext Redis client gets an error line it can show.
	p := dialRESP(t, s.RESPAddr())
	p.send("PING\r\n")
	line, err := p.r.ReadString('\n')
	if !strings.HasPrefix(line, "-ERR this port serves TLS only") {
		t.Fatalf("plaintext RESP client read %q, %v; want -ERR ... TLS only", line, err)
	}
}

func dialRESPTLS(t *testing.T, addr string, cfg *tls.Config) *respTestConn {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &respTestConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// Peers talk mutual TLS with the cluster CA; a node whose certificate
// another CA signed is refused, and nothing it sends arrives.
func TestTLSPeers(t *testing.T) {
	ca, other := tlstest.NewCA(t, "cluster CA"), tlstest.NewCA(t, "another CA")
	caFile := ca.File(t, t.TempDir(), "cluster")
	b := tlsNode(t, 2, ca, "", caFile)
	a := tlsNode(t, 1, ca, "", caFile)
	far := clock.Timestamp{Counter: 1 << 40, Node: 1}
	a.call(func() {
		transport{a}.Send(net.Peer{ID: 2, Addr: b.Addr()}, net.Frame{Clock: far, Msg: &net.Gossip{Payload: []byte("hello")}})
	})
	waitUntil(t, "node 2 saw node 1's clock", func() bool { return clockOf(b).Counter >= far.Counter })

	stranger := tlsNode(t, 3, other, "", caFile)
	farther := clock.Timestamp{Counter: 1 << 50, Node: 3}
	stranger.call(func() {
		transport{stranger}.Send(net.Peer{ID: 2, Addr: b.Addr()}, net.Frame{Clock: farther, Msg: &net.Gossip{Payload: []byte("hello")}})
	})
	waitUntil(t, "the stranger's dial failed", func() bool { return stranger.Status().Peers.DialFailures > 0 })
	if st := stranger.Status().Peers; st.Sent != 0 || st.Connects != 0 {
		t.Errorf("the stranger's peer stats %+v, want nothing sent, no connection", st)
	}
	if got := clockOf(b); got.Counter >= farther.Counter {
		t.Errorf("node 2's clock %v moved past the stranger's: its frame was let in", got)
	}
}

// A peer that dials without TLS is refused by a TLS node.
func TestTLSPeerPlaintextRefused(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	b := tlsNode(t, 2, ca, "", ca.File(t, t.TempDir(), "cluster"))
	nc, err := stdnet.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := net.Handshake(nc, net.RolePeer, 1, []byte("pk")); !errors.Is(err, net.ErrAuth) || !strings.Contains(err.Error(), "TLS only") {
		t.Fatalf("plaintext peer: %v, want ErrAuth saying TLS only", err)
	}
}

// With TLS the admin API is HTTPS, and the cluster manager reaches the
// other members over TLS: Info on the binary port as a peer, their status
// over HTTPS trusting the cluster CA.
func TestTLSClusterManager(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	dir := t.TempDir()
	caFile := ca.File(t, dir, "cluster")
	start := func(id uint16, seeds ...string) *Server {
		cfg := DefaultConfig()
		cfg.ID = id
		cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
		cfg.ClusterKey, cfg.AdminKey, cfg.Seeds = "pk", "adm", seeds
		cfg.TLSCert, cfg.TLSKey = ca.Issue(t, "node").Files(t, dir, "node"+string(rune('0'+id)))
		cfg.TLSPeerCA = caFile
		s, err := Start(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := start(1)
	b := start(2, a.Addr())
	waitUntil(t, "two members, normal", func() bool { _, ok := clusterNormal([]*Server{a, b}); return ok })
	if !strings.HasPrefix(a.AdminURL(), "https://") {
		t.Fatalf("admin URL %q, want https", a.AdminURL())
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := hc.Get(a.AdminURL() + "/v1/cluster")
	if err != nil {
		t.Fatal(err)
	}
	var cs ClusterStatus
	err = json.NewDecoder(resp.Body).Decode(&cs)
	resp.Body.Close()
	if err != nil || len(cs.Members) != 2 || !cs.Members[1].Reachable || cs.Members[1].Admin != b.AdminURL() {
		t.Fatalf("cluster over TLS: %+v, %v; want node 2 reachable at %s", cs, err, b.AdminURL())
	}
	// Plain HTTP to the HTTPS admin API is refused with a status that says so.
	plain, err := http.Get("http://" + strings.TrimPrefix(a.AdminURL(), "https://") + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the HTTPS admin API: %s, want 400", plain.Status)
	}
}

// ReloadTLS takes a renewed certificate for the connections made after it;
// a bad one is refused and the one in use stays.
func TestReloadTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "node CA")
	s := tlsNode(t, 1, ca, "", "")
	servedName := func() string {
		t.Helper()
		nc, err := stdnet.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		tc, err := net.StartTLS(nc, s.Addr(), &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		return tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := servedName(); got != "node" {
		t.Fatalf("served %q, want node", got)
	}
	renewed := ca.Issue(t, "renewed")
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(s.cfg.TLSCert, renewed.CertPEM)
	write(s.cfg.TLSKey, renewed.KeyPEM)
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if got := servedName(); got != "renewed" {
		t.Fatalf("served %q after the reload, want renewed", got)
	}
	// A certificate whose key does not match is refused; the renewed one stays.
	write(s.cfg.TLSKey, ca.Issue(t, "other").KeyPEM)
	if err := s.ReloadTLS(); err == nil || !strings.Contains(err.Error(), "tls.cert") {
		t.Fatalf("reload with a mismatched key: %v, want an error naming the files", err)
	}
	if got := servedName(); got != "renewed" {
		t.Fatalf("served %q after a failed reload, want renewed", got)
	}
	if err := startServer(t, "").ReloadTLS(); err == nil {
		t.Error("ReloadTLS of a node without TLS succeeded")
	}
}
