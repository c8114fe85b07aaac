package scenarios

import (
	"testing"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/sim"
)

// The canaries prove the pipeline can fail: a checker that never fails is
// a defect. Each plants a fault — in the checker's input, in the model, or
// in the node — and requires it to be caught.

const canarySeeds = 8

func singleNode(t *testing.T) Scenario {
	s, err := Lookup("single-node")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCanaryCorruptRead changes one read in a real, passing history to a
// value that was written but overwritten long before: the checker must
// reject it.
func TestCanaryCorruptRead(t *testing.T) {
	s := singleNode(t)
	caught := 0
	for seed := uint64(1); seed <= canarySeeds; seed++ {
		res, _, err := s.Run(seed, sim.Options{})
		if err != nil || res.Verdict != sim.Pass {
			t.Fatalf("seed %d: %v %s %s", seed, err, res.Verdict, res.Reason)
		}
		h := plantStaleRead(res.History)
		if h == nil {
			continue
		}
		check, err := linearize.Check(h, 0)
		if err != nil {
			t.Fatal(err)
		}
		if check.OK {
			t.Errorf("seed %d: a stale read planted in the history was not detected\n%s", seed, reproduce(s.Name, seed))
		}
		caught++
	}
	if caught == 0 {
		t.Fatalf("no seed gave a history to plant a stale read in")
	}
}

// plantStaleRead finds a successful get g and two successful sets a and b
// of its key with a before b before g, none overlapping, and makes g return
// a's value. Values are unique, so a's value is current only right after
// a, which is before b: no linearization lets g read it. Returns nil if the
// history has no such triple.
func plantStaleRead(h linearize.History) linearize.History {
	for i, g := range h {
		if g.Kind != linearize.Get || g.Outcome != linearize.OK {
			continue
		}
		for _, a := range h[:i] {
			if a.Kind != linearize.Set || a.Outcome != linearize.OK || a.Key != g.Key {
				continue
			}
			for _, b := range h[:i] {
				if b.Kind == linearize.Set && b.Outcome == linearize.OK && b.Key == g.Key &&
					a.Return < b.Call && b.Return < g.Call {
					out := append(linearize.History(nil), h...)
					out[i].Found, out[i].Output = true, a.Value
					return out
				}
			}
		}
	}
	return nil
}

// TestCanaryLostWrites runs the scenario with fsync=none, where a crash
// loses writes the node already acknowledged: the checker must notice in
// some seed, or it could not see a durability bug either.
func TestCanaryLostWrites(t *testing.T) {
	s := singleNode(t)
	volatile := func(cfg node.Config, env node.Env) (sim.Process, error) {
		cfg.Log.Mode = oplog.None
		return node.New(cfg, env)
	}
	for seed := uint64(1); seed <= 4*canarySeeds; seed++ {
		res, _, err := s.Run(seed, sim.Options{NewProcess: volatile})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict == sim.Safety {
			return
		}
	}
	t.Errorf("fsync=none lost no acknowledged write the checker could see in %d seeds", 4*canarySeeds)
}

// TestCanaryPlantedBug runs the scenario on a node whose deletes reply
// "done" without deleting: the simulator must return a safety verdict for
// some seed.
func TestCanaryPlantedBug(t *testing.T) {
	s := singleNode(t)
	newBuggy := func(cfg node.Config, env node.Env) (sim.Process, error) {
		n, err := node.New(cfg, env)
		return &ignoreDeletes{Node: n, tr: env.Transport}, err
	}
	for seed := uint64(1); seed <= canarySeeds; seed++ {
		res, _, err := s.Run(seed, sim.Options{NewProcess: newBuggy})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict == sim.Safety {
			t.Logf("seed %d caught the planted bug: %s", seed, res.Reason)
			return
		}
	}
	t.Errorf("no seed in 1..%d caught a node that ignores deletes", canarySeeds)
}

type ignoreDeletes struct {
	*node.Node
	tr net.Transport
}

func (n *ignoreDeletes) Request(c net.ConnID, f net.Frame) {
	if _, ok := f.Msg.(*net.Delete); ok {
		n.tr.Reply(c, net.Frame{ID: f.ID, Clock: f.Clock, Msg: &net.Done{Version: f.Clock}})
		return
	}
	n.Node.Request(c, f)
}
