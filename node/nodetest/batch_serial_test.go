package nodetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/memdb/memdb/net"
)

// A committed batch whose resolutions were lost, and whose coordinator is
// down, is not fractured between a quorum read of one key and a later
// serial read of the other: the serial read's acceptors look the record up
// (found by review, before acceptors did).
func TestBatchSerialReadAfterLostResolutions(t *testing.T) {
	c := formed(3, 3, noAntiEntropy)
	commitWithoutResolutions(t, c, "token-03", "a", "x", "b", "y")
	t.Logf("%s", fmt.Sprint(c.Store(2, "a"), c.Store(3, "a"), c.Store(2, "b"), c.Store(3, "b")))
	c.Crash(1) // the coordinator, which applied the resolutions to itself, is down
	q := c.Request(2, &net.Get{Key: []byte("a"), Level: net.Quorum})
	c.Stabilize()
	c.Output()
	s := c.Request(2, &net.Get{Key: []byte("b"), Level: net.Serial})
	c.Stabilize()
	t.Logf("%s", c.Output())
	t.Logf("quorum a: %s; later serial b: %s", FormatMessage(c.Replies[q]), FormatMessage(c.Replies[s]))
	if strings.Contains(FormatMessage(c.Replies[q]), "x") && !strings.Contains(FormatMessage(c.Replies[s]), "y") {
		t.Errorf("fractured: a read the batch's x, a later serial read of b did not read y")
	}
}
