package nodetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// fsync=none: a replica whose store already holds a later, unsynced plain
// write acknowledges a batch's intent as covered, logging and syncing
// nothing. If those replicas crash, the plain write (allowed to be lost)
// and the batch's write to the key (not allowed: intents are synced
// whatever the mode) are both gone: the committed batch is on k1 only.
func TestBatchCoveredIntentDurableBeforeAck(t *testing.T) {
	c := formed(8, 3, func(cfg *node.Config) { cfg.Log.Mode = oplog.None; cfg.AntiEntropy = -1 })
	c.Quietly(func() { c.Run(30 * time.Second) })
	n1 := c.Node(1)
	token := "token-cov1"
	rr := n1.Replicas(store.RecordKey([]byte(token)))
	var kb, ka string
	for i := 0; i < 2000 && (ka == "" || kb == ""); i++ {
		k := fmt.Sprintf("k%d", i)
		reps := n1.Replicas([]byte(k))
		switch {
		case kb == "" && overlap(reps, rr) == 0:
			kb = k
		case kb != "" && ka == "" && overlap(reps, n1.Replicas([]byte(kb))) == 0:
			ka = k
		}
	}
	bReps := n1.Replicas([]byte(kb))
	var coordID int
	for id := 1; id <= 8; id++ {
		if !slices.Contains(bReps, uint16(id)) {
			coordID = id
			break
		}
	}
	t.Logf("record %v; %s %v; %s %v; coordinator %d", rr, kb, bReps, ka, n1.Replicas([]byte(ka)), coordID)
	var r, w uint64
	c.Quietly(func() {
		r = c.Request(coordID, batch(token, ka, "x", kb, "y"))
		// A later plain write of kb (a client whose clock is ahead) lands on
		// kb's replicas before the batch's intents do.
		w = c.requestAt(int(bReps[0]), &net.Set{Key: []byte(kb), Value: []byte("W"), Level: net.Quorum}, 1_000_000)
		for range 100 {
			did := c.Deliver(Filter{From: net.NodeID(bReps[0]), Kinds: []net.Kind{net.KindReplicate}}, -1, false, false)
			did += c.Deliver(Filter{From: net.NodeID(bReps[0]), To: net.NodeID(bReps[0])}, -1, false, false)
			if did == 0 {
				break
			}
		}
		c.Stabilize()
	})
	t.Logf("W: %s; batch: %s", FormatMessage(c.Replies[w]), FormatMessage(c.Replies[r]))
	for _, id := range bReps {
		t.Logf("n%d before the crash: %s", id, c.Store(int(id), kb))
	}
	done, ok := c.Replies[r].(*net.Done)
	if !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
	// kb's replicas lose power together (fsync=none: unsynced writes go).
	for _, id := range bReps {
		c.Crash(int(id))
	}
	for _, id := range bReps {
		c.Start(int(id))
	}
	c.Quietly(func() { c.Run(60 * time.Second) })
	a, b := c.read(coordID, ka), c.read(coordID, kb)
	t.Logf("after heal: %s: %s; %s: %s (batch committed at %v)", ka, a, kb, b, done.Version)
	if strings.Contains(a, "x@") && !strings.Contains(b, "y@") && !strings.Contains(b, "W@") {
		t.Errorf("not all or nothing: a committed batch's write to %s is lost (%s) while %s holds it", kb, b, ka)
	}
}
