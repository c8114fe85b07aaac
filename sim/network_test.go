package sim

import (
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// pinger is a node that also sends a peer message to every other node
// every 10ms, reusing (and scribbling over) one key buffer, and counts
// what it receives.
type pinger struct {
	*node.Node
	env   node.Env
	id    net.NodeID
	n     int
	key   []byte
	got   map[net.NodeID]int // shared across incarnations, by the test
	bad   *int               // deliveries whose key was not intact
	stale *int               // timers that fired although stopped
}

func (p *pinger) Start() error {
	if err := p.Node.Start(); err != nil {
		return err
	}
	p.tick()
	t := p.env.Clock.AfterFunc(5*time.Millisecond, func() { *p.stale++ })
	if !t.Stop() || t.Stop() {
		panic("Stop must report true once, then false")
	}
	return nil
}

func (p *pinger) tick() {
	for to := 1; to <= p.n; to++ {
		if net.NodeID(to) != p.id {
			copy(p.key, "ping")
			p.env.Transport.Send(net.Peer{ID: net.NodeID(to)}, net.Frame{Clock: clock.Timestamp{Counter: 1}, Msg: &net.Get{Key: p.key}})
			copy(p.key, "XXXX") // the simulator must have encoded the frame already
		}
	}
	p.env.Clock.AfterFunc(10*time.Millisecond, p.tick)
}

func (p *pinger) Deliver(from net.NodeID, f net.Frame) {
	g, ok := f.Msg.(*net.Get)
	if !ok {
		return // the wrapped node's own traffic (gossip)
	}
	if string(g.Key) != "ping" {
		*p.bad++
	}
	p.got[p.id]++
}

func runPingers(t *testing.T, p Params) (Result, map[net.NodeID]int, int, int) {
	got := map[net.NodeID]int{}
	var bad, stale int
	res, err := Run(p, Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		return &pinger{Node: n, env: env, id: cfg.ID, n: p.Nodes, key: make([]byte, 4), got: got, bad: &bad, stale: &stale}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res, got, bad, stale
}

func TestPeerMessages(t *testing.T) {
	p := base(1)
	p.Nodes = 3
	res, got, bad, stale := runPingers(t, p)
	if bad != 0 || stale != 0 {
		t.Errorf("%d deliveries not intact, %d stopped timers fired", bad, stale)
	}
	// Every node sends 2 pings per 10ms for the whole run; none are lost.
	for id := net.NodeID(1); id <= 3; id++ {
		if got[id] < 500 {
			t.Errorf("node %d received %d pings, want ≥500 (stats %+v)", id, got[id], res.Stats)
		}
	}
	if res.Stats.PeerDropped != 0 || res.Stats.PeerDelivered < res.Stats.PeerSent-10 {
		t.Errorf("lossless network dropped messages: %+v", res.Stats)
	}

	// A one-way partition of node 1 for the whole fault phase: node 1
	// still hears from the others, the others hear nothing from node 1
	// until the heal.
	p.Faults = []Fault{{At: time.Microsecond, Kind: Partition, Side: []int{1}, OneWay: true, For: p.Duration}}
	_, cut, _, _ := runPingers(t, p)
	// Node 2 misses node 1's pings for the whole fault phase, one per 10ms.
	if missed := int(p.Duration / (10 * time.Millisecond)); cut[1] < got[1]-5 || got[2]-cut[2] < missed*9/10 {
		t.Errorf("one-way partition: received %v, without it %v", cut, got)
	}

	// Loss and duplication.
	p.Faults = nil
	p.Net.Loss, p.Net.Dup = 0.3, 0.2
	res, lossy, _, _ := runPingers(t, p)
	if res.Stats.PeerDropped == 0 || res.Stats.PeerDuplicated == 0 || lossy[1] >= got[1] {
		t.Errorf("loss 0.3, dup 0.2: stats %+v, received %v", res.Stats, lossy)
	}
}

// TestCrashSilencesIncarnation: a crashed node's timers never fire again,
// and after a restart the new incarnation runs (node 2 receives pings
// again).
func TestCrashSilencesIncarnation(t *testing.T) {
	p := base(1)
	p.Nodes = 2
	_, before, _, _ := runPingers(t, p)
	p.Faults = []Fault{{At: 500 * time.Millisecond, Kind: Crash, Node: 1, For: 500 * time.Millisecond}}
	res, got, bad, _ := runPingers(t, p)
	if bad != 0 || res.Stats.Crashes != 1 || res.Stats.Restarts != 1 {
		t.Fatalf("bad %d, stats %+v", bad, res.Stats)
	}
	// Node 1 was down for 0.5s of 3s: node 2 hears about 50 fewer pings.
	// Had the dead incarnation's ticker survived, it would hear more.
	if lost := before[2] - got[2]; lost < 40 || lost > 60 {
		t.Errorf("node 2 received %d pings with node 1 down for 0.5s, %d without: want ~50 fewer", got[2], before[2])
	}
}

// TestSkewRunsAClockFastOrSlow: a node whose clock runs at twice (half)
// the true rate fires its 10ms ticker twice (half) as often, so the other
// node hears twice (half) as many pings while the skew lasts; after it the
// rate is true again.
func TestSkewRunsAClockFastOrSlow(t *testing.T) {
	p := base(1)
	p.Nodes = 2
	_, before, _, _ := runPingers(t, p)
	for _, factor := range []float64{2, 0.5} {
		p.Faults = []Fault{{At: time.Microsecond, Kind: Skew, Node: 1, Factor: factor, For: p.Duration / 2}}
		_, got, bad, _ := runPingers(t, p)
		if bad != 0 {
			t.Fatalf("%d pings not intact", bad)
		}
		// Half the fault phase at factor, the rest (and the liveness
		// window) at the true rate.
		half := float64(p.Duration/2) / float64(10*time.Millisecond)
		want := float64(before[2]) + (factor-1)*half
		if g := float64(got[2]); g < want*0.95 || g > want*1.05 {
			t.Errorf("node 1's clock ×%g for %v: node 2 heard %d pings, want about %.0f (%d without skew)", factor, p.Duration/2, got[2], want, before[2])
		}
	}
}
