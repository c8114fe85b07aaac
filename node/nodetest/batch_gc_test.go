package nodetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/store"
)

// records counts the batch records the live nodes hold, and those they
// dropped since they booted.
func (c *Cluster) records() (held int, dropped uint64) {
	for _, id := range c.IDs() {
		if h := c.host(int(id)); h.n != nil {
			n, d := h.n.Records()
			held, dropped = held+n, dropped+d
		}
	}
	return held, dropped
}

// retention is the batch retention of the collection tests.
const retention = 20 * time.Second

func collecting(cfg *node.Config) {
	cfg.AntiEntropy = -1
	cfg.BatchRetention = retention
}

// A committed batch's record is kept for the retention, then dropped by
// every replica of it once every replica of every key holds the batch's
// write, for good: a restart does not bring it back from the log. An
// aborted batch's record goes after the retention alone.
func TestBatchRecordCollected(t *testing.T) {
	c := formed(4, 3, collecting)
	var r uint64
	c.Quietly(func() {
		r = c.Request(1, batch("token-gc-1", "a", "1", "b", "2"))
		c.Stabilize()
		c.Run(time.Second)
	})
	if _, ok := c.Replies[r].(*net.Done); !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
	if held, _ := c.records(); held != 3 {
		t.Fatalf("%d records held after the batch, want 3 (one on each replica of it)", held)
	}
	c.Quietly(func() { c.Run(retention / 2) })
	if held, dropped := c.records(); held != 3 || dropped != 0 {
		t.Fatalf("within the retention: %d records held, %d dropped; want 3, 0", held, dropped)
	}
	c.Quietly(func() { c.Run(retention) })
	if held, dropped := c.records(); held != 0 || dropped != 3 {
		t.Fatalf("past the retention: %d records held, %d dropped; want 0, 3", held, dropped)
	}
	// Dropped durably: a replica of the record that restarts holds none.
	rr := c.Node(1).Replicas(store.RecordKey([]byte("token-gc-1")))
	id := int(rr[0])
	c.Quietly(func() {
		c.Crash(id)
		c.Start(id)
		c.Run(5 * time.Second)
	})
	if held, _ := c.Node(id).Records(); held != 0 {
		t.Errorf("node %d holds %d records after a restart: its log brought the collected record back", id, held)
	}
	if got := c.read(2, "a"); got != c.read(2, "a") || c.undecided() != 0 {
		t.Errorf("after collection: a %s, %d undecided", got, c.undecided())
	}

	// An aborted batch: one of a's replicas crashed, another cut off
	// unseen (its intents never acknowledged) — the record says aborted.
	c.Quietly(func() { c.Run(5 * time.Second) })
	aReps := c.Node(1).Replicas([]byte("a"))
	coord := 0
	for i := 1; i <= 4; i++ {
		if !slices.Contains(aReps, uint16(i)) {
			coord = i
		}
	}
	var r2 uint64
	c.Quietly(func() {
		c.Crash(int(aReps[0]))
		c.Crash(int(aReps[1]))
		r2 = c.Request(coord, batch("token-gc-2", "a", "3", "b", "4"))
		c.Stabilize()
		c.Run(5 * time.Second)
		c.Start(int(aReps[0]))
		c.Start(int(aReps[1]))
		c.Run(5 * time.Second)
	})
	if e, ok := c.Replies[r2].(*net.Error); !ok || e.Code != net.CodeAborted {
		t.Fatalf("second batch: %s, want aborted", FormatMessage(c.Replies[r2]))
	}
	held, dropped := c.records()
	if held == 0 {
		t.Fatalf("no record of the aborted batch held (dropped %d)", dropped)
	}
	c.Quietly(func() { c.Run(retention + 5*time.Second) })
	if held, _ := c.records(); held != 0 {
		t.Errorf("past the retention, %d records of the aborted batch held, want 0", held)
	}
}

