package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// tombRaceSwarm is the tomb-race scenario's shape (scenarios.go).
var tombRaceSwarm = Swarm{Nodes: 3, MaxClients: 2, MaxKeys: 8, Duration: 30 * time.Second, Liveness: 10 * time.Second, TombRace: true}

// TestScriptValidate: a step must name a node and a key of the run, an
// op it knows, a time within the workload, plain clients, and leave the
// random clients a key.
func TestScriptValidate(t *testing.T) {
	base, _ := tombRaceSwarm.Draw(1)
	if err := base.Validate(); err != nil {
		t.Fatalf("seed 1: %v", err)
	}
	for name, bad := range map[string]func(p *Params){
		"node":     func(p *Params) { p.Script[0].Node = 4 },
		"key":      func(p *Params) { p.Script[0].Key = p.Keys },
		"op":       func(p *Params) { p.Script[0].Op = "incr" },
		"time":     func(p *Params) { p.Script[0].At = p.Duration + p.Liveness },
		"serial":   func(p *Params) { p.Client.Serial, p.Client.Mix[2] = true, 0 },
		"all keys": func(p *Params) { p.Keys = len(scriptKeys(p.Script)) },
	} {
		p := base
		p.Script = slices.Clone(base.Script)
		bad(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: a bad script validates: %v", name, p.Script)
		}
	}
}

// TestRandomKeyAvoidsScript: with a script, the random clients pick every
// key but the scripted ones, and only those; without one, what they
// picked before scripts existed.
func TestRandomKeyAvoidsScript(t *testing.T) {
	p := Params{Keys: 6, Script: []Step{{Key: 1}, {Key: 4}, {Key: 1}}}
	cl := &client{w: &world{p: p}, rng: Stream(1, "client/1")}
	seen := map[string]int{}
	for range 600 {
		seen[cl.randomKey()]++
	}
	if len(seen) != 4 || seen["k1"] > 0 || seen["k4"] > 0 {
		t.Errorf("keys picked: %v; want k0, k2, k3 and k5", seen)
	}
	p.Script = nil
	cl = &client{w: &world{p: p}, rng: Stream(1, "client/1")}
	ref := Stream(1, "client/1")
	for range 100 {
		if got, want := cl.randomKey(), fmt.Sprintf("k%d", ref.IntN(p.Keys)); got != want {
			t.Fatalf("no script: picked %s, want %s", got, want)
		}
	}
}

// TestTombRaceDraw: each seed plays the plot of its residue mod 4 on a key
// node 3 holds no copy of, with the plot's faults alone (the hints plot
// also crashes A, and its random clients only read), and its scripted
// clients end with a read after the heal.
func TestTombRaceDraw(t *testing.T) {
	r, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3}, node.DefaultConfig(1).Vnodes))
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 30; seed++ {
		p, notes := tombRaceSwarm.Draw(seed)
		if err := p.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		plot := []string{"floor", "hints", "stale clean", "lagging write"}[seed%4]
		if !strings.Contains(strings.Join(notes, "\n"), "plot "+plot+" ") {
			t.Errorf("seed %d: notes %v; want plot %s", seed, notes, plot)
		}
		key := p.Script[0].Key
		if reps := r.Replicas(fmt.Appendf(nil, "k%d", key), 2); slices.Contains(reps, 3) {
			t.Errorf("seed %d: k%d is on %v; want a key node 3 holds no copy of", seed, key, reps)
		}
		if p.Nodes != 3 || p.RF != 2 || p.Clients != 2 || p.Net.Loss != 0 || p.Net.Dup != 0 {
			t.Errorf("seed %d: %d nodes, rf %d, %d clients, loss %v, dup %v", seed, p.Nodes, p.RF, p.Clients, p.Net.Loss, p.Net.Dup)
		}
		for _, f := range p.Faults {
			crashA := f.Kind == Crash && plot == "hints" && f.Node != 3
			if !crashA && (f.Kind != Pause && f.Kind != Partition || f.Kind == Pause && f.Node != 3) {
				t.Errorf("seed %d: fault %v is not the plot's", seed, f)
			}
		}
		if plot == "hints" && (p.Client.Mix[1] != 0 || p.Client.Mix[2] != 0 || p.Client.CAS != 0) {
			t.Errorf("seed %d: the hints plot's random clients write (mix %v, cas %d); they must only read", seed, p.Client.Mix, p.Client.CAS)
		}
		last := map[int]Step{}
		for _, s := range p.Script {
			last[s.Node] = s
		}
		for n, s := range last {
			if s.Op != StepGet || s.At <= p.Duration {
				t.Errorf("seed %d: node %d's last step %v is not a read after the heal at %v", seed, n, s, p.Duration)
			}
		}
	}
}

