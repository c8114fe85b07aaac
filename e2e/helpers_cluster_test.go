package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cnode is one node of a test cluster: its id, the binary-protocol address
// and data dir it keeps across restarts, and the daemon running now (nil
// while it is down).
type cnode struct {
	id     int
	listen string
	dir    string
	d      *daemon
	http   string
	extra  []string // more memdbd flags, for its next start
	// adminTLS, when set, is how to reach the admin API: over HTTPS
	// (a node with TLS serves it so).
	adminTLS *tls.Config
}

// adminClient returns an HTTP client of the node's admin API with timeout,
// and the API's base URL.
func (n *cnode) adminClient(timeout time.Duration) (*http.Client, string) {
	if n.adminTLS == nil {
		return &http.Client{Timeout: timeout}, "http://" + n.http
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: n.adminTLS}}, "https://" + n.http
}

// cluster is a set of real memdbd processes: node 1 has no seeds, every
// other node joins through node 1.
type cluster struct {
	t     *testing.T
	rf    int
	nodes []*cnode // nodes[i] has id i+1
	// client holds the memdb flags every command to the cluster needs
	// (TLS, the client key); see args.
	client []string
}

// args returns the memdb flags of the cluster's clients, then more.
func (c *cluster) args(more ...string) []string {
	return append(append([]string(nil), c.client...), more...)
}

// freeAddr returns a loopback address nothing listens on now (bound and
// closed), so a node can keep its address across a restart.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCluster starts n nodes with replication factor rf, fsync always,
// data in temp dirs; it returns once each has said ready (not once the
// ring has settled: see waitNormal).
func startCluster(t *testing.T, n, rf int) *cluster {
	t.Helper()
	c := newCluster(t, n, rf)
	c.startAll()
	return c
}

// newCluster lays out n nodes (addresses, data dirs) without starting
// them, so a test can give them flags (cnode.extra) first.
func newCluster(t *testing.T, n, rf int) *cluster {
	t.Helper()
	c := &cluster{t: t, rf: rf}
	for i := range n {
		c.nodes = append(c.nodes, &cnode{id: i + 1, listen: freeAddr(t), dir: t.TempDir()})
	}
	return c
}

// startAll starts every node, in id order.
func (c *cluster) startAll() {
	c.t.Helper()
	for i := range c.nodes {
		c.start(i + 1)
	}
}

// node returns the node with id.
func (c *cluster) node(id int) *cnode { return c.nodes[id-1] }

// start starts (or restarts) the node with id on its address and data dir.
func (c *cluster) start(id int) {
	c.t.Helper()
	n := c.node(id)
	args := []string{"-id", strconv.Itoa(id), "-listen", n.listen, "-http", "127.0.0.1:0",
		"-data", n.dir, "-rf", strconv.Itoa(c.rf), "-fsync", "always"}
	if id != 1 {
		args = append(args, "-seeds", c.node(1).listen)
	}
	n.d = startDaemon(c.t, append(args, n.extra...)...)
	n.http = n.d.httpAddr()
}

// kill SIGKILLs the node with id.
func (c *cluster) kill(id int) {
	c.t.Helper()
	c.node(id).d.kill()
	c.node(id).d = nil
}

// addrs returns the binary-protocol addresses of the nodes with ids,
// comma-separated, as memdb -addr takes them.
func (c *cluster) addrs(ids ...int) string {
	var as []string
	for _, id := range ids {
		as = append(as, c.node(id).listen)
	}
	return strings.Join(as, ",")
}

// ringView is the part of GET /v1/ring the tests read.
type ringView struct {
	Epoch   uint64   `json:"epoch"`
	Read    []uint16 `json:"read_ring"`
	Write   []uint16 `json:"write_ring"`
	Hints   int      `json:"hints_pending"`
	Members []struct {
		ID    uint16 `json:"id"`
		Addr  string `json:"addr"`
		Phase string `json:"phase"`
		State string `json:"state"`
	} `json:"members"`
}

// nodeStatus is the part of GET /v1/status the tests read.
type nodeStatus struct {
	Keys            int    `json:"keys"`
	Bytes           int    `json:"bytes"`
	StreamedIn      uint64 `json:"streamed_in"`
	StreamedInBytes uint64 `json:"streamed_in_bytes"`
	RepairRounds    uint64 `json:"repair_rounds"`
	RepairArcs      uint64 `json:"repair_arcs"`
	RepairSpans     uint64 `json:"repair_spans"`
	CatchUps        uint64 `json:"catch_ups"`
	Hints           uint64 `json:"hints"`
	HintsDelivered  uint64 `json:"hints_delivered"`
	ReadRepairs     uint64 `json:"read_repairs"`
	Unavailable     uint64 `json:"unavailable"`
	Unknown         uint64 `json:"unknown"`
	Fenced          uint64 `json:"fenced"`
	Rebuilding      bool   `json:"rebuilding"`
	Rebuilds        uint64 `json:"rebuilds"`
	// Tombstones held that the rule may drop, and those dropped since
	// the node started (node/grave.go).
	Tombstones        int    `json:"tombstones"`
	TombstonesDropped uint64 `json:"tombstones_dropped"`
}

