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

// A quorum read that finds a batch's undecided intent, and cannot read
// the batch's record (two of its three replicas are down), tells its
// client the read is unavailable — it used to finish without a word, and
// the client waited for its own deadline (issue 13).
func TestBatchReadUnresolvedReplies(t *testing.T) {
	c := formed(7, 3, noAntiEntropy)
	c.Quietly(func() { c.Run(60 * time.Second) }) // every node joined
	n1 := c.Node(1)
	// A batch's record and a key it writes such that two of the record's
	// replicas (those go down, the batch's coordinator, 1, among them if
	// it is one) are none of the key's, and neither is 1, which resolves
	// its own copy.
	var token, key string
	var rec, down []uint16
	for i := 0; i < 1000 && key == ""; i++ {
		token = fmt.Sprintf("token-unres%d", i)
		rec = n1.Replicas(store.RecordKey([]byte(token)))
		for j := 0; j < 100 && key == ""; j++ {
			k := fmt.Sprintf("k%d", j)
			reps := n1.Replicas([]byte(k))
			var off []uint16
			for _, r := range rec {
				if !slices.Contains(reps, r) {
					off = append(off, r)
				}
			}
			if len(off) >= 2 && !slices.Contains(reps, 1) {
				key, down = k, off[:2]
			}
		}
	}
	if key == "" {
		t.Fatal("no batch record and key to test with")
	}
	commitWithoutResolutions(t, c, token, key, "x")
	reader := int(n1.Replicas([]byte(key))[0])
	// Down go the two, and the batch's coordinator, which would send its
	// resolutions again.
	if !slices.Contains(down, 1) {
		down = append(down, 1)
	}
	for _, id := range down {
		c.Crash(int(id))
	}
	// Until the reader's failure detector declares them dead, a serial
	// read of the record waits for them; then it is refused at once.
	c.Quietly(func() {
		for range 100 {
			q := c.Request(reader, &net.Get{Key: store.RecordKey([]byte(token)), Level: net.Serial})
			c.Run(100 * time.Millisecond)
			if e, ok := c.Replies[q].(*net.Error); ok && e.Code == net.CodeUnavailable {
				return
			}
			c.Run(400 * time.Millisecond)
		}
	})
	if held := c.Store(reader, key); !strings.Contains(held, "intents") {
		t.Fatalf("the resolution reached node %d: the test does not test\n%s", reader, held)
	}
	r := c.Request(reader, &net.Get{Key: []byte(key), Level: net.Quorum})
	c.Output()
	// Virtual time: half the request timeout, so that the answer is the
	// failed lookup's, not the read's deadline's.
	c.Run(time.Second)
	got, ok := c.Replies[r].(*net.Error)
	if !ok || got.Code != net.CodeUnavailable {
		heard := "nothing"
		if c.Replies[r] != nil {
			heard = FormatMessage(c.Replies[r])
		}
		t.Fatalf("a quorum read of %s through n%d, the record's replicas %v with %v down: %s, want unavailable\n%s", key, reader, rec, down, heard, c.Output())
	}
	t.Logf("%s", got.Message)
}
