package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// repairParams is a run that leaves replicas apart unless anti-entropy
// brings them together: 400 keys written once or twice each at level one,
// 10% loss, and a node crashing every few hundred milliseconds, so that a
// key's last write often misses a replica and its coordinator's hint dies
// with the coordinator.
func repairParams(seed uint64) Params {
	sw := Swarm{Nodes: 3, MaxNodes: 3, MaxClients: 6, MaxKeys: 4, Duration: 10 * time.Second, Liveness: 25 * time.Second}
	p, _ := sw.Draw(seed)
	p.Net.Loss, p.RF, p.Keys = 0.1, 3, 400
	p.Client.WriteLevel, p.Client.ReadLevel = net.One, net.One
	p.Faults = nil
	r := Stream(seed, "repair-test")
	for at := 3 * time.Second; at < p.Duration; at += time.Duration(200+r.IntN(300)) * time.Millisecond {
		p.Faults = append(p.Faults, Fault{At: at, Kind: Crash, Node: 1 + r.IntN(3), For: 50 * time.Millisecond})
	}
	return p
}

// Anti-entropy earns its keep: on runs where hints and catch-up leave
// replicas of some key different after the heal (checked by turning it
// off), with it on they converge.
func TestAntiEntropyConverges(t *testing.T) {
	seeds := []uint64{35, 44, 46, 51} // runs that do not converge without it (of seeds 1-120)
	run := func(seed uint64, interval time.Duration) Result {
		res, err := Run(repairParams(seed), Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
			cfg.AntiEntropy = interval
			return NewNode(cfg, env)
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	diverged := 0
	for _, seed := range seeds {
		if res := run(seed, -1); res.Verdict == Liveness && strings.Contains(res.Reason, "convergence") {
			diverged++
		}
		if res := run(seed, 0); res.Verdict != Pass {
			t.Errorf("seed %d with anti-entropy: %s: %s", seed, res.Verdict, res.Reason)
		}
	}
	if diverged == 0 {
		t.Errorf("no seed of %v diverged without anti-entropy: the test no longer shows what it is for; find seeds that do", seeds)
	}
}

// A coordinator whose hints for a replica pass a bound (bytes or time)
// drops the rest (the hint-dropped probe); the replica still ends with
// every write, from its catch-up when it restarts and from anti-entropy.
func TestDroppedHintsConverge(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		sw := Swarm{Nodes: 3, MaxNodes: 3, MaxClients: 6, MaxKeys: 4, Duration: 16 * time.Second, Liveness: 15 * time.Second}
		p, _ := sw.Draw(seed)
		p.RF, p.Keys = 3, 300
		// Level one both ways, so that clients keep writing while a replica
		// is down (at all, reads would wait on it); convergence is what is
		// checked.
		p.Client.WriteLevel, p.Client.ReadLevel = net.One, net.One
		p.Faults = []Fault{{At: 9 * time.Second, Kind: Crash, Node: 3, For: 4 * time.Second}}
		res, err := Run(p, Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
			// Odd seeds bound the bytes, even ones the time.
			if seed%2 == 1 {
				cfg.HintBytes = 1 << 10
			} else {
				cfg.HintWindow = time.Second
			}
			return NewNode(cfg, env)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass {
			t.Errorf("seed %d: %s: %s", seed, res.Verdict, res.Reason)
		}
		if res.Stats.Probes[node.ProbeHintDropped] == 0 {
			t.Errorf("seed %d: no hint dropped: the test no longer shows what it is for (probes %v, crashes %d)", seed, res.Stats.Probes, res.Stats.Crashes)
		}
	}
}
