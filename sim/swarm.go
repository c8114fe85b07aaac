package sim

import (
	"github.com/memdb/memdb/net"

	"fmt"
	"math"
	"time"
)

// Swarm is a scenario's shape: what it fixes, and what each seed draws.
// Draw turns it and a seed into Params, switching fault kinds on and off
// and drawing every rate from the seed (swarm testing: each seed explores a
// different corner, rather than every seed running every fault at a
// middling rate).
type Swarm struct {
	Nodes      int           // fixed, or the fewest if MaxNodes is larger
	MaxNodes   int           // each seed draws Nodes..MaxNodes nodes, a replication factor and levels
	MaxClients int           // each seed draws 2..MaxClients clients (1 if MaxClients is 1)
	MaxKeys    int           // each seed draws 1..MaxKeys keys
	Duration   time.Duration // the fault phase
	Liveness   time.Duration // the bound after the heal
	Faults     []FaultKind   // the kinds this scenario may inject
	// Paxos makes every operation go through Paxos (serial reads, Paxos
	// puts and cas); Lock makes the clients contend for a lock with cas.
	Paxos bool
	Lock  bool
	// Counters adds increments and counter reads to the workload
	// (counter.go), their weights and keys drawn from the "counter"
	// stream; with CountersOnly they are the whole workload, each at a
	// level of its own.
	Counters     bool
	CountersOnly bool
	// Batches adds atomic batches to the workload (batch.go), their
	// weight drawn from the "batch" stream.
	Batches bool
	// MixBatches adds atomic batches to a scenario's own workload (churn
	// and chaos), drawn from the "batch" stream: on three seeds in four a
	// weight of 1-4 against the mix, each batch call's attempts waiting a
	// batch timeout of 2.5-5 s (Params.Client.BatchTimeout), longer than
	// the node's own deadlines for a batch (bug 55), while every other
	// operation keeps the seed's timeout and levels (a read at one is
	// promised no read atomicity, so the fractured-read check skips it).
	// The fourth seed draws no batches and runs as it did before batches.
	MixBatches bool
	// CrashAfter turns crash points on (crashpoint.go): each seed crashes
	// a node after it sends the first kind named here, and after each
	// further kind with probability 1/2, at a drawn rate, and restarts it
	// milliseconds later. MinRF, if set, is the least replication factor a
	// seed draws (a crash-prone acceptor matters only among three or
	// more). Both draw from the "crashpoint/swarm" stream.
	CrashAfter []string
	MinRF      int
	// Race sharpens a Paxos race (race.go); the zero Race is off.
	Race Race
	// Failover gives the clients Params.Client.Failover; it draws nothing.
	Failover bool
	// Tombstones makes the nodes drop tombstones (Params.TombstoneGrace)
	// under a workload heavy in deletes, with long faults besides the
	// drawn kinds (tombstone.go); it draws from the "tombstone" stream.
	Tombstones bool
	// TombRace plays one of the tombstone races (tombrace.go), which fixes
	// the cluster, the faults and a script; it draws from the "tombrace"
	// stream, after everything else.
	TombRace bool
	// BatchRace plays the batch race (batchrace.go), which fixes the
	// cluster, the fault and a script; it draws from the "batchrace"
	// stream, after everything else.
	BatchRace bool
	// Collect makes the nodes collect batch records and aborted markers
	// (Params.BatchRetention) after a retention of 16-20 s, over the
	// clients' batch deadline (three timeouts of at most 5 s); it draws
	// from the "collect" stream, after the faults.
	Collect bool
	// BatchGC plays the collection race (batchgc.go), which fixes the
	// cluster, the faults, a crash point and a script; it draws from the
	// "batchgc" stream, after everything else.
	BatchGC bool
}

