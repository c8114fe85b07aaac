package node

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/coord"
	"github.com/memdb/memdb/node/counter"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/grave"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/paxos"
	"github.com/memdb/memdb/node/paxos/repair"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
)

// Node is one memdb node. Its methods must be called from one goroutine (or
// the simulator's single thread), one at a time; see the package doc.
type Node struct {
	cfg     Config
	env     Env
	lamport *clock.Lamport
	store   *store.Store
	log     *oplog.Log
	started bool
	stopped bool
	// bootTime is when the node started, by its clock.
	bootTime time.Time
	// lease is the Lamport counter this node may stamp up to (stamp, below);
	// leaseWaiters wait for a renewal in flight.
	lease        uint64
	renewing     bool
	leaseWaiters []func(clock.Timestamp)
	// gossip knows the members; known is the record of each the node has
	// logged (at boot, what the log held); view is the ring built from
	// them.
	gossip *gossip.Gossip
	known  map[uint16]gossip.Member
	view   view.View
	ticks  uint64
	// marks is, per origin, the highest counter among the writes this node
	// has logged; bootMarks is what it was at boot, what catch-up asks past.
	marks     map[uint16]uint64
	bootMarks []net.Mark
	// ops are the requests this node coordinates; calls are its requests
	// to single peers; both are keyed by the id their frames carry, drawn
	// from nextOp. hints are writes held for replicas (node/coord).
	nextOp uint64
	ops    *coord.Ops
	calls  map[uint64]*call
	hints  *coord.Hints
	// behind counts the writes written behind (batch.go's writeBehind)
	// still waiting for a replica's answer.
	behind int
	// waiting are the callbacks of requests the node made of itself
	// (move.go), by request id.
	waiting map[uint64]func(net.Message)
	// life is where the node stands in its own life (lifecycle.go).
	life Life
	// sourceTurn counts failed catch-ups, to pull from other owners next;
	// streams runs the node's streams and comparisons (stream.go).
	sourceTurn int
	streams    *stream.Driver
	// repairs runs Paxos repair (node/paxos/repair).
	repairs *repair.Driver
	// removing are the members this node is removing, and taking the Takes
	// it runs for a remover, with who waits for each (remove.go).
	removing map[uint16]bool
	taking   map[string][]func(bool)
	// acceptors is this node's Paxos acceptor state, by key, for keys with
	// a round in flight (acceptor.go).
	acceptors *paxos.Acceptors
	// compacting is true while a compaction runs; compactWaiters are told
	// when it ends; logAtCompact is the log's appended bytes when the last
	// one started, to measure growth since.
	compacting     bool
	compactWaiters []func(CompactResult, error)
	logAtCompact   int64
	// unapplied are the writes appended to the log whose commit has not
	// run yet (so they are not in the store), and the records of the
	// increments this node leads until they are synced, by batch; a
	// compaction's base must include them, since it replaces the segments
	// holding them.
	unapplied     map[uint64][]oplog.Record
	nextUnapplied uint64
	// gen is the node's log generation (0 until its first increment draws
	// it), incrs the increments it applied by id, pendingSlots its own
	// counter slots not yet durable, by key, and incrWaiting the attempts
	// waiting for an attempt of the same increment to be durable (incr.go).
	// recent and graceAgo are the node's clock over the last inFlight, for
	// anti-entropy's horizon (stream.go), and over the last tombstone
	// grace, for expiry (grave.go).
	recent, graceAgo clock.History
	// retentionAgo is the node's clock over the last batch retention, for
	// the records and markers it collects and anti-entropy leaves out
	// (batchgc.go).
	retentionAgo clock.History
	gen          uint64
	incrs        *counter.Table
	pendingSlots map[string]store.Version
	incrWaiting  map[counter.OpID][]func()
	// intentsSince is when the sweeper first saw each undecided intent (by
	// key, token and version), and sweeping the keys it is settling
	// (batch.go).
	intentsSince map[string]time.Duration
	sweeping     map[string]bool
	// settling are the keys whose intents an acceptor is deciding before
	// it answers, with the requests waiting for that, and passing the keys
	// whose waiting requests run now (acceptor.go's unsettled).
	settling map[string][]func()
	passing  map[string]bool
	// graves runs the tombstone rule: the tombstones it may drop in time,
	// the spans anti-entropy found equal with each peer, the sweeps, and
	// the forgetting of keys not replicated (grave.go).
	graves *grave.Driver
	// steady is the node's time since boot as the tombstone rule counts
	// it, advanced at each tick by at most two ticks' worth (lastTick is
	// when the last one ran; grave.go).
	steady, lastTick time.Duration
	// records are the batch records the node may collect in time, and
	// recordChecks the askings of the replicas of committed ones under
	// way or done, by record key (batchgc.go).
	records      grave.Yard
	recordChecks map[string]*recordCheck
	// marking is set while the node walks its keys for expired markers,
	// and markedAt is when it last finished (batchgc.go).
	marking  bool
	markedAt time.Duration
	// droppedAny says the node (this life or an earlier one, by its log's
	// flag) dropped a tombstone: a restart then floors every ballot
	// (grave.go).
	droppedAny bool
	// err, once set, is why the node cannot go on (its log broke); the host
	// must stop it and start it again, which replays the log.
	err   error
	stats Stats
	// probes counts the rare states this node reached (probe.go).
	probes map[string]uint64
}

