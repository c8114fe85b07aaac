package nodetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/memdb/memdb/net"
)

// At HEAD a serial read does not resolve intents: a committed batch whose
// resolutions were lost is read whole at quorum but not at serial.
func TestBatchSerialReadAfterLostResolutions(t *testing.T) {
	c := formed(3, 3, noAntiEntropy)
	r := c.Request(1, batch("token-03", "a", "x", "b", "y"))
	for range 2000 {
		ms := c.Msgs(Filter{})
		if len(ms) == 0 {
			for _, id := range c.IDs() {
				c.SyncDisk(int(id), -1)
			}
			if len(c.Msgs(Filter{})) == 0 {
				break
			}
			continue
		}
		m := ms[0]
		drop := m.Kind == net.KindReplicate && (strings.Contains(m.String(), "=x@") || strings.Contains(m.String(), "=y@"))
		c.Deliver(Filter{From: m.From, To: m.To, Kinds: []net.Kind{m.Kind}}, 1, drop, false)
	}
	if _, ok := c.Replies[r].(*net.Done); !ok {
		t.Fatalf("batch: %s", FormatMessage(c.Replies[r]))
	}
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