// Draw returns the parameters for seed: every rate is drawn from the
// "params" stream and the schedule from the "faults" stream. Notes says, a
// line per fault kind, what the seed switched on.
func (s Swarm) Draw(seed uint64) (p Params, notes []string) {
	r := Stream(seed, "params")
	p = Params{Seed: seed, Nodes: s.Nodes, Duration: s.Duration, Liveness: s.Liveness}
	p.Clients = 1 + r.IntN(max(s.MaxClients, 1))
	if s.MaxClients >= 2 {
		p.Clients = 2 + r.IntN(s.MaxClients-1)
	}
	p.Keys = 1 + r.IntN(max(s.MaxKeys, 1))

	us := int64(time.Microsecond)
	ms := int64(time.Millisecond)
	p.Net = NetParams{
		LatencyFloor:  time.Duration(uniform(r, 20*us, 200*us)),
		LatencyMedian: time.Duration(uniform(r, 50*us, 3*ms)),
		LatencySigma:  math.Round(between(r, 0.1, 1.5)*100) / 100,
		LatencyMax:    200 * time.Millisecond,
		DetectMax:     time.Duration(uniform(r, ms, 300*ms)),
	}
	loss, dup := between(r, 0, 0.1), between(r, 0, 0.05)
	if r.IntN(2) == 0 {
		p.Net.Loss = math.Round(loss*1000) / 1000
	}
	if r.IntN(2) == 0 {
		p.Net.Dup = math.Round(dup*1000) / 1000
	}
	p.Client = ClientParams{
		ThinkMax: time.Duration(uniform(r, 0, 50*ms)),
		Timeout:  time.Duration(uniform(r, 100*ms, 2000*ms)),
		Backoff:  time.Duration(uniform(r, ms, 500*ms)),
		Mix:      [4]int{1 + r.IntN(10), 1 + r.IntN(10), r.IntN(5), r.IntN(5)},
	}
	p.Disk.SyncMin = time.Duration(uniform(r, 10*us, ms))
	p.Disk.SyncMax = p.Disk.SyncMin + time.Duration(uniform(r, 0, 20*ms))
	p.Disk.CompressPerKB = time.Duration(uniform(r, us, 100*us))
	p.Disk.SegmentSize = uniform(r, 1<<10, 64<<10)
	p.Disk.CompactMinBytes = uniform(r, 2<<10, 128<<10)

	// The cluster's shape comes from a stream of its own, so scenarios
	// that fix it draw exactly what they drew before it existed.
	p.RF = 1
	if s.MaxNodes > s.Nodes {
		c := Stream(seed, "cluster")
		p.Nodes = s.Nodes + c.IntN(s.MaxNodes-s.Nodes+1)
		p.RF = 1 + c.IntN(min(p.Nodes, 5))
		levels := [][2]net.Consistency{
			{net.Quorum, net.Quorum}, {net.Quorum, net.Quorum}, {net.One, net.All}, {net.All, net.One}, {net.One, net.One}, {net.One, net.Quorum},
		}
		l := levels[c.IntN(len(levels))]
		p.Client.ReadLevel, p.Client.WriteLevel = l[0], l[1]
	}
	if s.Paxos || s.Lock {
		// From a stream of its own too, like the cluster's shape.
		x := Stream(seed, "paxos")
		p.Client.Serial, p.Client.Lock = true, s.Lock
		p.Client.Mix[2] = 0
		p.Client.CAS = 1 + x.IntN(10)
		// Clients wait longer than a node's Paxos deadline (2 s), as real
		// ones should, so that most outcomes are the node's verdict —
		// contention is a definite failure — rather than a client's guess.
		p.Client.Timeout = time.Duration(uniform(x, int64(2500*time.Millisecond), int64(5*time.Second)))
	}
	if s.Counters || s.CountersOnly {
		// A stream of its own too: the rest of the draw is what it was
		// without counters.
		x := Stream(seed, "counter")
		p.Client.Counter = [2]int{1 + x.IntN(6), 1 + x.IntN(4)}
		p.Client.CounterKeys = 1 + x.IntN(4)
		p.Client.IncrDeadline = p.Client.Timeout * time.Duration(2+x.IntN(3))
		if s.CountersOnly {
			p.Client.Mix = [4]int{}
			p.Client.CounterLevels = true
		}
	}
	if s.Batches {
		// Reads at quorum or all, where read atomicity is promised.
		x := Stream(seed, "batch")
		p.Client.Batch = 1 + x.IntN(6)
		if p.Client.ReadLevel == net.One {
			p.Client.ReadLevel = []net.Consistency{net.Quorum, net.All}[x.IntN(2)]
		}
		// Clients wait longer than a node's deadlines here too, as in the
		// Paxos scenarios: a batch is decided by Paxos after its intents
		// had up to 1 s, and a read that finds an intent looks its record
		// up by Paxos, where one lost message costs a 0.5 s round. With
		// the plain scenarios' 0.1-2 s a client under steady loss gave up
		// on answers its node gave 1.55 s in, and completed nothing for
		// 15 s (batch seed 1370, PAPER bug 55).
		p.Client.Timeout = time.Duration(uniform(x, int64(2500*time.Millisecond), int64(5*time.Second)))
	}
	if s.MixBatches {
		// A stream of its own, drawn whether or not the seed batches.
		x := Stream(seed, "batch")
		on, weight := x.IntN(4) != 0, 1+x.IntN(4)
		timeout := time.Duration(uniform(x, int64(2500*time.Millisecond), int64(5*time.Second)))
		if on {
			p.Client.Batch, p.Client.BatchTimeout = weight, timeout
		}
	}
	p.Faults, notes = schedule(Stream(seed, "faults"), p, s.Faults)
	if s.Collect {
		x := Stream(seed, "collect")
		p.BatchRetention = time.Duration(between(x, 16, 20) * float64(time.Second)).Round(time.Millisecond)
		notes = append(notes, fmt.Sprintf("collect: batch records and aborted markers collected after %v", p.BatchRetention))
	}
	if s.Tombstones {
		notes = append(notes, drawTombstones(seed, &p)...)
	}
	if len(s.CrashAfter) > 0 || s.MinRF > 0 {
		notes = append(notes, s.drawCrashPoint(seed, &p))
	}
	if s.Race.on() {
		notes = append(notes, s.Race.draw(seed, &p)...)
	}
	if s.TombRace {
		notes = append(notes, drawTombRace(seed, &p)...)
	}
	if s.BatchRace {
		notes = append(notes, drawBatchRace(seed, &p)...)
	}
	if s.BatchGC {
		notes = append(notes, drawBatchGC(seed, &p)...)
	}
	p.Client.Failover = s.Failover
	return p, notes
}

// Describe is a one-line summary of the shape, for scenario lists.
func (s Swarm) Describe() string {
	return fmt.Sprintf("%d node(s), ≤%d clients, ≤%d keys, faults %v for %v", s.Nodes, s.MaxClients, s.MaxKeys, s.Faults, s.Duration)
}