// getJSON GETs path from the node's admin API into v and returns the raw
// body too.
func (n *cnode) getJSON(path string, v any) (string, error) {
	cl, base := n.adminClient(5 * time.Second)
	resp, err := cl.Get(base + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b), json.Unmarshal(b, v)
}

// status reads the node's /v1/status.
func (n *cnode) status(t *testing.T) nodeStatus {
	t.Helper()
	var st nodeStatus
	if body, err := n.getJSON("/v1/status", &st); err != nil {
		t.Fatalf("node %d status: %v (%s)", n.id, err, body)
	}
	return st
}

// settled reports whether the node's ring shows exactly ids as members,
// every one normal and alive, and in its read and write rings.
func settled(r ringView, ids []uint16) bool {
	if len(r.Members) != len(ids) {
		return false
	}
	for _, m := range r.Members {
		if !slices.Contains(ids, m.ID) || m.Phase != "normal" || m.State != "alive" {
			return false
		}
	}
	sorted := func(s []uint16) []uint16 { s = slices.Clone(s); slices.Sort(s); return s }
	return slices.Equal(sorted(r.Read), ids) && slices.Equal(sorted(r.Write), ids)
}

// waitNormal polls /v1/ring on every running node until each shows every
// node of the cluster normal and alive, and returns how long that took.
// After deadline it fails the test with every node's ring and log tail.
func (c *cluster) waitNormal(deadline time.Duration) time.Duration {
	c.t.Helper()
	var ids []uint16
	for _, n := range c.nodes {
		ids = append(ids, uint16(n.id))
	}
	start := time.Now()
	for {
		all := true
		for _, n := range c.nodes {
			if n.d == nil {
				continue
			}
			var r ringView
			if _, err := n.getJSON("/v1/ring", &r); err != nil || !settled(r, ids) {
				all = false
				break
			}
		}
		if all {
			return time.Since(start)
		}
		if time.Since(start) > deadline {
			c.t.Fatalf("the ring did not settle (%d nodes normal and alive everywhere) within %v:\n%s", len(ids), deadline, c.dump())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dump renders every running node's ring and the tail of its log, for a
// failure message.
func (c *cluster) dump() string {
	var b strings.Builder
	for _, n := range c.nodes {
		if n.d == nil {
			fmt.Fprintf(&b, "node %d: down\n", n.id)
			continue
		}
		var r ringView
		body, err := n.getJSON("/v1/ring", &r)
		fmt.Fprintf(&b, "node %d ring (err %v): %s\n", n.id, err, strings.TrimSpace(body))
		log := strings.Split(strings.TrimSpace(n.d.log.String()), "\n")
		fmt.Fprintf(&b, "node %d log (last 15 lines):\n  %s\n", n.id, strings.Join(log[max(0, len(log)-15):], "\n  "))
	}
	return b.String()
}

// setAll writes kvs with memdb in pipe mode (one process) and fails the
// test unless every line answers ok.
func setAll(t *testing.T, kvs []kv, args ...string) {
	t.Helper()
	var in strings.Builder
	for _, w := range kvs {
		fmt.Fprintf(&in, "set %s %s\n", w.key, w.value)
	}
	out, errOut, code := memdb(t, in.String(), append(args, "-timeout", "5s")...)
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var bad []string
	for i, w := range kvs {
		if i >= len(got) || got[i] != "ok" {
			line := "(no line)"
			if i < len(got) {
				line = got[i]
			}
			bad = append(bad, fmt.Sprintf("set %s: %q", w.key, line))
		}
	}
	if code != 0 || len(bad) > 0 {
		t.Fatalf("memdb %v: exit %d, %d of %d sets not ok (first 10):\n%s\nstderr: %q", args, code, len(bad), len(kvs), strings.Join(bad[:min(10, len(bad))], "\n"), errOut)
	}
}

// readAll reads every key of kvs with memdb in pipe mode and returns the
// reads that did not answer the key's value.
func readAll(t *testing.T, kvs []kv, args ...string) []string {
	t.Helper()
	var in strings.Builder
	for _, w := range kvs {
		fmt.Fprintf(&in, "get %s\n", w.key)
	}
	out, _, _ := memdb(t, in.String(), append(args, "-timeout", "5s")...)
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var bad []string
	for i, w := range kvs {
		line := "(no line)"
		if i < len(got) {
			line = got[i]
		}
		if line != w.value {
			bad = append(bad, fmt.Sprintf("get %s = %q, want %q", w.key, line, w.value))
		}
	}
	return bad
}

// mustReadAll fails the test unless every key of kvs reads its value.
func mustReadAll(t *testing.T, kvs []kv, args ...string) {
	t.Helper()
	if bad := readAll(t, kvs, args...); len(bad) > 0 {
		t.Fatalf("memdb %v: %d of %d reads wrong (first 10):\n%s", args, len(bad), len(kvs), strings.Join(bad[:min(10, len(bad))], "\n"))
	}
}

// entryBytes is what node.Stats counts for kvs as streamed bytes: key +
// value + 16 each.
func entryBytes(kvs []kv) int {
	n := 0
	for _, w := range kvs {
		n += len(w.key) + len(w.value) + 16
	}
	return n
}