// Stats counts what a node has done, for metrics and tests.
type Stats struct {
	Requests       uint64 // client requests received
	Errors         uint64 // error replies sent
	Writes         uint64 // client writes acknowledged
	Applied        uint64 // entries logged and applied to the store
	Replicated     uint64 // entries received from coordinators
	Unavailable    uint64 // requests refused because too few replicas were up
	Unknown        uint64 // writes that timed out with an unknown outcome
	ReadRepairs    uint64 // stale replicas repaired before a read answered
	Hints          uint64 // writes held for a replica
	HintsDelivered uint64 // held writes a replica acknowledged
	HintsDropped   uint64 // held writes dropped over the bound
	StreamedIn     uint64 // entries received by catch-up or streaming
	StreamedOut    uint64 // entries sent by catch-up or streaming
	// StreamedInBytes is the size of the entries received by catch-up or
	// streaming: key + value + 16 bytes of stamp and framing each.
	StreamedInBytes uint64
	CatchUps        uint64 // catch-ups completed
	RepairRounds    uint64 // anti-entropy comparisons this node started (one per replica per round)
	RepairArcs      uint64 // arcs found to differ from a replica's
	RepairSpans     uint64 // the sub-spans of those arcs that still differed, and were pulled
	RingChanges     uint64 // ring epochs seen
	Fenced          uint64 // requests refused because they came from an older ring
	WritesResent    uint64 // writes sent again on a newer ring after a replica refused the older one
	// Writes this node coordinated that a replica refused as stamped at or
	// below its tombstone floor, stamped again; as a replica, writes it
	// refused so and copies of earlier writes it left out (replica.go).
	WritesRestamped uint64
	StaleRefused    uint64
	StaleSkipped    uint64
	// Paxos, as proposer: client requests (cas, serial reads and puts),
	// attempts (ballots), phases (prepares and proposes: round trips),
	// retries after a refusal, in-progress proposals finished, requests
	// answered, and those that ended in contention or an unknown outcome.
	PaxosRequests   uint64
	PaxosAttempts   uint64
	PaxosPhases     uint64
	PaxosRetries    uint64
	PaxosFinished   uint64
	PaxosDone       uint64
	PaxosContention uint64
	PaxosUnknown    uint64
	PaxosRepaired   uint64 // proposals in progress a movement finished (node/paxos/repair)
	Incrs           uint64 // increments this node applied to its own slots (incr.go)
	IncrRetries     uint64 // retries of increments it had applied, answered again
	Rebuilds        uint64 // times this node found its state lost (rebuild.go)
	// Serial reads that took the read-only path (a Peek of each acceptor,
	// nothing promised; they are also counted in PaxosRequests and, as one
	// phase, in PaxosPhases), and those of them that found a proposal in
	// progress, or too few answers, and fell back to a full round.
	PaxosReadOnly      uint64
	PaxosReadFallbacks uint64
	// Batches this node coordinated, and those it answered committed or
	// aborted (batch.go); keys whose intents its sweeper settled.
	Batches          uint64
	BatchesCommitted uint64
	BatchesAborted   uint64
	IntentsSwept     uint64
	// TombstonesDropped counts the tombstones the rule dropped, and
	// KeysForgotten the keys of arcs it no longer replicates a node
	// dropped once a movement settled (grave.go).
	TombstonesDropped uint64
	KeysForgotten     uint64
	// RecordsDropped counts the batch records the node collected, and
	// MarkersDropped the aborted batches' markers (batchgc.go).
	RecordsDropped uint64
	MarkersDropped uint64
	// Paxos counts the Paxos requests by how they ended and the ballots
	// each took (paxosstats.go).
	Paxos PaxosTally
	// StreamedOutBytes is the size of the entries counted in StreamedOut,
	// as StreamedInBytes counts them.
	StreamedOutBytes uint64
	// The sizes of the batches behind those counters: bytes of each batch
	// of entries streamed in and out, and entries of each batch of hints
	// a replica acknowledged.
	StreamInBatches  Sizes
	StreamOutBatches Sizes
	HintBatches      Sizes
}

