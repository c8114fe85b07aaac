// Package sim is the simulated host: it runs memdb nodes, unchanged, in one
// goroutine with virtual time, a simulated network and disk, simulated
// clients and a fault schedule, all driven by one seed, and judges each run.
//
// # Determinism
//
// A run is a function of its Params (seed included) and the code. The root
// seed is split by Stream into named, independent PRNG streams, so how much
// one component draws never shifts another. Events sit in a min-heap
// ordered by (virtual time, scheduling sequence), so simultaneous events run
// in a fixed order. Every event processed is folded into an FNV-1a 64 event
// hash (time, kind, node, connection or client, message bytes); the same
// Params give the same hash on every machine, and a test runs seeds twice
// to prove it. Nothing hashed or decided depends on the wall clock or on
// map iteration order; node logs carry virtual time.
//
// # The world
//
// Each machine hosts a Process (a *node.Node by default) built from an Env:
// a virtual clock whose timers are events, a transport onto the simulated
// network, an in-memory disk (disk.Mem) whose completions are events, a
// PRNG stream and a logger. A crash drops the process, bumps nothing the
// dead incarnation could still reach (its timers, disk completions and
// deliveries check the incarnation and do nothing), breaks its client
// connections and power-fails its disk. A restart builds a fresh process on
// the same disk, which replays its operation log: with fsync=always every
// acknowledged write survives, and the checker holds the node to that.
//
// Messages cross the network encoded: the sender's frame is net.Encode'd,
// the bytes are queued, and at delivery they are net.Decode'd, so the codec
// runs on every message and no node can alias another's memory. Peer
// messages are datagrams: lognormal latency above a floor, loss,
// duplication, reordering (each copy draws its latency) and partitions,
// symmetric or one-way. Client connections are TCP-like: FIFO and reliable
// until broken, by a fault or a crash; then both sides learn of it after a
// delay, a client's in-flight request becomes an unknown outcome, and the
// client reconnects after a backoff. Requests to a crashed node are lost
// with its connections; replies to a closed connection are dropped.
//
// # Faults
//
// A Fault is one scheduled event of a FaultKind (fault.go): a crash and
// restart (unsynced writes lost or torn), a broken client connection, slow
// links, partitions (symmetric, one-way, any side), disk faults (fsync
// errors, a full disk), a join or a leave, clock skew (a rate), a process
// pause (pause.go), a forward clock jump (jump.go), a clogged link
// (clog.go) and a wiped disk (a node that must rebuild its state from its
// replicas). Crash points (crashpoint.go) crash a node right after it sends
// a chosen message; uneven links (links.go) keep one acceptor behind.
//
// # A run
//
// Run runs the fault phase (Params.Duration) with the workload on, then
// heals everything (restarts crashed nodes, ends partitions, slow and
// clogged links and pauses, sets clocks running true), runs the liveness window (Params.Liveness), stops the workload
// and lets in-flight operations return or time out. Then it judges: a panic
// in node code is verdict Panic; a history Porcupine cannot linearize (see
// package linearize), a lost acknowledged write, or a counter value that
// counts an increment twice, loses an acknowledged one or counts a failed
// one (counter_check.go), is Safety; a client
// that completed nothing in the liveness window, replicas that did not
// converge, or membership that stopped moving, is Liveness. A run that
// every checker passes but whose linearizability search of some key ran
// out of its step budget (Options.CheckSteps: counted, never timed) is
// Undecided: not a pass, and the same on every machine.
//
// Besides quorum visibility and convergence (cluster.go), guarantees.go
// checks monotonic quorum reads, that nothing acknowledged is lost or
// deleted comes back once the cluster is at rest, and that a restarted
// node replays what its store held when it lost power; catchup.go checks
// what a restarted node's catch-up promises when it reports done;
// tombstone_check.go, in a run whose nodes drop tombstones (tombstone.go),
// that no deleted value comes back. They only observe: no event hash
// depends on them.
//
// Swarm.Draw derives Params from a seed: each seed switches fault kinds on
// or off and draws every rate, and the schedule is drawn up front, so a
// trace (Trace) holds the schedule itself and a replay does not depend on
// how it was drawn.
package sim
