package host

import (
	"encoding/json"
	"io"
	stdnet "net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// startNode starts a server with id, cluster key and seeds, on port 0.
func startNode(t *testing.T, id uint16, clusterKey string, seeds ...string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.ClusterKey = clusterKey
	cfg.Seeds = seeds
	s, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clockOf reads a server's Lamport clock on its loop.
func clockOf(s *Server) clock.Timestamp {
	var c clock.Timestamp
	s.call(func() { c = s.node.Clock() })
	return c
}

// waitUntil polls cond; the deadline only turns a hang into a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true yet (hang)", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func deadAddr(t *testing.T) string {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A server with seeds, one alive and one dead, starts and stops cleanly,
// and listens on the port it was given rather than port 0.
func TestSeedsStartStop(t *testing.T) {
	b := startNode(t, 2, "ck")
	a := startNode(t, 1, "ck", b.Addr(), deadAddr(t))
	if strings.HasSuffix(a.Addr(), ":0") {
		t.Fatalf("listening on %s, want the port the system picked", a.Addr())
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// The node's Transport reaches another node's Deliver: a frame carrying a
// clock far ahead moves the receiver's clock past it (every frame a node
// receives advances its Lamport clock).
func TestTransportReachesPeer(t *testing.T) {
	b := startNode(t, 2, "ck")
	a := startNode(t, 1, "ck")
	far := clock.Timestamp{Counter: 1 << 40, Node: 1}
	a.call(func() {
		transport{a}.Send(net.Peer{ID: 2, Addr: b.Addr()}, net.Frame{Clock: far, Msg: &net.Gossip{Payload: []byte("hello")}})
	})
	waitUntil(t, "node 2 saw node 1's clock", func() bool { return clockOf(b).Counter >= far.Counter })
	st := a.Status().Peers
	if st.Sent != 1 || st.Connected != 1 || st.Dropped != 0 {
		t.Errorf("node 1's peer stats %+v, want 1 sent, 1 connected", st)
	}
	if len(st.List) != 1 || st.List[0].Addr != b.Addr() || st.List[0].Node != 2 || st.List[0].State != "up" {
		t.Errorf("node 1's peers %+v, want node 2 at %s, up", st.List, b.Addr())
	}
}

// A node with another cluster key is refused and sends nothing.
func TestTransportWrongClusterKey(t *testing.T) {
	b := startNode(t, 2, "ck")
	a := startNode(t, 1, "other")
	a.call(func() {
		transport{a}.Send(net.Peer{ID: 2, Addr: b.Addr()}, net.Frame{Msg: &net.Gossip{Payload: []byte("hello")}})
	})
	waitUntil(t, "the dial failed", func() bool { return a.Status().Peers.DialFailures > 0 })
	if st := a.Status().Peers; st.Sent != 0 || st.Dropped != 1 {
		t.Errorf("peer stats %+v, want nothing sent, 1 dropped", st)
	}
}

// What a peer sends back on our own connection to it reaches the node too.
func TestOutboundAnswersReachNode(t *testing.T) {
	far := clock.Timestamp{Counter: 1 << 41, Node: 9}
	peer, err := net.Listen("127.0.0.1:0", net.ServerConfig{Node: 9, ClusterKey: []byte("ck"), Handler: answerer{far}})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	a := startNode(t, 1, "ck")
	a.call(func() {
		transport{a}.Send(net.Peer{ID: 9, Addr: peer.Addr()}, net.Frame{ID: 5, Msg: &net.Read{Epoch: 1, Key: []byte("k")}})
	})
	waitUntil(t, "node 1 saw the answer's clock", func() bool { return clockOf(a).Counter >= far.Counter })
}

// answerer answers every frame on its connection with a Value stamped at
// clock.
type answerer struct{ clock clock.Timestamp }

func (h answerer) Frames(c *net.Conn, fs []net.Frame) {
	for _, f := range fs {
		c.Send(net.Frame{ID: f.ID, Clock: h.clock, Msg: &net.Value{}})
	}
}
func (answerer) Closed(*net.Conn) {}

func httpDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// /v1/leave and /v1/ring answer 501 until the node implements them, and
// JSON once it does; /metrics and /v1/status carry the peer counters.
func TestAdminClusterEndpoints(t *testing.T) {
	s := startNode(t, 1, "")
	base := "http://" + s.HTTPAddr()
	_, canLeave := any(s.node).(interface{ Leave(func(error)) })
	_, hasRing := any(s.node).(interface{ RingJSON() any })

	code, body := httpDo(t, "GET", base+"/v1/ring")
	var v any
	switch {
	case !hasRing && code != http.StatusNotImplemented:
		t.Errorf("GET /v1/ring with no RingJSON: %d %s, want 501", code, body)
	case hasRing && (code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil):
		t.Errorf("GET /v1/ring: %d %s, want 200 and JSON", code, body)
	}

	code, body = httpDo(t, "POST", base+"/v1/leave")
	var left struct {
		Left  bool   `json:"left"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &left); err != nil {
		t.Errorf("POST /v1/leave answered %d %q, not JSON: %v", code, body, err)
	}
	switch {
	case !canLeave && (code != http.StatusNotImplemented || left.Error == ""):
		t.Errorf("POST /v1/leave with no Leave: %d %s, want 501 with an error", code, body)
	case canLeave && !(code == http.StatusOK && left.Left) && !(code == http.StatusInternalServerError && left.Error != ""):
		t.Errorf("POST /v1/leave: %d %s, want 200 {left: true} or 500 with an error", code, body)
	case canLeave && code == http.StatusOK:
		select {
		case <-s.Shutdown():
		default:
			t.Errorf("the node left, but the server did not ask to be stopped")
		}
	}

	code, body = httpDo(t, "GET", base+"/metrics")
	for _, m := range []string{"memdb_peer_sent_total 0", `memdb_peer_dropped_total{reason="unreachable"} 0`, "memdb_peer_reconnects_total 0", "memdb_peer_connected 0"} {
		if code != http.StatusOK || !strings.Contains(body, m+"\n") {
			t.Errorf("GET /metrics: %d, no line %q in\n%s", code, m, body)
		}
	}
	code, body = httpDo(t, "GET", base+"/v1/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil || !strings.Contains(body, `"reconnects"`) {
		t.Errorf("GET /v1/status: %d %v\n%s", code, err, body)
	}
}