// New returns a node that has not started. It validates cfg (filling its
// defaults) and env.
func New(cfg Config, env Env) (*Node, error) {
	// The log runs on the node's loop: its timers, offloaded work and
	// replay's concurrent decompression go through the node's Env.
	cfg.Log.Clock, cfg.Log.Offload, cfg.Log.Async = env.Clock, env.Offload, env.Async
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	if err := env.validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		env:      env,
		lamport:  clock.NewLamport(uint16(cfg.ID), 0),
		store:    store.NewSeeded(cfg.HashSeed),
		known:    make(map[uint16]gossip.Member),
		marks:    make(map[uint16]uint64),
		calls:    make(map[uint64]*call),
		hints:    coord.NewHints(cfg.HintBytes, cfg.HintWindow, hintAge(cfg)),
		waiting:  make(map[uint64]func(net.Message)),
		removing: make(map[uint16]bool),
		taking:   make(map[string][]func(bool)),

		acceptors:    paxos.NewAcceptors(),
		recent:       clock.History{Window: inFlight(cfg)},
		graceAgo:     clock.History{Window: cfg.TombstoneGrace, Every: cfg.TombstoneGrace / 64},
		retentionAgo: clock.History{Window: cfg.BatchRetention, Every: cfg.BatchRetention / 64},
		unapplied:    make(map[uint64][]oplog.Record),

		incrs:        counter.New(0),
		pendingSlots: make(map[string]store.Version),
		incrWaiting:  make(map[counter.OpID][]func()),
		intentsSince: make(map[string]time.Duration),
		sweeping:     make(map[string]bool),
		settling:     make(map[string][]func()),
		passing:      make(map[string]bool),
		recordChecks: make(map[string]*recordCheck),
	}
	n.streams = &stream.Driver{
		Node:           streamer{n},
		Store:          n.store,
		ID:             uint16(cfg.ID),
		RequestTimeout: cfg.RequestTimeout,
		Refused:        cfg.Gossip.ProbeInterval / 4,
		Log:            env.Log,
		DropIntents:    n.mutant(MutantStreamDropsIntents),
	}
	n.graves = &grave.Driver{
		Node:        graver{n},
		Store:       n.store,
		Self:        uint16(cfg.ID),
		Grace:       cfg.TombstoneGrace,
		Every:       n.sweepEvery(),
		Unverified:  n.mutant(MutantTombstoneUnverified),
		StaleClean:  n.mutant(MutantTombstoneStaleClean),
		KeepUnowned: n.mutant(MutantKeepUnowned),
		Cleans:      grave.Cleans{Fanout: stream.RefineFanout, Depth: stream.RefineDepth},
	}
	n.ops = coord.NewOps(coord.Config{ID: uint16(cfg.ID), Timeout: cfg.RequestTimeout, RepairAsync: n.mutant(MutantRepairAsync)})
	n.hints.DropLast = n.mutant(MutantHintDropLast)
	if n.mutant(MutantTombstoneHintsKept) {
		n.hints.MaxAge = 0 // hints wait as long as their window allows
	}
	n.repairs = &repair.Driver{Node: repairer{n}, ID: uint16(cfg.ID), Backoff: cfg.Gossip.ProbeInterval / 4, Log: env.Log}
	if n.mutant(MutantMergeSum) {
		n.store.SumCounters()
	}
	if n.mutant(MutantReverseTies) {
		n.store.ReverseTies()
	}
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() net.NodeID { return n.cfg.ID }