// A committed batch's record is kept while a replica of one of its keys
// cannot say it holds the batch's write (it is down), however long past
// the retention; collected once it is back and holds it (its catch-up
// brings the write).
func TestBatchRecordKeptUntilEveryReplicaHolds(t *testing.T) {
	c := formed(4, 3, collecting)
	rr := c.Node(1).Replicas(store.RecordKey([]byte("token-gc-3")))
	// A key with a replica that holds no copy of the record: it is down
	// across the batch.
	var key string
	var away, coord int
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("k%d", i)
		for _, id := range c.Node(1).Replicas([]byte(k)) {
			if !slices.Contains(rr, id) {
				key, away = k, int(id)
				break
			}
		}
	}
	for i := 1; i <= 4; i++ {
		if i != away {
			coord = i
			break
		}
	}
	t.Logf("record on %v; %s on %v, node %d away; coordinator %d", rr, key, c.Node(1).Replicas([]byte(key)), away, coord)
	var r uint64
	c.Quietly(func() {
		c.Crash(away)
		c.Run(10 * time.Second) // its peers see it down
		r = c.Request(coord, batch("token-gc-3", key, "1", "other", "2"))
		c.Stabilize()
		c.Run(3 * retention)
	})
	if _, ok := c.Replies[r].(*net.Done); !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
	if held, dropped := c.records(); held != 3 || dropped != 0 {
		t.Fatalf("node %d, a replica of %s, is down: %d records held, %d dropped; want 3, 0", away, key, held, dropped)
	}
	c.Quietly(func() {
		c.Start(away)
		c.Run(2 * retention)
	})
	t.Logf("%s on node %d after its restart: %s", key, away, c.Store(away, key))
	if held, dropped := c.records(); held != 0 || dropped != 3 {
		t.Errorf("node %d back, holding the write: %d records held, %d dropped; want 0, 3", away, held, dropped)
	}
}

// With anti-entropy on, a record every replica collected stays collected:
// digests leave expired records out and a copy streamed back is not
// taken, so replicas that drop it at different times (one restarted 5 s
// after the batch times it from its boot) do not hand it back to each
// other.
func TestBatchRecordCollectedUnderAntiEntropy(t *testing.T) {
	c := formed(4, 3, func(cfg *node.Config) {
		cfg.AntiEntropy = 500 * time.Millisecond
		cfg.BatchRetention = retention
	})
	var r uint64
	c.Quietly(func() {
		r = c.Request(1, batch("token-gc-4", "a", "1", "b", "2"))
		c.Stabilize()
		c.Run(5 * time.Second)
		id := int(c.Node(1).Replicas(store.RecordKey([]byte("token-gc-4")))[0])
		c.Crash(id)
		c.Start(id)
		// Other keys keep changing, so that comparisons find spans to pull.
		for i := range 120 {
			c.Request(1+i%4, &net.Set{Key: []byte(fmt.Sprintf("x%d", i%7)), Value: []byte("v"), Level: net.One})
			c.Run(500 * time.Millisecond)
		}
	})
	if _, ok := c.Replies[r].(*net.Done); !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
	if held, dropped := c.records(); held != 0 || dropped != 3 {
		t.Errorf("a minute past the batch: %d records held, %d dropped; want 0, 3 (taken back by anti-entropy?)", held, dropped)
	}
}

// markers counts the aborted batches' markers the live nodes hold.
func (c *Cluster) markers() (held int, dropped uint64) {
	for _, id := range c.IDs() {
		if h := c.host(int(id)); h.n != nil {
			n, d := h.n.Markers()
			held, dropped = held+n, dropped+d
		}
	}
	return held, dropped
}

