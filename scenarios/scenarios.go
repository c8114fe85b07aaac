package scenarios

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/sim"
)

// Scenario is one named simulation.
type Scenario struct {
	Name        string
	Description string // one line
	Swarm       sim.Swarm
}

// ErrUnknown means no scenario has the name asked for.
var ErrUnknown = errors.New("unknown scenario")

// The fault kinds of the multi-node scenarios. Each list extends the one
// before it at the end: a seed draws kinds in list order, so a chaos seed
// draws the faults of the same churn seed, and those of the same cluster
// seed, before its own.
var (
	clusterFaults = []sim.FaultKind{sim.Crash, sim.Break, sim.Slow, sim.Partition, sim.Disk}
	churnFaults   = slices.Concat(clusterFaults, []sim.FaultKind{sim.Join, sim.Leave, sim.Skew})
	chaosFaults   = slices.Concat(churnFaults, []sim.FaultKind{sim.Pause, sim.Jump, sim.Clog, sim.Wipe, sim.Remove, sim.Corrupt, sim.Majorities})
)

var all = []Scenario{
	{
		Name:        "single-node",
		Description: "2-6 clients on one node under crashes (unsynced writes lost or torn), fsync errors, a full disk, log rolls and compactions, connection breaks and slow links; linearizable and durable per key",
		Swarm: sim.Swarm{
			Nodes: 1, MaxClients: 6, MaxKeys: 5,
			Duration: 20 * time.Second, Liveness: 5 * time.Second,
			Faults: []sim.FaultKind{sim.Crash, sim.Break, sim.Slow, sim.Disk},
		},
	},
	{
		Name:        "cluster",
		Description: "3-7 nodes joining at start, random replication factor and levels, 2-8 clients on every node under crashes, partitions of every kind, loss, duplication, slow links and disk faults; quorum visibility and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults: clusterFaults,
		},
	},
	{
		Name:        "cas",
		Description: "3-7 nodes joining at start, random replication factor, 2-8 clients doing cas, serial reads and Paxos puts on every node under crashes, partitions, loss, duplication, slow links and disk faults; linearizable per key (Porcupine) and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxNodes: 7, MaxClients: 8, MaxKeys: 4,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults: clusterFaults,
			Paxos:  true,
		},
	},
	{
		Name:        "cas-crash",
		Description: "3-5 nodes, replication factor 3-5, 2-8 clients doing cas, serial reads and Paxos puts on 1-2 keys while nodes crash right after sending a promise (some seeds: an acceptance too) and restart milliseconds later, besides crashes, connection breaks, slow links and disk faults; linearizable per key (Porcupine) and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxNodes: 5, MaxClients: 8, MaxKeys: 2,
			Duration: 6 * time.Second, Liveness: 10 * time.Second,
			Faults:     []sim.FaultKind{sim.Crash, sim.Break, sim.Slow, sim.Disk},
			Paxos:      true,
			CrashAfter: []string{"promise", "accepted"},
			MinRF:      3,
		},
	},
	{
		Name:        "counter",
		Description: "3-7 nodes joining at start, random replication factor, 2-8 clients incrementing counters by ±5^i (each call retried with its operation id to the same node until its deadline) and reading them, each at one, quorum or all, under crashes, partitions of every kind, loss, duplication, slow links and disk faults; every observed value decodes to each increment counted at most once, acknowledged ones where visibility demands, and every replica exact after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxNodes: 7, MaxClients: 8, MaxKeys: 1,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults:       clusterFaults,
			CountersOnly: true,
		},
	},
	{
		Name:        "churn",
		Description: "4-7 nodes, one or two of them joining mid-run and one leaving (decommissioned), random replication factor and levels, 2-8 clients, with registers, counters (increments at the write level, reads at the read level) and, on three seeds in four, atomic batches of 2-4 keys, under crashes, partitions, loss, duplication, slow links, disk faults and clocks running 0.25-4x; quorum visibility, exact counters, no aborted value read, no fractured read above level one, all or nothing and no undecided intent after heal, and convergence",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults:     churnFaults,
			Counters:   true,
			MixBatches: true,
		},
	},
	{
		Name:        "cas-churn",
		Description: "4-7 nodes, one or two of them joining mid-run and one leaving, 2-8 clients doing cas, serial reads and Paxos puts under crashes, partitions, loss, duplication, slow links, disk faults and clocks running 0.25-4x; linearizable per key (Porcupine) and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 4,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults: churnFaults,
			Paxos:  true,
		},
	},
	{
		Name:        "chaos",
		Description: "churn's cluster, workload and faults, plus processes paused (1 ms-10 s: deliveries, timers and requests wait, nothing lost), clocks jumping forward (1 ms-30 s: overdue timers fire at once) and clogged links (10 ms-5 s: messages held, then delivered in order) and, where every write is on two replicas or more, one node's disk wiped or a bit flipped in its log (it must rebuild from its replicas) one node dead for good and removed by an operator, and majorities-ring partitions; churn's checks, batches' among them",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults:     chaosFaults,
			Counters:   true,
			MixBatches: true,
		},
	},
	{
		Name:        "batch",
		Description: "chaos's cluster and faults (joins, leaves, a removal, a wipe, crashes, pauses, partitions, loss, clock jumps, disk faults), 2-8 clients writing atomic batches of 2-4 keys (some deletes) among plain reads and writes at random levels; no aborted value read, no fractured read at quorum, quorum visibility of acknowledged batches, all or nothing and no undecided intent after heal, and convergence",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults:  chaosFaults,
			Batches: true,
		},
	},
	{
		Name:        "tombstone",
		Description: "chaos's cluster and faults (joins, leaves, a removal, a wipe, crashes, pauses, partitions, loss, clock skew and jumps, disk faults) plus one to three long partitions, crashes or pauses of about one to two graces, nodes dropping tombstones after a grace of 4-15 s with anti-entropy every 0.5-4 s, 2-8 slow clients setting, deleting, reading and now and then compare-and-setting 16-115 keys (sets and deletes outweigh reads) for 40 s; no deleted value taken back by a node that held its tombstone or left on a replica after heal, quorum visibility, monotonic reads, sessions and convergence, a dropped tombstone counting as the absence it stood for",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 6,
			Duration: 40 * time.Second, Liveness: 20 * time.Second,
			Faults:     chaosFaults,
			Tombstones: true,
		},
	},
	{
		Name:        "tomb-race",
		Description: "3 nodes, replication factor 2, a grace of 8-10 s and anti-entropy every 0.5-1 s; 2 random clients on nodes 1 and 2 keep every other key busy while scripted clients play one of four plots on a key node 3 holds no copy of (by seed mod 4): a hint node 3 holds for a replica while it is paused across a delete and its tombstone's grace; a delete node 3 stamps as it wakes from a pause, below the horizon of its replicas' last comparison, while one replica is cut off for a grace; a compare-and-set, or a plain set, node 3 stamps or draws its ballot for as it wakes from a pause across a delete and its grace; no deleted value taken back or left at rest, quorum visibility, sessions and convergence",
		Swarm: sim.Swarm{
			Nodes: 3, MaxClients: 2, MaxKeys: 8,
			Duration: 30 * time.Second, Liveness: 10 * time.Second,
			TombRace: true,
		},
	},
	{
		Name:        "batch-race",
		Description: "4 nodes, replication factor 3; a batch of two keys through node 1 just as the two other replicas of one of them are cut off (before node 1 suspects them), the batch's record and the other key on node 1 and node 4; then a quorum read of each key from either side; 2 random clients reading at quorum; no fractured read, no aborted value read",
		Swarm: sim.Swarm{
			Nodes: 4, MaxClients: 2, MaxKeys: 8,
			Duration: 30 * time.Second, Liveness: 10 * time.Second,
			BatchRace: true,
		},
	},
	{
		Name:        "batch-collect",
		Description: "batch's cluster, faults and workload, run for 40 s, with the nodes collecting batch records and aborted markers after a retention of 16-20 s (over the clients' batch deadline); batch's checks (no aborted value read, no fractured read at quorum, all or nothing and no undecided intent after heal) and convergence",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
			Duration: 40 * time.Second, Liveness: 15 * time.Second,
			Faults:  chaosFaults,
			Batches: true,
			Collect: true,
		},
	},
	{
		Name:        "batch-gc",
		Description: "6 nodes, replication factor 3, batch records collected after a retention of 16-20 s, anti-entropy every second; a batch of a key on nodes 1-3 and one on nodes 4-6 (with its record) through one of nodes 4-6, nodes 1-3 cut off from 4-6 after its intents and before its resolution, for the retention and 5 s (its resolution of the first key waits in hints that expire, the record is on the other side); quorum reads of both keys after the heal; 1 random client reading at quorum; no fractured read, all or nothing after heal, the record collected once the first key's replicas hold the batch",
		Swarm: sim.Swarm{
			Nodes: 6, MaxClients: 1, MaxKeys: 8,
			Duration: 30 * time.Second, Liveness: 10 * time.Second,
			BatchGC: true,
		},
	},
	{
		Name:        "cas-chaos",
		Description: "cas-churn's cluster, Paxos workload and faults, plus processes paused (1 ms-10 s), clocks jumping forward (1 ms-30 s), clogged links (10 ms-5 s) and, with rf 3 and up, one node's disk wiped or a bit flipped in its log, one dead for good and removed, and majorities-ring partitions; linearizable per key (Porcupine) and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 4,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults: chaosFaults,
			Paxos:  true,
		},
	},
	{
		Name:        "lock",
		Description: "3-7 nodes, 2-8 clients contending for one lock with serial reads and cas (take if free, hold, release) under the cluster's faults; mutual exclusion and linearizability",
		Swarm: sim.Swarm{
			Nodes: 3, MaxNodes: 7, MaxClients: 8, MaxKeys: 1,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults: clusterFaults,
			Lock:   true,
		},
	},
	{
		Name:        "failover",
		Description: "cluster's shape, workload and faults with clients that route and fail over as the client package does: each operation to its key's first replica on the ring the client last learned, then the other nodes (those that refused or broke a connection last), a read of unknown outcome sent again to the next node until 3 timeouts after its call, a write never; quorum visibility, monotonic quorum reads, sessions and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxNodes: 7, MaxClients: 8, MaxKeys: 8,
			Duration: 20 * time.Second, Liveness: 15 * time.Second,
			Faults:   clusterFaults,
			Failover: true,
		},
	},
	{
		Name:        "read-race",
		Description: "3 nodes, replication factor 3, 2-3 clients on nodes 1-3 reading and writing one key at quorum once the cluster has formed (8 s), over uneven links (0-10 ms extra per direction), 6-12% message loss and think times under 2 ms; quorum visibility, monotonic quorum reads and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxClients: 3, MaxKeys: 1,
			Duration: 14 * time.Second, Liveness: 5 * time.Second,
			Race: sim.Race{
				Warmup:    8 * time.Second,
				LinkDelay: 10 * time.Millisecond,
				ThinkMax:  2 * time.Millisecond,
				RF:        3,
				Levels:    [2]net.Consistency{net.Quorum, net.Quorum},
				Loss:      0.12,
			},
		},
	},
	{
		Name:        "cas-race",
		Description: "3 nodes, replication factor 3, 2 clients on nodes 1 and 2 racing with cas and serial reads on one key once the cluster has formed (8 s), while node 3 crashes right after sending a promise (a quarter to all of the time) and restarts within 1 ms, over uneven links (0-10 ms extra per direction), fast syncs and short think times; linearizable (Porcupine) and convergence after heal",
		Swarm: sim.Swarm{
			Nodes: 3, MaxClients: 2, MaxKeys: 1,
			Duration: 14 * time.Second, Liveness: 5 * time.Second,
			Paxos:      true,
			CrashAfter: []string{"promise"},
			MinRF:      3,
			Race: sim.Race{
				Warmup:    8 * time.Second,
				LinkDelay: 10 * time.Millisecond,
				CrashRate: 1,
				CrashDown: time.Millisecond,
				CrashIdle: true,
				ThinkMax:  5 * time.Millisecond,
				SyncMax:   time.Millisecond,
				NoPuts:    true,
			},
		},
	},
}

// All returns every scenario, sorted by name.
func All() []Scenario {
	s := slices.Clone(all)
	slices.SortFunc(s, func(a, b Scenario) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, error) {
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("%w %q (known: %v)", ErrUnknown, name, names)
}

// Params returns the parameters seed draws, and notes on what the seed's
// swarm switched on.
func (s Scenario) Params(seed uint64) (sim.Params, []string) { return s.Swarm.Draw(seed) }

// Run runs the scenario at seed.
func (s Scenario) Run(seed uint64, o sim.Options) (sim.Result, []string, error) {
	p, notes := s.Params(seed)
	res, err := sim.Run(p, o)
	return res, notes, err
}
