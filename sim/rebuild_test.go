package sim

import (
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// wipeParams is a 4-node, replication-factor-3 run at quorum levels whose
// node 2 loses its disk after the cluster has formed, with no other fault.
// What the run shows is that the rebuild finishes (the probe, and no node
// still rebuilding at the end) with every checker passing; that a node
// serves nothing before it has rebuilt is node TestRebuildLostState's to
// show (serving at once slipped through these checkers: its catch-up is
// fast on small tables).
func wipeParams(seed uint64, paxos bool) Params { return lossParams(seed, paxos, Wipe) }

// lossParams is wipeParams with a fault of kind (Wipe or Corrupt) on node 2.
func lossParams(seed uint64, paxos bool, kind FaultKind) Params {
	sw := Swarm{Nodes: 4, MaxNodes: 4, MaxClients: 6, MaxKeys: 4, Duration: 16 * time.Second, Liveness: 15 * time.Second, Paxos: paxos}
	p, _ := sw.Draw(seed)
	p.RF = 3
	p.Client.WriteLevel, p.Client.ReadLevel = net.Quorum, net.Quorum
	p.Faults = []Fault{{At: 10 * time.Second, Kind: kind, Node: 2, For: time.Duration(seed%5) * 100 * time.Millisecond}}
	return p
}

// A wiped node finds its state lost, rebuilds it and serves again, and no
// checker sees a difference: quorum visibility and convergence for plain
// writes, linearizability for Paxos.
func TestWipedNodeRebuilds(t *testing.T) {
	for _, paxos := range []bool{false, true} {
		for seed := uint64(1); seed <= 4; seed++ {
			p := wipeParams(seed, paxos)
			res, err := Run(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != Pass {
				t.Errorf("paxos %v seed %d: %s: %s", paxos, seed, res.Verdict, res.Reason)
			}
			if res.Stats.Wipes != 1 || res.Stats.Probes[node.ProbeStateLost] == 0 {
				t.Errorf("paxos %v seed %d: %d wipes, state-lost probe hit %d times: the wipe did not test a rebuild",
					paxos, seed, res.Stats.Wipes, res.Stats.Probes[node.ProbeStateLost])
			}
		}
	}
}

// A bit flipped in a log segment of a node that is down is found when it
// replays; the host then starts it on an empty disk (memdbd's -on-corrupt
// rebuild), and it rebuilds from its replicas as a wiped node does.
func TestCorruptLogRebuilds(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		res, err := Run(lossParams(seed, seed%2 == 0, Corrupt), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass {
			t.Errorf("seed %d: %s: %s", seed, res.Verdict, res.Reason)
		}
		if res.Stats.CorruptFound != 1 || res.Stats.Probes[node.ProbeStateLost] == 0 {
			t.Errorf("seed %d: corruption found at %d boots, state-lost probe hit %d times; want 1 and a rebuild",
				seed, res.Stats.CorruptFound, res.Stats.Probes[node.ProbeStateLost])
		}
	}
}
