package nodetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

func overlap(a, b []uint16) int {
	n := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			n++
		}
	}
	return n
}

// An acceptor whose record lookup fails (the record's replicas are down)
// answers the key's settled state as if the batch were undecided: a serial
// read then returns the old value of k2 after a quorum read returned the
// committed batch's value of k1 (a quorum read in the same state refuses).
func TestBatchSerialReadWithUnreadableRecord(t *testing.T) {
	c := formed(7, 3, noAntiEntropy)
	n1 := c.Node(1)
	token := "token-rec1"
	rr := n1.Replicas(store.RecordKey([]byte(token)))
	down := []uint16{rr[0], rr[1]}
	var coordID uint16
	for id := uint16(1); id <= 7; id++ {
		if !slices.Contains(rr, id) {
			coordID = id
			break
		}
	}
	down = append(down, coordID)
	var k1, k2 string
	for i := 0; i < 1000 && (k1 == "" || k2 == ""); i++ {
		k := fmt.Sprintf("k%d", i)
		reps := n1.Replicas([]byte(k))
		if overlap(reps, down) > 1 {
			continue
		}
		if k1 == "" {
			k1 = k
		} else {
			k2 = k
		}
	}
	t.Logf("n1 status %v", n1.Replicas([]byte("zz")))
	t.Logf("record replicas %v, down %v, k1=%s %v, k2=%s %v", rr, down, k1, n1.Replicas([]byte(k1)), k2, n1.Replicas([]byte(k2)))
	r := c.Request(int(coordID), batch(token, k1, "x", k2, "y"))
	dropK2 := func(m Msg) bool { return m.Kind == net.KindReplicate && strings.Contains(m.String(), "=y@") }
	c.pump(dropK2, func() bool { _, ok := c.Replies[r]; return ok })
	if _, ok := c.Replies[r].(*net.Done); !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
	// Let k1's resolutions land; keep dropping k2's.
	c.pump(dropK2, nil)
	for _, id := range down {
		c.Crash(int(id)) // the coordinator (and its hints) and two of the record's replicas
	}
	c.Quietly(func() { c.Run(6 * time.Second) })
	t.Logf("epoch %d; record replicas now %v; k2 replicas now %v; k3 %v", c.Node(7).Epoch(), c.Node(7).Replicas(store.RecordKey([]byte(token))), c.Node(7).Replicas([]byte(k1)), c.Node(7).Replicas([]byte(k2)))
	t.Logf("n6 k3: %s", c.Store(6, k2))
	rq := c.Request(7, &net.Get{Key: store.RecordKey([]byte(token)), Level: net.Serial})
	c.Quietly(func() { c.Run(3 * time.Second) })
	t.Logf("record read: %v", c.Replies[rq])
	reader := 0
	for _, id := range n1.Replicas([]byte(k2)) {
		reader = int(id)
	}
	t.Logf("%s%s", c.Store(reader, k1), c.Store(reader, k2))
	c.Output()
	q := c.Request(reader, &net.Get{Key: []byte(k1), Level: net.Quorum})
	c.Run(3 * time.Second)
	o := c.Output()
	t.Logf("%s", o[:min(len(o), 3000)])
	s := c.Request(reader, &net.Get{Key: []byte(k2), Level: net.Serial})
	c.Run(3 * time.Second)
	o = c.Output()
	t.Logf("%s", o[:min(len(o), 6000)])
	q2 := c.Request(reader, &net.Get{Key: []byte(k2), Level: net.Quorum})
	c.Quietly(func() { c.Run(3 * time.Second) })
	fm := func(id uint64) string {
		if c.Replies[id] == nil {
			return "no reply"
		}
		return FormatMessage(c.Replies[id])
	}
	t.Logf("quorum %s: %s; then serial %s: %s; (quorum %s: %s)", k1, fm(q), k2, fm(s), k2, fm(q2))
	if strings.Contains(fm(q), "x@") && !strings.Contains(fm(s), "y@") && !strings.Contains(fm(s), "error") {
		t.Errorf("fractured: %s read the batch's x, a later serial read of %s did not read y", k1, k2)
	}
}