// TestTombRaceRuns runs one seed of each plot without a planted bug: it
// passes, the scripted set and delete of the key are acknowledged with
// the delete stamped above the set (so a value taken back would be judged
// deleted), and a replay from the trace gives the same event hash.
func TestTombRaceRuns(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		p, notes := tombRaceSwarm.Draw(seed)
		res, err := Run(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass {
			t.Errorf("seed %d: %s: %s", seed, res.Verdict, res.Reason)
		}
		key := fmt.Sprintf("k%d", p.Script[0].Key)
		var set, del *linearize.Op
		for i := range res.History {
			op := &res.History[i]
			switch {
			case op.Key != key || op.Outcome != linearize.OK:
			case op.Kind == linearize.Set:
				set = op
			case op.Kind == linearize.Delete:
				del = op
			}
		}
		if set == nil || del == nil || !set.Version.Less(del.Version) || del.Call < set.Return {
			t.Errorf("seed %d: set %v, delete %v of %s; want both acknowledged, the delete after and above the set", seed, set, del, key)
		}
		if res.Stats.TombstonesDropped == 0 {
			t.Errorf("seed %d: no tombstone dropped", seed)
		}
		replayTrace(t, seed, "tomb-race", notes, res)
	}
}

// TestBatchRaceDraw: key a is on nodes 1-3 and not 4, key b and the
// batch's record on nodes 1 and 4; the partition cuts nodes 2 and 3 off
// just before the batch; scripted batches validate (and bad ones do not).
func TestBatchRaceDraw(t *testing.T) {
	r, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3, 4}, node.DefaultConfig(1).Vnodes))
	if err != nil {
		t.Fatal(err)
	}
	sw := Swarm{Nodes: 4, MaxClients: 2, MaxKeys: 8, Duration: 30 * time.Second, Liveness: 10 * time.Second, BatchRace: true}
	for seed := uint64(1); seed <= 20; seed++ {
		p, _ := sw.Draw(seed)
		if err := p.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		i := slices.IndexFunc(p.Script, func(s Step) bool { return s.Op == StepBatch })
		if i < 0 {
			t.Fatalf("seed %d: no batch in %v", seed, p.Script)
		}
		batch := p.Script[i]
		reps := func(key []byte) []uint16 { return r.Replicas(key, p.RF) }
		if a := reps(fmt.Appendf(nil, "k%d", batch.Key)); slices.Contains(a, 4) || !slices.Contains(a, 1) {
			t.Errorf("seed %d: key a is on %v; want nodes 1-3", seed, a)
		}
		for what, key := range map[string][]byte{"key b": fmt.Appendf(nil, "k%d", batch.Also[0]), "the record": store.RecordKey([]byte(batch.Token))} {
			if on := reps(key); !slices.Contains(on, 1) || !slices.Contains(on, 4) {
				t.Errorf("seed %d: %s is on %v; want nodes 1 and 4 among them", seed, what, on)
			}
		}
		if len(p.Faults) != 1 || p.Faults[0].Kind != Partition || !slices.Equal(p.Faults[0].Side, []int{2, 3}) || p.Faults[0].At >= batch.At {
			t.Errorf("seed %d: faults %v; want nodes 2 and 3 cut off just before the batch at %v", seed, p.Faults, batch.At)
		}
		for name, bad := range map[string]func(s *Step){
			"no token":      func(s *Step) { s.Token = "" },
			"no other keys": func(s *Step) { s.Also = nil },
			"its own key":   func(s *Step) { s.Also = []int{s.Key} },
			"a key too far": func(s *Step) { s.Also = []int{p.Keys} },
		} {
			q := p
			q.Script = slices.Clone(p.Script)
			bad(&q.Script[i])
			if q.Validate() == nil {
				t.Errorf("seed %d: a batch step with %s validates", seed, name)
			}
		}
		q := p
		q.Script = slices.Clone(p.Script)
		q.Script[0].Token = "x"
		if q.Validate() == nil {
			t.Errorf("seed %d: a set step with a token validates", seed)
		}
	}
}

// TestBatchRaceRuns: a batch-race seed passes without a planted bug, its
// batch aborts (a's intent met no quorum), and its trace replays.
func TestBatchRaceRuns(t *testing.T) {
	sw := Swarm{Nodes: 4, MaxClients: 2, MaxKeys: 8, Duration: 30 * time.Second, Liveness: 10 * time.Second, BatchRace: true}
	p, notes := sw.Draw(1)
	res, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Pass {
		t.Fatalf("%s: %s", res.Verdict, res.Reason)
	}
	i := slices.IndexFunc(res.History, func(op linearize.Op) bool { return op.Kind == linearize.Batch })
	if i < 0 || res.History[i].Outcome != linearize.Failed {
		t.Errorf("the batch: %v; want it aborted", res.History)
	}
	replayTrace(t, 1, "batch-race", notes, res)
}