// Start boots the node: it replays the operation log into the store and
// starts the Lamport clock after every timestamp the log holds, so the clock
// never goes backward across a restart. It must be called once, before any
// other event. An error (a corrupt log, an unreadable disk) means the node
// cannot serve; the host reports it and exits.
func (n *Node) Start() error {
	if n.started {
		panic("node: Start called twice")
	}
	n.started = true
	lcfg := n.cfg.Log
	lcfg.Reserve, lcfg.Prefetch = n.store.Reserve, n.store.Prefetch
	l, rep, err := oplog.Open(n.env.Disk, lcfg, n.replay)
	if err != nil {
		n.err = fmt.Errorf("replay the operation log: %w", err)
		return n.err
	}
	n.log = l
	n.bootTime = n.env.Clock.Now()
	// Leases are records too, so the clock starts past every counter this
	// node may have used, logged or not.
	n.lamport = clock.NewLamport(uint16(n.cfg.ID), rep.MaxCounter)
	n.lease = rep.MaxCounter
	n.incrs.Boot(rep.MaxCounter)
	if (n.purging() || n.droppedAny) && !n.mutant(MutantTombstoneFloorForgotten) {
		// A tombstone dropped before the restart left no record: every
		// ballot the log could have seen is refused (grave.go).
		n.acceptors.Below = clock.Timestamp{Counter: rep.MaxCounter + 1}
	}
	for o, c := range rep.MaxSeq {
		if o != 0 {
			n.marks[o] = c
		}
	}
	n.bootMarks = stream.Marks(n.marks)
	n.probeIf(n.acceptors.Len() > 0, ProbeAcceptorRestored)
	// What was replayed counts as growth toward the next compaction, so a
	// node that restarts often still compacts.
	n.logAtCompact = -rep.Bytes
	if rep.Torn != nil {
		n.probe(ProbeTornTail)
		n.env.Log.Warn("cut a torn tail off the operation log", "segment", rep.Torn.Segment, "offset", rep.Torn.Offset, "bytes", rep.Torn.Bytes)
	}
	if len(rep.Removed) > 0 {
		n.env.Log.Info("removed files left by an interrupted roll or compaction", "files", rep.Removed)
	}
	n.env.Log.Info("node started", "id", n.cfg.ID, "fsync", lcfg.Mode, "records", rep.Records, "log_bytes", rep.Bytes,
		"keys", n.store.Len(), "clock", n.lamport.Now().String(), "members", len(n.known))
	n.renewLease()
	switch {
	case n.life == Rebuilding: // its log has the flag
	case len(n.cfg.Seeds) > 0 && view.PhaseOf(n.known[uint16(n.cfg.ID)].Ring) == view.None:
		n.life = Fresh
	default:
		n.life = Member
	}
	if n.life == Rebuilding {
		n.env.Log.Warn("resuming a rebuild of lost state: the node serves nothing but writes until it ends")
	}
	if err := n.startMembership(); err != nil {
		n.err = err
		return err
	}
	return nil
}

// replay applies one record of the log at boot.
func (n *Node) replay(r oplog.Record) error {
	if r.Type != oplog.TypeSet && r.Type != oplog.TypeDelete {
		// The log overwrites a record's bytes once this returns
		// (oplog.Open), and these records' states may keep them (intents,
		// acceptor state, members, flags): they get bytes of their own.
		// A set's or a delete's are copied into the store's table.
		r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
	}
	switch r.Type {
	case oplog.TypeSet, oplog.TypeDelete:
		v, _, _ := store.FromRecord(r)
		n.apply(r.Key, v, 0)
		n.settleAcceptor(r.Key)
		return nil
	case oplog.TypeIntents:
		v, _, err := store.FromRecord(r)
		if err != nil {
			return fmt.Errorf("record for key %q at stamp %v: %w", r.Key, r.Stamp, err)
		}
		n.apply(r.Key, v, 0)
		n.settleAcceptor(r.Key)
		return nil
	case oplog.TypeCounter:
		return n.replayCounter(r)
	case oplog.TypeForget:
		n.store.Drop(r.Key)
		if n.collecting() && store.IsRecordKey(r.Key) {
			n.acceptors.Forget(r.Key) // a collected record goes with its Paxos state
		}
		return nil
	case oplog.TypePromise, oplog.TypeAccept:
		n.replayAcceptor(r)
		return nil
	case oplog.TypeLease:
		return nil // its counter is in the report's MaxCounter
	case oplog.TypeFlag:
		return n.replayFlag(r)
	case oplog.TypeMember, oplog.TypeMemberTokens:
		m, err := parseMember(r)
		if err != nil {
			return err
		}
		if cur, ok := n.known[m.ID]; !ok || gossip.Newer(m, cur) {
			n.known[m.ID] = m
		}
		return nil
	default:
		return fmt.Errorf("record type %v at stamp %v is not one this node applies", r.Type, r.Stamp)
	}
}

