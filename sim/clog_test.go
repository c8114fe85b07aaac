package sim

import (
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

// TestClogHoldsThenDelivers: a clog of the link 1→2 from 0.5 s to 1 s
// holds node 1's pings to node 2 and delivers every one at 1 s, in order;
// one way, node 2's pings to node 1 flow meanwhile; both ways, neither
// does. A partition over the same window loses what the clog held.
func TestClogHoldsThenDelivers(t *testing.T) {
	ms := time.Millisecond
	during := func(log []seen, to, from net.NodeID) []seen {
		return filter(log, to, from, 500*ms+time.Nanosecond, 1000*ms-time.Nanosecond)
	}
	for _, oneWay := range []bool{true, false} {
		p := steady(1, 2)
		p.Faults = []Fault{{At: 500 * ms, Kind: Clog, Node: 1, To: 2, OneWay: oneWay, For: 500 * ms}}
		res, log, sent := record(t, p, 0)
		if got := during(log, 2, 1); len(got) > 0 {
			t.Errorf("one way %v: node 2 heard node 1 over the clogged link: %v", oneWay, got)
		}
		if got := filter(log, 2, 1, 1000*ms, 1000*ms); len(got) < 45 || !inOrder(got) {
			t.Errorf("one way %v: at the clog's end node 2 heard %d pings (want ≥45, in order): %v", oneWay, len(got), got)
		}
		if all := filter(log, 2, 1, 0, time.Hour); len(all) != sent[1] || !inOrder(all) {
			t.Errorf("one way %v: node 2 heard %d of node 1's %d pings (in order: %v): a clog loses nothing", oneWay, len(all), sent[1], inOrder(all))
		}
		back := during(log, 1, 2)
		if oneWay && len(back) < 45 || !oneWay && len(back) > 0 {
			t.Errorf("one way %v: node 1 heard %d pings from node 2 during the clog", oneWay, len(back))
		}
		if want := map[bool]int{true: 1, false: 2}[oneWay]; res.Stats.Clogs != want || res.Stats.ClogHeld < 45*want {
			t.Errorf("one way %v: stats %d links clogged, %d messages held", oneWay, res.Stats.Clogs, res.Stats.ClogHeld)
		}
	}

	p := steady(1, 2)
	p.Faults = []Fault{{At: 500 * ms, Kind: Partition, Side: []int{1}, OneWay: true, For: 500 * ms}}
	_, log, sent := record(t, p, 0)
	if all := filter(log, 2, 1, 0, time.Hour); len(all) > sent[1]-45 {
		t.Errorf("partition: node 2 heard %d of node 1's %d pings: a partition loses what it cuts", len(all), sent[1])
	}
}

// TestClogOverlapAndHeal: a second clog of a link extends the first, and
// the heal ends a clog that would outlast the fault phase.
func TestClogOverlapAndHeal(t *testing.T) {
	ms := time.Millisecond
	p := steady(1, 2)
	p.Faults = []Fault{
		{At: 200 * ms, Kind: Clog, Node: 1, To: 2, OneWay: true, For: 400 * ms},
		{At: 500 * ms, Kind: Clog, Node: 2, To: 1, For: 300 * ms},
		{At: 1500 * ms, Kind: Clog, Node: 1, To: 2, OneWay: true, For: time.Hour},
	}
	_, log, sent := record(t, p, 0)
	if got := filter(log, 2, 1, 200*ms+time.Nanosecond, 800*ms-time.Nanosecond); len(got) > 0 {
		t.Errorf("node 2 heard node 1 while clogs held the link: %v", got)
	}
	if got := filter(log, 2, 1, 800*ms, 800*ms); len(got) < 55 {
		t.Errorf("node 2 heard %d pings at the end of the second clog, want ≥55", len(got))
	}
	if got := filter(log, 2, 1, p.Duration, p.Duration); len(got) < 45 {
		t.Errorf("node 2 heard %d pings at the heal, want ≥45", len(got))
	}
	if all := filter(log, 2, 1, 0, time.Hour); len(all) != sent[1] || !inOrder(all) {
		t.Errorf("node 2 heard %d of node 1's %d pings (in order: %v)", len(all), sent[1], inOrder(all))
	}
}

// TestClogRealNodes: memdb nodes behind clogged links stay correct, and
// the run replays exactly.
func TestClogRealNodes(t *testing.T) {
	p := base(7)
	p.Nodes, p.RF = 3, 3
	p.Client.Serial, p.Client.CAS, p.Client.Mix[2] = true, 3, 0
	p.Client.Timeout = 3 * time.Second
	p.Faults = []Fault{
		{At: 200 * time.Millisecond, Kind: Clog, Node: 1, To: 2, For: time.Second},
		{At: 500 * time.Millisecond, Kind: Clog, Node: 3, To: 1, OneWay: true, For: 2 * time.Second},
	}
	if a := runReplayed(t, p); a.Stats.Clogs != 3 || a.Stats.ClogHeld == 0 {
		t.Errorf("the clogs did nothing: %+v", a.Stats)
	}
}
