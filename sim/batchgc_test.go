package sim

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

var batchGCSwarm = Swarm{Nodes: 6, MaxClients: 1, MaxKeys: 8, Duration: 30 * time.Second, Liveness: 10 * time.Second, BatchGC: true}

// TestBatchGCDraw: key a is on nodes 1-3, key b and the batch's record on
// nodes 4-6; the cut separates them for longer than the retention; the
// nodes collect records, and the retention exceeds the clients' batch
// deadline.
func TestBatchGCDraw(t *testing.T) {
	r, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3, 4, 5, 6}, node.DefaultConfig(1).Vnodes))
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 16; seed++ {
		p, _ := batchGCSwarm.Draw(seed)
		if err := p.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var batch Step
		for _, s := range p.Script {
			if s.Op == StepBatch {
				batch = s
			}
		}
		within := func(key []byte, side ...uint16) bool {
			return !slices.ContainsFunc(r.Replicas(key, p.RF), func(id uint16) bool { return !slices.Contains(side, id) })
		}
		if !within(fmt.Appendf(nil, "k%d", batch.Key), 1, 2, 3) || !within(fmt.Appendf(nil, "k%d", batch.Also[0]), 4, 5, 6) ||
			!within(store.RecordKey([]byte(batch.Token)), 4, 5, 6) || batch.Node < 4 {
			t.Errorf("seed %d: batch %v (token %s) is not laid out as the plot needs", seed, batch, batch.Token)
		}
		if len(p.Faults) != 1 || p.Faults[0].For <= p.BatchRetention {
			t.Errorf("seed %d: faults %v, retention %v: want one cut longer than the retention", seed, p.Faults, p.BatchRetention)
		}
		if deadline := 3 * p.Client.Timeout; p.BatchRetention <= deadline {
			t.Errorf("seed %d: retention %v within the clients' batch deadline %v", seed, p.BatchRetention, deadline)
		}
	}
}

// TestBatchGCRuns runs a few seeds without a planted bug: each passes, and
// the batch's record is collected by its three replicas once the cut key's
// replicas hold the batch; with the nodes keeping records, they hold it.
func TestBatchGCRuns(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		p, notes := batchGCSwarm.Draw(seed)
		res, err := Run(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass {
			t.Errorf("seed %d: %s: %s", seed, res.Verdict, res.Reason)
		}
		if res.Stats.RecordsDropped != 3 || res.Stats.RecordsAtEnd != 0 {
			t.Errorf("seed %d: %d records collected, %d held at the end; want 3, 0", seed, res.Stats.RecordsDropped, res.Stats.RecordsAtEnd)
		}
		replayTrace(t, seed, "batch-gc", notes, res)
		p.BatchRetention = 0
		if res, err = Run(p, Options{}); err != nil {
			t.Fatal(err)
		} else if res.Verdict != Pass || res.Stats.RecordsAtEnd != 3 {
			t.Errorf("seed %d keeping records: %s, %d held at the end; want a pass, 3", seed, res.Verdict, res.Stats.RecordsAtEnd)
		}
	}
}
