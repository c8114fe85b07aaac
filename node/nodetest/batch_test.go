package nodetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

func batch(token string, kv ...string) *net.Batch {
	b := &net.Batch{Token: []byte(token)}
	for i := 0; i < len(kv); i += 2 {
		w := net.BatchWrite{Key: []byte(kv[i]), Value: []byte(kv[i+1])}
		if kv[i+1] == "" {
			w.Value, w.Deleted = nil, true
		}
		b.Writes = append(b.Writes, w)
	}
	return b
}

// read reads key at quorum through node id and returns what it answered.
func (c *Cluster) read(id int, key string) string {
	r := c.Request(id, &net.Get{Key: []byte(key), Level: net.Quorum})
	c.Stabilize()
	return FormatMessage(c.Replies[r])
}

// undecided counts the keys with undecided intents on every live node.
func (c *Cluster) undecided() int {
	n := 0
	for _, id := range c.IDs() {
		if h := c.host(int(id)); h.n != nil {
			for _, k := range h.n.Store().WithIntents() {
				if v, _ := h.n.Store().Get([]byte(k)); len(v.Undecided()) > 0 {
					n++
				}
			}
		}
	}
	return n
}

// A batch commits on every key, at one version, and leaves no intent.
func TestBatchCommits(t *testing.T) {
	c := formed(3, 3, nil)
	c.Quietly(func() {
		c.Request(1, &net.Set{Key: []byte("c"), Value: []byte("old"), Level: net.Quorum})
		c.Stabilize()
	})
	r := c.Request(1, batch("token-01", "a", "1", "b", "2", "c", ""))
	c.Stabilize()
	done, ok := c.Replies[r].(*net.Done)
	if !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
	for _, k := range []string{"a", "b", "c"} {
		got := c.read(2, k)
		t.Logf("%s: %s", k, got)
		if !strings.Contains(got, "@"+done.Version.String()) {
			t.Errorf("key %s reads %s, not the batch's version %v", k, got, done.Version)
		}
	}
	if got := c.read(3, "c"); got != "value current=deleted@"+done.Version.String() {
		t.Errorf("the batch's delete of c: %s", got)
	}
	if n := c.undecided(); n != 0 {
		t.Errorf("%d keys keep undecided intents after the batch", n)
	}
	// A retry with the same token answers the same version and applies
	// nothing again: a write after the batch stays.
	c.Quietly(func() {
		c.Request(2, &net.Set{Key: []byte("a"), Value: []byte("later"), Level: net.All})
		c.Stabilize()
	})
	r = c.Request(3, batch("token-01", "a", "1", "b", "2", "c", ""))
	c.Stabilize()
	if again, ok := c.Replies[r].(*net.Done); !ok || again.Version != done.Version {
		t.Errorf("the retry: %s, want done at %v", FormatMessage(c.Replies[r]), done.Version)
	}
	c.Run(5 * time.Second)
	if got := c.read(1, "a"); !strings.Contains(got, "later") {
		t.Errorf("after a retry of a committed batch, a reads %s, want the later write", got)
	}
	if n := c.undecided(); n != 0 {
		t.Errorf("%d keys keep undecided intents after the retry", n)
	}
}

// A coordinator that dies after its intents are on the replicas and before
// the decision blocks nobody: reads answer the old values at once, and the
// sweepers abort the batch through its record within a few request
// timeouts.
func TestBatchDeadCoordinator(t *testing.T) {
	c := formed(3, 3, nil)
	c.Quietly(func() {
		c.Request(1, &net.Set{Key: []byte("a"), Value: []byte("old"), Level: net.All})
		c.Stabilize()
	})
	c.Request(1, batch("token-02", "a", "new", "b", "new"))
	// The intents reach the replicas; node 1 dies before it hears back.
	c.Deliver(Filter{Kinds: []net.Kind{net.KindReplicate}}, -1, false, false)
	for _, id := range []int{2, 3} {
		c.SyncDisk(id, -1)
	}
	c.Crash(1)
	c.Stabilize()
	if n := c.undecided(); n == 0 {
		t.Fatal("no intent reached the replicas: the test does not test")
	}
	if got := c.read(2, "a"); !strings.Contains(got, "old") {
		t.Errorf("a read of a with an undecided intent: %s, want the old value", got)
	}
	c.Run(30 * time.Second)
	if n := c.undecided(); n != 0 {
		t.Errorf("%d keys keep undecided intents %v after the sweepers ran", n, c.Elapsed())
	}
	for _, k := range []string{"a", "b"} {
		if got := c.read(3, k); strings.Contains(got, "new") {
			t.Errorf("key %s reads %s: an aborted batch's value", k, got)
		}
	}
	// The aborted batch stays aborted: a retry with its token hears so.
	c.Start(1)
	c.Run(10 * time.Second)
	r := c.Request(2, batch("token-02", "a", "new", "b", "new"))
	c.Stabilize()
	if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != net.CodeAborted {
		t.Errorf("a retry of an aborted batch: %s, want aborted", FormatMessage(c.Replies[r]))
	}
}