// Stop ends the node's work: new requests are refused, and done is called
// on the loop once everything the node wrote is durable (whatever the fsync
// mode) and the log is closed.
func (n *Node) Stop(done func()) {
	n.stopped = true
	if n.log == nil {
		done()
		return
	}
	n.log.Sync(func(err error) {
		if err != nil {
			n.env.Log.Error("final sync of the operation log failed", "err", err)
		}
		if err := n.log.Close(); err != nil {
			n.env.Log.Error("closing the operation log failed", "err", err)
		}
		n.log = nil
		done()
	})
}

// Flush writes what the operation log buffered (oplog.Config.Coalesce)
// and runs the commits that waited for it, which acknowledge: a host that
// coalesces calls it at the end of every event it runs on the node, and
// nothing the node sends in that event leaves before. A failed write
// fails those commits (their requests are refused); a broken log breaks
// the node.
func (n *Node) Flush() {
	if n.log == nil {
		return
	}
	if err := n.log.Flush(); errors.Is(err, oplog.ErrBroken) {
		n.broke(err)
	}
}

// Err returns why the node cannot go on, or nil. Once set it stays set:
// the host must stop the node and start a new one on the same disk.
func (n *Node) Err() error { return n.err }

// broke records that the node cannot go on.
func (n *Node) broke(err error) {
	if n.err == nil {
		n.err = err
		n.probe(ProbeNodeBroke)
		n.env.Log.Error("node cannot go on; restart it", "err", err)
	}
}

// Clock returns the node's Lamport clock reading.
func (n *Node) Clock() clock.Timestamp { return n.lamport.Now() }

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// Store gives read access to the node's table, for checkers and the admin
// API. Callers must not modify what it returns.
func (n *Node) Store() *store.Store { return n.store }

// Deliver handles a message from peer node from.
func (n *Node) Deliver(from net.NodeID, f net.Frame) {
	n.lamport.Observe(f.Clock)
	if n.stopped || !n.started || n.log == nil {
		return
	}
	id := uint16(from)
	if n.refuseUnserved(id, f.ID, f.Msg) {
		return
	}
	switch m := f.Msg.(type) {
	case *net.Gossip:
		n.gossipFrom(id, m)
	case *net.Replicate:
		n.replicate(id, f.ID, m)
	case *net.Read:
		n.read(id, f.ID, m)
	case *net.Sync:
		n.streams.ServeSync(id, f.ID, m)
	case *net.Prepare:
		n.prepareFrom(id, f.ID, m)
	case *net.Propose:
		n.proposeFrom(id, f.ID, m)
	case *net.Peek:
		n.peekFrom(id, f.ID, m)
	case *net.Holds:
		n.holdsFrom(id, f.ID, m)
	case *net.Digest:
		n.digestFrom(id, f.ID, m.Epoch, m.Spans, stream.Bounds{})
	case *net.DigestBefore:
		n.digestFrom(id, f.ID, m.Epoch, m.Spans, stream.Bounds{Horizon: m.Horizon, Expired: m.Expired, Records: m.Records})
	case *net.PaxosKeys:
		n.paxosKeysFrom(id, f.ID, m)
	case *net.Take:
		n.takeFor(id, f.ID, m)
	case *net.Incr:
		n.startIncr(func(a net.Message) { n.send(id, f.ID, a) }, m, m.First, id)
	case *net.Done, *net.Value, *net.State, *net.CounterValue, *net.Error, *net.SyncBatch, *net.Promise, *net.Accepted, *net.AcceptorState, *net.DigestReply, *net.PaxosKeysReply, *net.Bool:
		n.peerAnswer(id, f)
	default:
		n.env.Log.Debug("dropping unexpected peer message", "from", from, "kind", f.Msg.Kind())
	}
}

// Disconnected tells the node that client connection c has closed: replies
// to it will be dropped.
func (n *Node) Disconnected(c net.ConnID) {}

// reply sends m to client connection c in answer to request id, stamped
// with the node's clock.
func (n *Node) reply(c net.ConnID, id uint64, m net.Message) {
	if c == internalConn {
		n.answerInternal(id, m)
		return
	}
	if _, ok := m.(*net.Error); ok {
		n.stats.Errors++
	}
	n.env.Transport.Reply(c, net.Frame{ID: id, Clock: n.lamport.Now(), Msg: m})
}