// An aborted batch's markers go after the retention, with anti-entropy
// on (digests leave expired markers out, so a replica that still holds
// one does not hand it back), and for good: restarts replay none.
func TestBatchMarkersCollected(t *testing.T) {
	c := formed(4, 3, func(cfg *node.Config) {
		cfg.AntiEntropy = 500 * time.Millisecond
		cfg.BatchRetention = retention
	})
	aReps := c.Node(1).Replicas([]byte("a"))
	coord := 0
	for i := 1; i <= 4; i++ {
		if !slices.Contains(aReps, uint16(i)) {
			coord = i
		}
	}
	var r uint64
	c.Quietly(func() {
		c.Crash(int(aReps[0]))
		c.Crash(int(aReps[1]))
		r = c.Request(coord, batch("token-gc-5", "a", "3", "b", "4"))
		c.Stabilize()
		c.Run(5 * time.Second)
		c.Start(int(aReps[0]))
		c.Start(int(aReps[1]))
		c.Run(5 * time.Second)
	})
	if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != net.CodeAborted {
		t.Fatalf("batch: %s, want aborted", FormatMessage(c.Replies[r]))
	}
	held, _ := c.markers()
	if held == 0 {
		t.Fatal("the aborted batch left no marker")
	}
	t.Logf("after the abort: %d markers; b on node %d: %s", held, coord, c.Store(coord, "b"))
	c.Quietly(func() {
		// Writes of other keys, so that comparisons find spans to pull.
		for i := range 100 {
			c.Request(1+i%4, &net.Set{Key: []byte(fmt.Sprintf("x%d", i%7)), Value: []byte("v"), Level: net.One})
			c.Run(500 * time.Millisecond)
		}
	})
	if held, dropped := c.markers(); held != 0 || dropped == 0 {
		t.Fatalf("past the retention: %d markers held, %d dropped; want 0 held", held, dropped)
	}
	c.Quietly(func() {
		for _, id := range c.IDs() {
			c.Crash(int(id))
			c.Start(int(id))
			c.Run(2 * time.Second)
		}
		c.Run(5 * time.Second)
	})
	if held, _ := c.markers(); held != 0 {
		t.Errorf("after restarts: %d markers held, want 0 (replayed from the log?)", held)
	}
	if got := c.read(coord, "b"); strings.Contains(got, "4") {
		t.Errorf("b reads %s: the aborted batch's value", got)
	}
}

// What collection leaves after a quiet spell: 20 batches over 4 nodes (one
// in four aborted: two of its first key's replicas crashed unseen), then
// twice the retention with nothing else; with collection, no record and
// no marker is left, without it every record is (three copies each).
func TestBatchRecordsHeldAfterQuiet(t *testing.T) {
	run := func(retention time.Duration) (records, markers int) {
		c := formed(4, 3, func(cfg *node.Config) {
			cfg.AntiEntropy = time.Second
			cfg.BatchRetention = retention
		})
		c.Quietly(func() {
			for i := range 20 {
				a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
				var down []int
				coord := 1 + i%4
				if i%4 == 3 {
					for _, id := range c.Node(1).Replicas([]byte(a)) {
						if int(id) != coord && len(down) < 2 {
							down = append(down, int(id))
						}
					}
				}
				for _, id := range down {
					c.Crash(id)
				}
				c.Request(coord, batch(fmt.Sprintf("token-q-%03d", i), a, "1", b, "2"))
				c.Stabilize()
				c.Run(time.Second)
				for _, id := range down {
					c.Start(id)
				}
				c.Run(4 * time.Second)
			}
			c.Run(2 * retention)
		})
		records, _ = c.records()
		markers, _ = c.markers()
		return records, markers
	}
	keptR, keptM := run(-1)
	heldR, heldM := run(retention)
	t.Logf("20 batches, then %v quiet: without collection %d records and %d markers held; with it %d and %d", 2*retention, keptR, keptM, heldR, heldM)
	if keptR != 60 || heldR != 0 || heldM != 0 || keptM == 0 {
		t.Errorf("held %d records and %d markers without collection, %d and %d with it; want 60 and some, 0 and 0", keptR, keptM, heldR, heldM)
	}
}
