package e2e

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net/tlstest"
	"github.com/memdb/memdb/node/ring"
)

// Real clusters: several memdbd processes on loopback, joined through
// node 1, killed with SIGKILL and restarted on their data dirs. What they
// check is what a user relies on: quorum writes survive a replica's death,
// and a restarted replica catches up on exactly what it missed.

// catchUpDeadline bounds how long a restarted node may take to catch up;
// it is a deadline for a hang, not a performance threshold. It is long
// because a restarted node that still sees a dead peer as suspect picks it
// as a catch-up source, and its pull waits out every retry before catch-up
// tries another source: about 27 s in TestTenNodes.
const catchUpDeadline = 60 * time.Second

// waitCatchUp polls the node's status until it has completed a catch-up
// and holds at least keys keys, and returns how long that took. After
// catchUpDeadline it fails the test with the status and the cluster dump.
func (c *cluster) waitCatchUp(id, keys int) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		st := c.node(id).status(c.t)
		if st.CatchUps >= 1 && st.Keys >= keys {
			return time.Since(start)
		}
		if time.Since(start) > catchUpDeadline {
			c.t.Fatalf("node %d did not catch up within %v: status %+v, want catch_ups >= 1 and keys >= %d\n%s",
				id, catchUpDeadline, st, keys, c.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClusterKillAndCatchUp(t *testing.T) {
	killAndCatchUp(t, startCluster(t, 3, 3))
}

// The same over TLS: every node has its own certificate from one cluster
// CA, which peers require of each other (-tls-peer-ca), and the client
// trusts (-tls-ca); keys apply on top.
func TestClusterKillAndCatchUpTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "memdb cluster CA")
	dir := t.TempDir()
	caFile := ca.File(t, dir, "ca")
	c := newCluster(t, 3, 3)
	for _, n := range c.nodes {
		cert, key := ca.Issue(t, "node "+strconv.Itoa(n.id)).Files(t, dir, "node"+strconv.Itoa(n.id))
		n.extra = []string{"-tls-cert", cert, "-tls-key", key, "-tls-peer-ca", caFile, "-cluster-key", "ck", "-client-key", "cl"}
		n.adminTLS = &tls.Config{RootCAs: ca.Pool()}
	}
	c.client = []string{"-tls-ca", caFile, "-key", "cl"}
	c.startAll()
	killAndCatchUp(t, c)
	// A plaintext client is refused at once, saying why.
	_, stderr, code := memdb(t, "", "-addr", c.addrs(1), "-key", "cl", "get", "c:before:0")
	if code != 1 || !strings.Contains(stderr, "serves TLS only") {
		t.Errorf("plaintext memdb against a TLS node: exit %d, stderr %q; want 1 and an error saying it serves TLS only", code, stderr)
	}
	// The cluster manager over TLS: memdb finds node 3's admin API (HTTPS)
	// through the binary port, and node 3 reaches the others over TLS.
	out, stderr, code := memdb(t, "", c.args("-addr", c.addrs(3), "cluster", "status")...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 3 || strings.HasSuffix(out, " -\n") {
		t.Errorf("memdb cluster status over TLS: exit %d, stdout %q, stderr %q; want 3 members, all reachable", code, out, stderr)
	}
}

func killAndCatchUp(t *testing.T, c *cluster) {
	joined := c.waitNormal(30 * time.Second)
	t.Logf("3 nodes normal on every node %v after the last one said ready", joined.Round(time.Millisecond))

	before := sets("c", "before", 0, 300)
	setAll(t, before, c.args("-addr", c.addrs(1), "-consistency", "quorum")...)

	c.kill(2)
	// The 300 writes node 2 misses, half through node 1, half through node 3.
	missed := sets("c", "missed", 300, 300)
	setAll(t, missed[:150], c.args("-addr", c.addrs(1), "-consistency", "quorum")...)
	setAll(t, missed[150:], c.args("-addr", c.addrs(3), "-consistency", "quorum")...)
	all := append(append([]kv{}, before...), missed...)
	mustReadAll(t, all, c.args("-addr", c.addrs(3), "-consistency", "quorum")...)

	c.start(2)
	took := c.waitCatchUp(2, len(all))
	// Node 2 alone, at consistency one, without routing: every key it holds.
	mustReadAll(t, all, c.args("-addr", c.addrs(2), "-consistency", "one", "-no-routing")...)
	st := c.node(2).status(t)
	t.Logf("node 2 caught up %v after ready: status %+v", took.Round(time.Millisecond), st)
	if st.Keys != len(all) {
		t.Errorf("node 2 holds %d keys after catch-up, want exactly %d", st.Keys, len(all))
	}
	missedBytes := entryBytes(missed)
	t.Logf("catch-up streamed %d entries, %d bytes, for %d missed writes of %d bytes: ratio %.2f entries, %.2f bytes",
		st.StreamedIn, st.StreamedInBytes, len(missed), missedBytes,
		float64(st.StreamedIn)/float64(len(missed)), float64(st.StreamedInBytes)/float64(missedBytes))
	if st.StreamedIn == 0 && st.HintsDelivered == 0 {
		t.Errorf("node 2 holds the missed writes but counts no entry streamed in: status %+v", st)
	}
	for _, id := range []int{1, 3} {
		var r ringView
		c.node(id).getJSON("/v1/ring", &r)
		t.Logf("node %d status %+v, hints pending %d", id, c.node(id).status(t), r.Hints)
	}
}

// A node whose data directory is emptied while it is down (a new disk)
// comes back knowing nothing, but the cluster has it on the ring: it must
// rebuild from its replicas before it serves. Afterwards it holds every
// key, read from it alone at consistency one.
func TestWipedNodeRebuilds(t *testing.T) {
	c := startCluster(t, 3, 3)
	c.waitNormal(30 * time.Second)
	before := sets("w", "before", 0, 300)
	setAll(t, before, "-addr", c.addrs(1), "-consistency", "quorum")

	c.kill(2)
	dir := c.node(2).dir
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	missed := sets("w", "missed", 300, 100)
	setAll(t, missed, "-addr", c.addrs(3), "-consistency", "quorum")
	all := append(append([]kv{}, before...), missed...)

	c.start(2)
	c.waitRebuilt(2)
	mustReadAll(t, all, "-addr", c.addrs(2), "-consistency", "one", "-no-routing")
	if st := c.node(2).status(t); st.Keys != len(all) {
		t.Errorf("node 2 holds %d keys after its rebuild, want exactly %d", st.Keys, len(all))
	}
}

// A node whose log is corrupt refuses to start by default; with
// -on-corrupt rebuild it moves its data directory aside and rebuilds from
// its replicas, and then holds every key again.
func TestCorruptNodeRebuilds(t *testing.T) {
	c := startCluster(t, 3, 3)
	c.waitNormal(30 * time.Second)
	all := sets("x", "v", 0, 300)
	setAll(t, all, "-addr", c.addrs(1), "-consistency", "quorum")

	c.kill(2)
	dir := c.node(2).dir
	seg := segments(t, dir)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, data)
	if len(offs) < 3 {
		t.Fatalf("%s holds %d records, want more to corrupt one in the middle", seg, len(offs))
	}
	data[offs[len(offs)/2]+1] ^= 0x10 // a bit of its checksum
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}

	c.node(2).extra = []string{"-on-corrupt", "rebuild"}
	c.start(2)
	c.waitRebuilt(2)
	mustReadAll(t, all, "-addr", c.addrs(2), "-consistency", "one", "-no-routing")
	aside, err := filepath.Glob(dir + ".corrupt-*")
	if err != nil || len(aside) != 1 {
		t.Fatalf("moved-aside data directories: %v, %v; want one", aside, err)
	}
	if _, err := os.Stat(filepath.Join(aside[0], filepath.Base(seg))); err != nil {
		t.Errorf("the corrupt segment is not kept aside: %v", err)
	}
}

