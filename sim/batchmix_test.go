package sim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/memdb/memdb/linearize"
)

// mixSwarm is chaos's shape with batches mixed in (scenarios.go).
var mixSwarm = Swarm{
	Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
	Duration: 20 * time.Second, Liveness: 15 * time.Second,
	Faults:   []FaultKind{Crash, Break, Slow, Partition, Disk, Join, Leave, Skew, Pause, Jump, Clog, Wipe, Remove, Corrupt, Majorities},
	Counters: true, MixBatches: true,
}

// TestMixBatchesLeavesOtherDrawsAlone: batches in a scenario's own
// workload draw from their own stream, so a seed draws the same shape,
// levels, timeouts and faults with or without them; about one seed in
// four draws none, and the others a weight of 1-4 and a batch timeout of
// 2.5-5 s.
func TestMixBatchesLeavesOtherDrawsAlone(t *testing.T) {
	plain := mixSwarm
	plain.MixBatches = false
	none := 0
	for seed := uint64(1); seed <= 400; seed++ {
		p, _ := plain.Draw(seed)
		q, _ := mixSwarm.Draw(seed)
		ignore := cmpopts.IgnoreFields(ClientParams{}, "Batch", "BatchTimeout")
		if diff := cmp.Diff(p, q, ignore); diff != "" {
			t.Fatalf("seed %d: batches changed other draws (-without +with):\n%s", seed, diff)
		}
		c := q.Client
		switch {
		case c.Batch == 0 && c.BatchTimeout == 0:
			none++
		case c.Batch < 1 || c.Batch > 4 || c.BatchTimeout < 2500*time.Millisecond || c.BatchTimeout > 5*time.Second:
			t.Fatalf("seed %d: batch weight %d, timeout %v", seed, c.Batch, c.BatchTimeout)
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	if none < 60 || none > 140 {
		t.Errorf("%d of 400 seeds drew no batches; want about a quarter", none)
	}
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		a, _ := mixSwarm.Draw(seed)
		b, _ := mixSwarm.Draw(seed)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("seed %d: drawing twice differs:\n%s", seed, diff)
		}
	})
}

// TestBatchTimeout: with a batch timeout, a batch's attempts wait it (and
// its call retries for batchDeadline of them) while every other operation
// waits the client timeout; a scripted step's own timeout still wins.
func TestBatchTimeout(t *testing.T) {
	w := &world{p: Params{Client: ClientParams{Timeout: 300 * time.Millisecond, BatchTimeout: 3 * time.Second}}}
	cl := &client{w: w}
	if got := cl.opTimeout(false); got != 300*time.Millisecond {
		t.Errorf("a plain op waits %v; want the client timeout", got)
	}
	if got := cl.opTimeout(true); got != 3*time.Second {
		t.Errorf("a batch waits %v; want the batch timeout", got)
	}
	if got := cl.batchTimeout(); got != 3*time.Second {
		t.Errorf("a resent batch waits %v; want the batch timeout", got)
	}
	w.p.Client.BatchTimeout = 0
	if got, got2 := cl.opTimeout(true), cl.batchTimeout(); got != 300*time.Millisecond || got2 != got {
		t.Errorf("without a batch timeout a batch waits %v, resent %v; want the client timeout", got, got2)
	}
	cl.script, cl.stepTimeout = []Step{{}}, time.Second
	if got := cl.opTimeout(true); got != time.Second {
		t.Errorf("a scripted batch waits %v; want its step's timeout", got)
	}
}

// TestMixBatchesRun runs a chaos-shaped seed that draws batches: some
// commit, the batch checkers and every other check pass.
func TestMixBatchesRun(t *testing.T) {
	seed := uint64(3)
	p, _ := mixSwarm.Draw(seed)
	if p.Client.Batch == 0 {
		t.Fatalf("seed %d draws no batches; pick another", seed)
	}
	res, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Pass {
		t.Fatalf("%s: %s", res.Verdict, res.Reason)
	}
	committed := 0
	for _, op := range res.History {
		if op.Kind == linearize.Batch && op.Outcome == linearize.OK {
			committed++
		}
	}
	if committed == 0 {
		t.Errorf("no batch committed in %d operations", len(res.History))
	}
}