// A batch decided committed whose resolutions were lost is read whole: a
// quorum read that finds its intent looks its record up, and so does a
// serial read's acceptor before it answers.
func TestBatchReadResolvesIntents(t *testing.T) {
	for _, level := range []net.Consistency{net.Quorum, net.Serial} {
		t.Run(level.String(), func(t *testing.T) { testBatchReadResolves(t, level) })
	}
}

func testBatchReadResolves(t *testing.T, level net.Consistency) {
	c := formed(3, 3, noAntiEntropy)
	commitWithoutResolutions(t, c, "token-03", "a", "x", "b", "y")
	held := fmt.Sprint(c.Store(2, "a"), c.Store(3, "b"))
	t.Logf("before the reads:\n%s", held)
	if !strings.Contains(held, "intents") {
		t.Fatal("the resolutions reached the replicas: the test does not test")
	}
	for _, kv := range [][2]string{{"a", "x"}, {"b", "y"}} {
		r := c.Request(2, &net.Get{Key: []byte(kv[0]), Level: level})
		c.Stabilize()
		if got := FormatMessage(c.Replies[r]); !strings.Contains(got, kv[1]) {
			t.Errorf("a %v read of %s with a committed intent: %s, want %s", level, kv[0], got, kv[1])
		}
	}
}

// Bad batches are refused with a clear error and write nothing.
func TestBatchRefused(t *testing.T) {
	c := formed(3, 3, nil)
	for _, tc := range []struct {
		b    *net.Batch
		code net.Code
	}{
		{batch("token-04", "a", "1", "a", "2"), net.CodeBadKey},
		{batch("token-05", "\x00memdb/txn/x", "1"), net.CodeUnsupported},
	} {
		r := c.Request(1, tc.b)
		c.Stabilize()
		if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != tc.code {
			t.Errorf("%s: %s, want %v", FormatMessage(tc.b), FormatMessage(c.Replies[r]), tc.code)
		}
	}
	c.Quietly(func() {
		c.Request(1, &net.Incr{Key: []byte("n"), Delta: 1, Level: net.Quorum, Session: 1, Seq: 1})
		c.Stabilize()
	})
	r := c.Request(1, batch("token-06", "n", "1"))
	c.Stabilize()
	if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != net.CodeWrongKind {
		t.Errorf("a batch writing a counter: %s, want wrong kind", FormatMessage(c.Replies[r]))
	}
}

// A batch whose intent would take a key's state past what an entry can
// carry, or that writes a key holding a counter on a replica, is refused
// there and aborted: nothing applied (found by review: the state's entry
// outgrew the wire's bounds and the counter outranked the intent).
func TestBatchIntentRefusedByReplica(t *testing.T) {
	c := formed(3, 3, nil)
	big := strings.Repeat("v", 7<<20)
	c.Quietly(func() {
		c.Request(1, &net.Set{Key: []byte("big"), Value: []byte(big), Level: net.All})
		c.Stabilize()
	})
	r := c.Request(1, &net.Batch{Token: []byte("token-big1"), Writes: []net.BatchWrite{
		{Key: []byte("big"), Value: make([]byte, 2<<20)}, {Key: []byte("small"), Value: []byte("s")}}})
	c.Quietly(func() { c.Stabilize() })
	if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != net.CodeAborted {
		t.Errorf("a batch that would take a key past %d bytes: %s, want aborted", net.MaxValue, FormatMessage(c.Replies[r]))
	}
	if got := c.read(2, "small"); strings.Contains(got, "=s@") {
		t.Errorf("small after the aborted batch: %s", got)
	}
}

// commitWithoutResolutions runs a batch through node 1, delivering every
// message but the resolutions (Replicates carrying one of the batch's
// plain values, sent after the decision), and fails the test unless the
// batch committed.
func commitWithoutResolutions(t *testing.T, c *Cluster, token string, kv ...string) {
	t.Helper()
	r := c.Request(1, batch(token, kv...))
	c.pump(func(m Msg) bool {
		if m.Kind != net.KindReplicate {
			return false
		}
		for i := 1; i < len(kv); i += 2 {
			if strings.Contains(m.String(), "="+kv[i]+"@") {
				return true
			}
		}
		return false
	}, nil)
	if _, ok := c.Replies[r].(*net.Done); !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
}

// pump delivers the queued messages one at a time, oldest first, dropping
// those drop picks, and completes disk operations whenever no message is
// queued, until nothing is left or done (if not nil) says so.
func (c *Cluster) pump(drop func(Msg) bool, done func() bool) {
	for range 5000 {
		if done != nil && done() {
			return
		}
		ms := c.Msgs(Filter{})
		if len(ms) == 0 {
			did := 0
			for _, id := range c.IDs() {
				did += c.SyncDisk(int(id), -1)
			}
			if did == 0 {
				return
			}
			continue
		}
		m := ms[0]
		c.Deliver(Filter{From: m.From, To: m.To, Kinds: []net.Kind{m.Kind}}, 1, drop(m), false)
	}
}
