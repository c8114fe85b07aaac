package sim

import (
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// wipeParams is a 4-node, replication-factor-3 run at quorum levels whose
// node 2 loses its disk halfway through, under light loss and no other
// fault: the run passes only if the wiped node rebuilds what it lost
// before it serves.
func wipeParams(seed uint64, paxos bool) Params {
	sw := Swarm{Nodes: 4, MaxNodes: 4, MaxClients: 6, MaxKeys: 4, Duration: 16 * time.Second, Liveness: 15 * time.Second, Paxos: paxos}
	p, _ := sw.Draw(seed)
	p.RF = 3
	p.Client.WriteLevel, p.Client.ReadLevel = net.Quorum, net.Quorum
	p.Faults = []Fault{{At: 10 * time.Second, Kind: Wipe, Node: 2, For: time.Duration(seed%5) * 100 * time.Millisecond}}
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