func (n *Node) fail(c net.ConnID, id uint64, code net.Code, format string, args ...any) {
	n.reply(c, id, &net.Error{Code: code, Message: fmt.Sprintf(format, args...)})
}

// Env is everything a node may use to act on the world. The host builds it.
type Env struct {
	// Clock gives physical time and timers; callbacks run on the node's loop.
	Clock clock.Clock
	// Transport sends to peers and replies to clients.
	Transport net.Transport
	// Disk is the node's data directory.
	Disk disk.FS
	// Rand is the node's only source of randomness. In the simulator it is
	// derived from the run's seed.
	Rand *rand.Rand
	// Log receives the node's structured log. It must not read the wall
	// clock in a way that changes what the node does (slog does not).
	Log *slog.Logger
	// Offload runs heavy, self-contained work (a compaction's compression)
	// off the loop: work on any goroutine, touching only what it was
	// handed; then done on the loop (done may be nil). cost is the work's
	// size in bytes, from which the simulator draws how long it takes. Nil
	// runs both inline.
	Offload func(cost int, work, done func())
	// Async starts self-contained work (decompressing a base's frames at
	// boot) that may run on another goroutine while the loop, which is
	// busy replaying, goes on, and returns a function that waits for it
	// (oplog.Config.Async says how it is used). Nil runs work inline: the
	// simulator's choice, so that boot takes no virtual time either way.
	Async func(work func()) (wait func())
}

func (e Env) validate() error {
	var errs []error
	if e.Clock == nil {
		errs = append(errs, errors.New("env: no Clock"))
	}
	if e.Transport == nil {
		errs = append(errs, errors.New("env: no Transport"))
	}
	if e.Disk == nil {
		errs = append(errs, errors.New("env: no Disk"))
	}
	if e.Rand == nil {
		errs = append(errs, errors.New("env: no Rand"))
	}
	if e.Log == nil {
		errs = append(errs, errors.New("env: no Log"))
	}
	return errors.Join(errs...)
}

// leaseSpan is how many Lamport counters one lease reserves. A coordinator
// sends a stamped write to replicas before (or without) logging it itself,
// so the log alone cannot say which counters a node used before a crash;
// the lease can: replay starts the clock past it. A wide span makes renewing
// rare (the clock advances with the whole cluster's writes), and costs
// nothing but a jump of the clock at restart.
const leaseSpan = 1 << 20

// stamp calls use with a fresh timestamp under a durable lease: at once
// while the clock is within the lease, otherwise once a renewed lease is on
// disk. Writes waiting for the lease keep their order. If the lease cannot
// be made durable the log has broken, and use is called with a zero stamp.
func (n *Node) stamp(use func(clock.Timestamp)) {
	if len(n.leaseWaiters) == 0 && n.lamport.Now().Counter < n.lease {
		t := n.lamport.Tick()
		if n.lease-t.Counter < leaseSpan/2 {
			n.renewLease()
		}
		use(t)
		return
	}
	n.leaseWaiters = append(n.leaseWaiters, use)
	n.renewLease()
}

// renewLease makes a lease leaseSpan past the clock durable, unless a
// renewal is already in flight, then serves the writes that waited for it.
func (n *Node) renewLease() {
	if n.renewing || n.log == nil {
		return
	}
	bound := n.lamport.Now().Counter + leaseSpan
	if err := n.log.Append(leaseRecord(bound)); err != nil {
		n.broke(err)
		n.failLeaseWaiters()
		return
	}
	n.renewing = true
	n.log.Sync(func(err error) {
		n.renewing = false
		if err != nil {
			n.broke(err)
			n.failLeaseWaiters()
			return
		}
		n.lease = max(n.lease, bound)
		ws := n.leaseWaiters
		n.leaseWaiters = nil
		for i, use := range ws {
			if n.lamport.Now().Counter >= n.lease {
				// The clock jumped past even the new lease (a peer's clock
				// was far ahead): the rest wait for another.
				n.leaseWaiters = append(n.leaseWaiters, ws[i:]...)
				n.renewLease()
				return
			}
			use(n.lamport.Tick())
		}
	})
}

func (n *Node) failLeaseWaiters() {
	ws := n.leaseWaiters
	n.leaseWaiters = nil
	for _, use := range ws {
		use(clock.Timestamp{})
	}
}

func leaseRecord(bound uint64) oplog.Record {
	return oplog.Record{Type: oplog.TypeLease, Key: []byte("lease"), Stamp: clock.Timestamp{Counter: bound}}
}
