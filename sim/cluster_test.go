package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// The visibility checker must flag a quorum read that misses a write
// acknowledged before it began, and only when the levels intersect.
func TestCheckVisibility(t *testing.T) {
	at := func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
	ts := func(c uint64, n uint16) clock.Timestamp { return clock.Timestamp{Counter: c, Node: n} }
	write := linearize.Op{Kind: linearize.Set, Key: "k", Value: "v", Call: at(0), Return: at(10), Outcome: linearize.OK, Version: ts(5, 1)}
	cases := []struct {
		name        string
		read        linearize.Op
		rl, wl      net.Consistency
		wantFailure bool
	}{
		{"sees it", linearize.Op{Kind: linearize.Get, Key: "k", Call: at(20), Return: at(30), Outcome: linearize.OK, Version: ts(5, 1)}, net.Quorum, net.Quorum, false},
		{"sees a later one", linearize.Op{Kind: linearize.Get, Key: "k", Call: at(20), Return: at(30), Outcome: linearize.OK, Version: ts(7, 2)}, net.Quorum, net.Quorum, false},
		{"misses it", linearize.Op{Kind: linearize.Get, Key: "k", Call: at(20), Return: at(30), Outcome: linearize.OK, Version: ts(4, 3)}, net.Quorum, net.Quorum, true},
		{"misses it, deleted key back", linearize.Op{Kind: linearize.Get, Key: "k", Call: at(20), Return: at(30), Outcome: linearize.OK}, net.One, net.All, true},
		{"concurrent with it", linearize.Op{Kind: linearize.Get, Key: "k", Call: at(5), Return: at(30), Outcome: linearize.OK}, net.Quorum, net.Quorum, false},
		{"levels promise nothing", linearize.Op{Kind: linearize.Get, Key: "k", Call: at(20), Return: at(30), Outcome: linearize.OK}, net.One, net.One, false},
	}
	for _, c := range cases {
		w := &world{p: Params{Nodes: 3, RF: 3, Client: ClientParams{ReadLevel: c.rl, WriteLevel: c.wl}}, history: linearize.History{write, c.read}}
		v, why := w.checkVisibility()
		if got := v != Pass; got != c.wantFailure {
			t.Errorf("%s: verdict %v (%s), want failure %v", c.name, v, why, c.wantFailure)
		}
		if c.wantFailure && !strings.Contains(why, "quorum visibility") {
			t.Errorf("%s: reason %q does not name the check", c.name, why)
		}
	}
}
