package sim

import (
	"fmt"
	"io"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Verdict is how a run ended.
type Verdict string

const (
	Pass     Verdict = "pass"
	Safety   Verdict = "safety"   // a checker found a violation
	Liveness Verdict = "liveness" // after the heal, something did not make progress
	Panic    Verdict = "panic"    // node (or simulator) code panicked
	// Undecided: every checker passed but the linearizability search of
	// some key ran out of its step budget. Not a pass: the seed proved
	// nothing, and the budget is counted, not timed, so the same seed is
	// undecided on every machine.
	Undecided Verdict = "undecided"
)

// Options are how to run, as opposed to what (Params).
type Options struct {
	// NewProcess builds each machine's process; nil means NewNode.
	NewProcess NewProcess
	// Log, if set, receives every node's log, stamped with virtual time.
	Log io.Writer
	// CheckSteps bounds the linearizability search of each key, in calls
	// of the model's step function; 0 means linearize.DefaultSteps. A
	// search that runs out makes the verdict Undecided. No wall-clock bound
	// decides a verdict.
	CheckSteps int
}

// Stats counts what a run did. Wall is the only field that depends on
// the machine; nothing in a run reads it.
type Stats struct {
	Events         uint64        `json:"events"`
	Virtual        time.Duration `json:"virtual_ns"`
	Wall           time.Duration `json:"wall_ns"`       // the whole run, checks included
	CheckWall      time.Duration `json:"check_wall_ns"` // the checks alone
	Ops            int           `json:"ops"`
	OK             int           `json:"ok"`
	Failed         int           `json:"failed"`
	Unknown        int           `json:"unknown"`
	Faults         int           `json:"faults"`
	FaultsSkipped  int           `json:"faults_skipped"`
	Crashes        int           `json:"crashes"`
	Restarts       int           `json:"restarts"`
	Supervised     int           `json:"supervised_restarts"`     // nodes restarted after they stopped themselves (a broken log)
	Wipes          int           `json:"wipes,omitempty"`         // nodes whose disk a Wipe fault replaced
	Removed        int           `json:"removed,omitempty"`       // dead nodes a Remove fault had removed
	CorruptFound   int           `json:"corrupt_found,omitempty"` // boots that found a Corrupt fault's flipped bit
	Connections    int           `json:"connections"`
	ConnBreaks     int           `json:"conn_breaks"`
	LateReplies    int           `json:"late_replies"`
	RepliesDropped int           `json:"replies_dropped"`
	PeerSent       int           `json:"peer_sent"`
	PeerDelivered  int           `json:"peer_delivered"`
	PeerDropped    int           `json:"peer_dropped"`
	PeerDuplicated int           `json:"peer_duplicated"`
	CheckedOps     int           `json:"checked_ops"`
	CheckSteps     int           `json:"check_steps"`               // the linearizability search's cost (linearize.Result.Steps)
	CheckUndecided bool          `json:"check_undecided,omitempty"` // some key's search ran out of steps
	CrashPoints    int           `json:"crash_points,omitempty"`    // crashes caused by Params.CrashPoint
	// Probes is, for every coverage probe (node.Probes), how often the
	// run's nodes reached its state (probes.go).
	Probes map[string]uint64 `json:"probes"`

	// What the Pause, Jump and Clog faults did: processes stopped and the
	// events that waited for them (pause.go), clocks moved and the timers
	// that fell due at once (jump.go), links held (one per direction) and
	// the peer messages held on them (clog.go).
	Pauses    int `json:"pauses,omitempty"`
	PauseHeld int `json:"pause_held,omitempty"`
	Jumps     int `json:"jumps,omitempty"`
	JumpFired int `json:"jump_fired,omitempty"`
	Clogs     int `json:"clogs,omitempty"`
	ClogHeld  int `json:"clog_held,omitempty"`

	// What the tombstone rule did, in a run whose nodes drop tombstones
	// (tombstone.go): the tombstones dropped over the run, those the
	// running nodes held at the heal and at the end, and the times a node
	// took back a value older than a tombstone it had held where the
	// value was not provably deleted (tombstone_check.go; the provably
	// deleted ones fail the run).
	TombstonesDropped uint64 `json:"tombstones_dropped,omitempty"`
	TombstonesAtHeal  int    `json:"tombstones_at_heal,omitempty"`
	TombstonesAtEnd   int    `json:"tombstones_at_end,omitempty"`
	TakenBack         int    `json:"taken_back,omitempty"`

	// Batch records, in a run with batches: those the running nodes hold
	// at the end (a record on each of its replicas counts once for each),
	// and those collected over the run (node/batchgc.go), if the nodes
	// collect them.
	RecordsAtEnd   int    `json:"records_at_end,omitempty"`
	RecordsDropped uint64 `json:"records_dropped,omitempty"`
	// The same of aborted batches' markers.
	MarkersAtEnd   int    `json:"markers_at_end,omitempty"`
	MarkersDropped uint64 `json:"markers_dropped,omitempty"`
}

// Result is the outcome of one run.
type Result struct {
	Params    Params
	Verdict   Verdict
	Reason    string // why the verdict is not pass
	Stack     string // for a panic, where
	EventHash string // hex FNV-1a 64 of every event processed
	History   linearize.History
	Windows   []linearize.Window // fault windows, for the visualisation
	Stats     Stats
	// Check is the linearizability result; on a violation its WriteHTML
	// draws the failing key.
	Check linearize.Result
}

// Run builds the world for p, runs the workload under p's fault schedule,
// heals, lets in-flight operations finish, and judges the run. The error
// is for bad parameters only: everything the system under test does wrong
// is a verdict.
func Run(p Params, o Options) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	if o.NewProcess == nil {
		o.NewProcess = NewNode
	}
	start := time.Now()
	w := &world{
		p: p, newP: o.NewProcess, logOut: o.Log,
		hash:  fnvOffset,
		net:   Stream(p.Seed, "network"),
		conns: make(map[net.ConnID]*conn),
		cut:   make([][]bool, p.Nodes+1),
	}
	for i := range w.cut {
		w.cut[i] = make([]bool, p.Nodes+1)
	}
	for i := range p.Nodes {
		w.hosts = append(w.hosts, newHost(w, net.NodeID(i+1)))
	}
	for i := range p.Clients {
		w.clients = append(w.clients, newClient(w, i+1))
	}
	w.scriptClients()
	perr := w.run()
	w.collectProbes()

	res := Result{
		Params: p, Verdict: Pass,
		EventHash: fmt.Sprintf("%016x", w.hash),
		History:   w.history,
		Windows:   w.windows,
	}
	w.stats.Events, w.stats.Virtual = w.events, w.now
	if w.p.TombstoneGrace > 0 {
		held, dropped := w.tombstones()
		w.stats.TombstonesAtEnd, w.stats.TombstonesDropped = held, w.dropped+dropped
	}
	if w.batched() {
		held, dropped := w.records()
		w.stats.RecordsAtEnd, w.stats.RecordsDropped = held, w.recordsDropped+dropped
		held, dropped = w.markers()
		w.stats.MarkersAtEnd, w.stats.MarkersDropped = held, w.markersDropped+dropped
	}
	_, _, w.stats.Unknown = w.history.Counts()
	switch {
	case perr != nil:
		res.Verdict, res.Reason, res.Stack = Panic, perr.Error(), perr.stack
	case w.failure != nil:
		res.Verdict, res.Reason = w.failure.verdict, w.failure.reason
	default:
		checkStart := time.Now()
		res.Verdict, res.Reason = w.judge(&res, o.CheckSteps)
		w.stats.CheckWall = time.Since(checkStart)
	}
	w.stats.Wall = time.Since(start)
	res.Stats = w.stats
	return res, nil
}

