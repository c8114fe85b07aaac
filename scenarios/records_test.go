package scenarios

import (
	"flag"
	"testing"
	"time"

	"github.com/memdb/memdb/sim"
)

var (
	recordsFlag = flag.Int("records.seeds", 0, "measure batch records held at the end of this many seeds of batch, churn and chaos, with and without their collection (TestBatchRecordsHeld)")
	recordsTail = flag.Duration("records.tail", 0, "with -records.seeds, lengthen each run's time after the heal by this much")
)

// TestBatchRecordsHeld measures what batch records' collection
// (node/batchgc.go) leaves: each seed of the batch scenario, and of churn
// and chaos (which mix batches in), runs as it is (every record kept) and
// again with the nodes collecting records after a retention of 16 s (over
// the clients' batch deadline, three timeouts of at most 5 s); it logs
// the records and aborted markers held at the end and collected, and fails
// if a run that passes without collection fails with it. -records.tail
// lengthens the time after the heal (the clients go on writing through
// it), so that more records outlive the retention. A measurement, not a
// CI test:
// go test ./scenarios -run TestBatchRecordsHeld -records.seeds 16 [-records.tail 30s] -v
func TestBatchRecordsHeld(t *testing.T) {
	if *recordsFlag == 0 {
		t.Skip("a measurement: -records.seeds N")
	}
	for _, name := range []string{"batch", "churn", "chaos"} {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		var keptSum, heldSum, droppedSum, runs, mKept, mHeld, mDropped int
		for seed := uint64(1); seed <= uint64(*recordsFlag); seed++ {
			p, _ := s.Params(seed)
			if p.Client.Batch == 0 {
				continue
			}
			p.Liveness += *recordsTail
			off, err := sim.Run(p, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			p.BatchRetention = 16 * time.Second
			on, err := sim.Run(p, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			runs++
			keptSum += off.Stats.RecordsAtEnd
			heldSum += on.Stats.RecordsAtEnd
			droppedSum += int(on.Stats.RecordsDropped)
			mKept, mHeld, mDropped = mKept+off.Stats.MarkersAtEnd, mHeld+on.Stats.MarkersAtEnd, mDropped+int(on.Stats.MarkersDropped)
			t.Logf("%s seed %d: without collection %s, %d records and %d markers held; with it %s, %d and %d held, %d and %d collected",
				name, seed, off.Verdict, off.Stats.RecordsAtEnd, off.Stats.MarkersAtEnd, on.Verdict, on.Stats.RecordsAtEnd, on.Stats.MarkersAtEnd, on.Stats.RecordsDropped, on.Stats.MarkersDropped)
			if off.Verdict == sim.Pass && on.Verdict != sim.Pass && on.Verdict != sim.Undecided {
				t.Errorf("%s seed %d fails with records collected: %s: %s", name, seed, on.Verdict, on.Reason)
			}
		}
		t.Logf("%s: %d seeds with batches: %d records held at the end without collection, %d with it (%d collected); markers %d, %d (%d collected)",
			name, runs, keptSum, heldSum, droppedSum, mKept, mHeld, mDropped)
	}
}

// TestBatchCollectCollects: batch-collect's nodes do collect, on most
// seeds, records and (where batches abort) markers, so that its checks
// judge runs with collection under way, not runs that only could.
func TestBatchCollectCollects(t *testing.T) {
	s, err := Lookup("batch-collect")
	if err != nil {
		t.Fatal(err)
	}
	collected := 0
	const seeds = 8
	for seed := uint64(1); seed <= seeds; seed++ {
		res, _, err := s.Run(seed, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %s; %d records held at the end, %d collected; %d markers held, %d collected",
			seed, res.Verdict, res.Stats.RecordsAtEnd, res.Stats.RecordsDropped, res.Stats.MarkersAtEnd, res.Stats.MarkersDropped)
		if res.Stats.RecordsDropped > 0 {
			collected++
		}
	}
	if collected < seeds/2 {
		t.Errorf("records collected on %d of %d seeds, want half or more", collected, seeds)
	}
}