// waitRebuilt waits until node id, started on an empty or corrupt data
// directory, has found its state lost and rebuilt it (rebuilds 1, not
// rebuilding), and logs how long that took after it said ready.
func (c *cluster) waitRebuilt(id int) {
	c.t.Helper()
	start := time.Now()
	for {
		st := c.node(id).status(c.t)
		if st.Rebuilds == 1 && !st.Rebuilding {
			c.t.Logf("node %d rebuilt %v after ready: status %+v", id, time.Since(start).Round(time.Millisecond), st)
			return
		}
		if time.Since(start) > catchUpDeadline {
			c.t.Fatalf("node %d did not rebuild within %v: status %+v, want rebuilds 1, not rebuilding\n%s", id, catchUpDeadline, st, c.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicasOf returns the keys of kvs whose rf replicas, on the ring of
// nodes 1..n with default vnodes, include id: the ring the nodes build
// (node/cluster.go).
func replicasOf(t *testing.T, kvs []kv, n, rf, id int) []kv {
	t.Helper()
	var ids []uint16
	for i := 1; i <= n; i++ {
		ids = append(ids, uint16(i))
	}
	r, err := ring.New(1, ring.Virtual(ids, ring.DefaultVnodes))
	if err != nil {
		t.Fatal(err)
	}
	var mine []kv
	for _, w := range kvs {
		for _, rep := range r.Replicas([]byte(w.key), rf) {
			if int(rep) == id {
				mine = append(mine, w)
			}
		}
	}
	return mine
}

func TestTenNodes(t *testing.T) {
	const n = 10
	c := startCluster(t, n, 3)
	joined := c.waitNormal(45 * time.Second)
	t.Logf("%d nodes normal on every node %v after the last one said ready", n, joined.Round(time.Millisecond))

	kvs := sets("t", "ten", 0, 200)
	setAll(t, kvs, "-addr", c.addrs(1), "-consistency", "quorum")

	c.kill(4)
	c.kill(7)
	// With rf 3 two dead nodes can leave a key one live replica: at
	// consistency one every key is still there.
	if bad := readAll(t, kvs, "-addr", c.addrs(10), "-consistency", "one", "-no-routing"); len(bad) > 0 {
		t.Fatalf("through node 10 with nodes 4 and 7 dead: %d of %d reads wrong (first 10):\n%s\n%s",
			len(bad), len(kvs), strings.Join(bad[:min(10, len(bad))], "\n"), c.dump())
	}
	mustReadAll(t, kvs, "-addr", c.addrs(10), "-consistency", "one")

	c.start(7)
	mine := replicasOf(t, kvs, n, 3, 7)
	if len(mine) == 0 {
		t.Fatalf("node 7 replicates none of %d keys: the test checks nothing", len(kvs))
	}
	took := c.waitCatchUp(7, len(mine))
	st := c.node(7).status(t)
	t.Logf("node 7 caught up %v after ready; it replicates %d of %d keys; status %+v", took.Round(time.Millisecond), len(mine), len(kvs), st)
	if st.Keys != len(mine) {
		t.Errorf("node 7 holds %d keys, want the %d it replicates", st.Keys, len(mine))
	}
	if bad := readAll(t, mine, "-addr", c.addrs(7), "-consistency", "one", "-no-routing"); len(bad) > 0 {
		t.Fatalf("node 7 alone: %d of its %d keys wrong (first 10):\n%s", len(bad), len(mine), strings.Join(bad[:min(10, len(bad))], "\n"))
	}
}

// Nodes placed at explicit tokens (-tokens, as the DHT seed's ring_id)
// form a cluster and serve, and keys live where the tokens say: with rf 1
// each node holds exactly the keys whose hash falls in its third.
func TestExplicitTokensCluster(t *testing.T) {
	c := &cluster{t: t, rf: 1}
	var members []ring.Member
	for i := range 3 {
		token := uint64(i) * (1 << 64 / 3)
		members = append(members, ring.Member{ID: uint16(i + 1), Tokens: []uint64{token}})
		c.nodes = append(c.nodes, &cnode{id: i + 1, listen: freeAddr(t), dir: t.TempDir(),
			extra: []string{"-tokens", strconv.FormatUint(token, 10)}})
	}
	for i := range 3 {
		c.start(i + 1)
	}
	c.waitNormal(30 * time.Second)
	kvs := sets("t", "tok", 0, 200)
	setAll(t, kvs, "-addr", c.addrs(1), "-consistency", "quorum")
	r, err := ring.New(1, members)
	if err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 3; id++ {
		var mine []kv
		for _, w := range kvs {
			if r.Replicas([]byte(w.key), 1)[0] == uint16(id) {
				mine = append(mine, w)
			}
		}
		if st := c.node(id).status(t); st.Keys != len(mine) {
			t.Errorf("node %d holds %d keys, its token's third has %d", id, st.Keys, len(mine))
		}
		mustReadAll(t, mine, "-addr", c.addrs(id), "-consistency", "one", "-no-routing")
	}
}