// judge runs the checkers on a run that ended without a panic. Histories
// of one node, and of Paxos workloads on any number, are checked for
// linearizability; plain multi-node workloads for quorum visibility.
// Multi-node runs must also converge. A linearizability search that ran
// out of steps makes a run that every other checker passes Undecided.
func (w *world) judge(res *Result, steps int) (Verdict, string) {
	v, why := w.judgeAll(res, steps)
	if v == Pass && res.Check.Undecided {
		if steps <= 0 {
			steps = linearize.DefaultSteps
		}
		return Undecided, fmt.Sprintf("linearizability undecided: the search of key %q ran out of its budget (%d steps of the model); no checker found a violation",
			res.Check.UndecidedKey, steps)
	}
	return v, why
}

func (w *world) judgeAll(res *Result, steps int) (Verdict, string) {
	if w.p.Nodes == 1 || w.p.Client.Serial {
		check, err := linearize.Check(w.history, steps)
		if err != nil {
			return Safety, fmt.Sprintf("the recorded history is malformed: %v", err)
		}
		res.Check = check
		w.stats.CheckedOps = check.Ops
		w.stats.CheckSteps = check.Steps
		w.stats.CheckUndecided = check.Undecided
		if !check.OK && !check.Undecided {
			why := fmt.Sprintf("linearizability: the history of key %q is not linearizable", check.Key)
			if p, last := linearize.ShortestPrefix(w.history, check.Key); last != nil {
				why += fmt.Sprintf("; the shortest illegal prefix has %d ops and ends when %v (client %d, node %d, called %v) returns at %v",
					len(p), *last, last.Client, last.Node, last.Call, last.Return)
			}
			return Safety, why
		}
	}
	if w.p.Client.Lock {
		if v, why := w.checkMutex(); v != Pass {
			return v, why
		}
	}
	if v, why := w.checkCounters(); v != Pass {
		return v, why
	}
	if v, why := w.checkBatches(); v != Pass {
		return v, why
	}
	if w.p.Nodes > 1 {
		if v, why := w.checkGraves(); v != Pass {
			return v, why
		}
		if !w.p.Client.Serial {
			if v, why := w.checkVisibility(); v != Pass {
				return v, why
			}
			if v, why := w.checkMonotonicReads(); v != Pass {
				return v, why
			}
			if v, why := w.checkSessions(); v != Pass {
				return v, why
			}
		}
		if v, why := w.checkConvergence(); v != Pass {
			return v, why
		}
	}
	return w.liveness()
}

// liveness requires every client to complete an operation in the window
// between the heal and the end of the workload.
func (w *world) liveness() (Verdict, string) {
	heal, end := w.p.Duration, w.p.Duration+w.p.Liveness
	done := make([]bool, len(w.clients)+1)
	last := make([]*linearize.Op, len(w.clients)+1)
	for i := range w.history {
		op := &w.history[i]
		if op.Kind == linearize.Wipe || op.Call < heal {
			continue
		}
		last[op.Client] = op
		if op.Outcome == linearize.OK && op.Return <= end {
			done[op.Client] = true
		}
	}
	for _, cl := range w.clients {
		if done[cl.idx] {
			continue
		}
		what := "issued nothing"
		if op := last[cl.idx]; op != nil {
			what = fmt.Sprintf("its last op was %v (%s)", *op, op.Note)
		}
		return Liveness, fmt.Sprintf("client %d completed no operation in the %v after the heal at %v: %s",
			cl.idx, w.p.Liveness, heal, what)
	}
	return Pass, ""
}
