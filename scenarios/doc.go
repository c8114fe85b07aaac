// Package scenarios is the catalogue of simulated workloads × fault
// schedules × checkers, shared by `go test ./scenarios` and memdb-sim.
//
// A Scenario has a name, a one-line description and a Swarm: the shape of
// the world it fixes and the fault kinds it may inject. Each seed draws its
// own parameters and schedule from the shape (sim.Swarm.Draw), and Run runs
// and judges it.
//
// Counters: the counter scenario's clients only increment counters (by
// ±5^i, retried with their operation id) and read them, each operation at
// a level of its own, under the cluster's faults; churn and chaos mix
// counters into their register workload, under every fault kind, at the
// seed's write and read levels. Counter keys (c0, c1, ...) are never
// written as registers. The exact-counting checker (sim/counter_check.go)
// decodes every observed value and every replica's final state. The other
// scenarios draw no counter parameters, so their runs are what they were.
//
// read-race (issue 19) is cas-race's counterpart for plain reads: three
// nodes, rf 3, quorum reads and writes of one key over uneven, lossy
// links, where a write or a read repair often reaches one replica alone —
// the window in which a quorum read that answers before its repairs are
// acknowledged is followed by one that misses what it returned (the
// monotonic reads checker, sim/guarantees.go).
//
// tombstone (issue 22) is the one scenario whose nodes drop tombstones
// (node/grave.go): a grace of 3-12 s of virtual time, anti-entropy every
// 0.5-4 s, 16-115 keys that slow clients set, delete, read and now and
// then compare-and-set (sets and deletes outweigh reads), under chaos's
// faults plus one to three partitions, crashes or pauses of 0.6-2.5
// graces, for 40 s and a 20 s liveness window. Its checkers
// (sim/tombstone_check.go): no node takes back a deleted value after it
// held the tombstone that deleted it, none is on a replica after heal, and
// the others (visibility, monotonic reads, at rest, convergence, catch-up)
// count a dropped tombstone as the absence it stood for. Every other
// scenario keeps every tombstone, so its runs are what they were.
//
// Batches (issue 15): the batch scenario's clients mix atomic batches of
// 2-4 register keys into plain reads and writes at quorum or all, with
// chaos's faults; churn and chaos mix them in too, on three seeds in
// four (a weight of 1-4 drawn from the seed's "batch" stream), at the
// seed's own levels, each batch attempt waiting 2.5-5 s (longer than a
// batch's own deadlines) while every other operation keeps the seed's
// timeout. The batch checkers (sim/batch_check.go: no aborted value read,
// no fractured read above level one, all or nothing and no undecided
// intent after heal) judge every run that has batches. The fourth churn
// or chaos seed draws none and runs as it did before batches.
//
// batch-race (issue 15) is batch's: one batch through a coordinator just
// as the other two replicas of one of its keys are cut off, with the
// other key and the batch's record on the coordinator's side, then a
// quorum read of each key from either side (sim/batchrace.go); intents
// written at level one give a fractured read there on every seed.
//
// batch-collect is batch run for 40 s with the nodes collecting batch
// records and aborted markers after a retention of 16-20 s
// (node/batchgc.go): batch's checks with collection under way, under
// chaos's faults.
//
// batch-gc (issue 15) is the plot for the collection of batch records and
// aborted markers (node/batchgc.go; a retention of 16-20 s):
// one batch whose first key's three replicas are cut off from the rest
// (the batch's other key, its record, its coordinator) after its intents
// and before its resolution, for the retention and 5 s, then quorum reads
// of both keys after the heal (sim/batchgc.go). A record collected
// without asking the keys' replicas (batch-record-unchecked) is gone when
// they come back, and they abort the batch: a fractured read, or not all
// or nothing after heal, on every seed; kept until they hold the batch,
// it is collected after the heal.
//
// tomb-race (issue 22) is tombstone's cas-race: four planted bugs of the
// tombstone rule (tombstone-hints-kept, -stale-clean, -floor-forgotten,
// -stale-taken) need a node away for about a grace across a delete with
// one particular operation waiting on the far side of it, which no random
// tombstone seed lines up. Each tomb-race seed plays one of four plots
// (seed mod 4) on
// one key of three nodes at replication factor 2, with scripted clients
// (sim/script.go) doing that key's operations at set times through set
// nodes and two random clients keeping the other keys busy; its faults are
// the plot's alone: a pause of the node that holds no copy of the key and,
// in two plots, a partition of one replica (sim/tombrace.go says what
// each plot does and why it is one a deployment can meet).
//
//	go test ./scenarios                  the CI set (fixed seeds, well under a minute)
//	go test ./scenarios -seed=N          every scenario at seed N
//	go test ./scenarios -seed=N -seeds=K every scenario at seeds N..N+K-1
//	go run ./cmd/memdb-sim run -scenario NAME -seed N   the same run, with a trace
package scenarios
