package coord

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// Config is what coordination knows of the node that runs it: who it is
// and its request timeout, for the texts of errors, and the planted bug
// (the node's mutant) whose hook is inside a read's decisions.
type Config struct {
	ID      uint16
	Timeout time.Duration
	// RepairAsync (MutantRepairAsync): a read at quorum that finds stale
	// replicas repairs them in the background and answers at once.
	RepairAsync bool
}

// An Op is a request a node coordinates — a client's write or read that
// waits for replicas — with what the node keeps around it: who asked, and
// the timer. Peer answers find it by ID, the request id of every frame
// sent for it. The node sets the fields it owns (Conn, Req, Respond, Done,
// Counter, Delta, Timer) before the first event; coord reads them but for
// Timer, which it never touches.
type Op struct {
	ID uint64
	W  *Write // a write, or
	R  *Read  // a read
	// Conn and Req are the client's connection and request id. Respond, if
	// set, takes the answer instead (an increment's client, or the peer
	// that forwarded it; a batch's intent).
	Conn    net.ConnID
	Req     uint64
	Respond func(net.Message)
	// Done is what a write that met its level answers instead of net.Done.
	Done net.Message
	// Counter says that read R is of a counter.
	Counter bool
	// Delta is the increment a counter write carries the slot of; set only
	// under MutantHintDelta (HintEntry).
	Delta int64
	// Began is when the request began (the node's time since boot): a
	// hint of its write is as old as the write, not as the moment its
	// replica was given up on (a coordinator paused in between).
	Began time.Duration
	// Timer is the node's deadline timer.
	Timer clock.Timer

	cfg      *Config
	restamps int // the times write W was stamped again
}

// Do is what the node must do after an op took an event, in this order:
// hint the write (HintEntry) to Hint, look up Resolve's intents and hand
// the read what each became (Decided), send the read's newest state
// (RepairEntry) to Repair — under the op's id if Wait, so each answer
// comes back to Repaired, else wanting no answer — answer the client with
// Msg if not nil, and forget the op if Finish. The zero Do does nothing:
// the event was late or a duplicate. Step is what the write or read
// decided, for the node's counts.
//
// Msg is set exactly when Step.Reply is not Wait: a reply decided is a
// reply sent, or the client of an op that finishes never hears.
type Do struct {
	Step
	Msg net.Message
}

// Ops is the table of the requests a node coordinates, by id. The ids are
// the node's: it draws them from the one sequence its calls to single
// peers use too, so that an answer finds one request at most.
type Ops struct {
	cfg Config
	m   map[uint64]*Op
}

// NewOps is an empty table for the node cfg describes.
func NewOps(cfg Config) *Ops { return &Ops{cfg: cfg, m: make(map[uint64]*Op)} }

// Write adds write w as op id, begun at began.
func (t *Ops) Write(id uint64, w *Write, began time.Duration) *Op {
	return t.add(&Op{ID: id, W: w, Began: began})
}

// Read adds read r as op id, begun at began.
func (t *Ops) Read(id uint64, r *Read, began time.Duration) *Op {
	return t.add(&Op{ID: id, R: r, Began: began})
}

func (t *Ops) add(o *Op) *Op {
	if t.m[o.ID] != nil {
		panic(fmt.Sprintf("coord: op %d added twice", o.ID))
	}
	o.cfg = &t.cfg
	t.m[o.ID] = o
	return o
}

// Get is op id, or nil if there is none (over, or never one).
func (t *Ops) Get(id uint64) *Op { return t.m[id] }

// Len is the number of ops in flight.
func (t *Ops) Len() int { return len(t.m) }

// Finish forgets o; the node stops its timer.
func (t *Ops) Finish(o *Op) { delete(t.m, o.ID) }

// maxRestamps bounds the times a write is stamped again: once should do
// (the new stamp is above the clock of every refusal heard), and a write
// refused more often fails as refused.
const maxRestamps = 3

// Restamp decides on a replica's refusal of write o as stamped at or below
// its tombstone floor (net.CodeStaleStamp). Unless the client has been
// answered (a later write by another may then be stamped between the two
// stamps, and must not be overwritten) or the write was stamped again
// maxRestamps times already, it reports true: the node then gives o a new
// id (Ops.Renumber), so that answers to the old stamp count for nothing —
// a replica that took the old stamp may have taken it under a tombstone —
// stamps the write again above the refusal's clock, which it has
// observed, and, unless o is over by then, calls Write.Restamp and sends
// it to every replica asked; the deadline stays the first one. If it
// reports false, the refusal is an answer like any other (WriteAnswered).
func (o *Op) Restamp() bool {
	if o.W.Over() || o.W.Replied() || o.restamps >= maxRestamps {
		return false
	}
	o.restamps++
	return true
}

// Renumber moves o to id.
func (t *Ops) Renumber(o *Op, id uint64) {
	delete(t.m, o.ID)
	o.ID = id
	t.add(o)
}

// Route is how a write reaches one replica.
type Route uint8

const (
	Skip  Route = iota // nothing: the replica has its hint already
	Apply              // apply it here: the replica is the coordinator
	Send               // send it: the replica is up
	Hint               // keep it as a hint (HintEntry): the replica is down
)

func (r Route) String() string {
	switch r {
	case Apply:
		return "apply"
	case Send:
		return "send"
	case Hint:
		return "hint"
	}
	return "skip"
}

// Route is how write o reaches replica r, up or not: the coordinator
// applies it, an up replica is sent it, a down one gets a hint (once).
func (o *Op) Route(r uint16, up bool) Route {
	switch {
	case r == o.cfg.ID:
		return Apply
	case up:
		return Send
	case o.W.Hint(r):
		return Hint
	}
	return Skip
}

// HintEntry is what write o keeps for a replica that did not take it.
func (o *Op) HintEntry() net.Entry {
	e := o.W.Entry
	if o.Delta != 0 {
		// MutantHintDelta: the slot's state becomes the increment alone,
		// at its version.
		if slots, err := store.Slots(store.FromEntry(e)); err == nil && len(slots) == 1 {
			slots[0].P, slots[0].N = uint64(max(o.Delta, 0)), uint64(max(-o.Delta, 0))
			e = store.Entry(e.Key, store.CounterAt(slots))
		}
	}
	return e
}

// WriteAnswered records replica r's answer to write o: nil if the write
// is durable there, else r's refusal.
func (o *Op) WriteAnswered(r uint16, err error) Do {
	return o.writeDo(o.W.Answer(r, err == nil), err)
}

// Resent is what follows once write o went again on a newer ring
// (Write.Resend, Write.Reask).
func (o *Op) Resent() Do { return o.writeDo(o.W.Decide(), nil) }

// writeDo is step s of write o with the client's answer; err is the last
// refusal, if any.
func (o *Op) writeDo(s Step, err error) Do {
	w := o.W
	d := Do{Step: s}
	switch s.Reply {
	case Done:
		d.Msg = o.Done
		if d.Msg == nil {
			d.Msg = &net.Done{Version: w.Entry.Stamp}
		}
	case Unavailable:
		d.Msg = errorf(net.CodeUnavailable, "every replica %v refused the write: %v", w.Asked, err)
	case Unknown:
		d.Msg = errorf(net.CodeUnknownOutcome, "%d of %d replicas refused the write (last: %v); it may be on %v", len(w.Failed), len(w.Asked), err, w.Acked)
	}
	return d
}

// WriteTimedOut ends write o at its deadline: replicas that did not
// answer get a hint, and a client still waiting hears that the outcome is
// unknown — the write may yet be applied.
func (o *Op) WriteTimedOut() Do {
	w := o.W
	d := Do{Step: w.TimedOut()}
	if d.Reply == Unknown {
		d.Msg = errorf(net.CodeUnknownOutcome, "%s write: replicas %v of %v acknowledged within %v; it may still be applied",
			LevelName(w.Level), w.Acked, w.Groups, o.cfg.Timeout)
	}
	return d
}

// ReadAnswered records replica r's state v for read o.
func (o *Op) ReadAnswered(r uint16, v store.Version) Do { return o.readDo(o.R.Answer(r, v)) }

// Repaired records that stale replica r took the newest state of read o
// (nil), or not.
func (o *Op) Repaired(r uint16, err error) Do { return o.readDo(o.R.Repaired(r, err == nil)) }

// Decided hands read o what an intent it asked about became (Read.Decided).
func (o *Op) Decided(v store.Version, ok bool) Do { return o.readDo(o.R.Decided(v, ok)) }

// Unresolved ends read o when an intent it asked about could not be looked
// up, err says why: the client hears that the read is unavailable
// (Read.Unresolved).
func (o *Op) Unresolved(err error) Do {
	r := o.R
	d := Do{Step: r.Unresolved()}
	if d.Reply == Unavailable {
		d.Msg = errorf(net.CodeUnavailable, "%s read: replicas %v of %v answered, but the record of a batch whose undecided write they hold could not be read: %v",
			LevelName(r.Level), r.Answerers(), r.Groups, err)
	}
	return d
}

// ReadTimedOut ends read o at its deadline: a client still waiting hears
// that too few replicas answered.
func (o *Op) ReadTimedOut() Do {
	r := o.R
	d := Do{Step: r.TimedOut()}
	if d.Reply == Unavailable {
		d.Msg = errorf(net.CodeUnavailable, "%s read: replicas %v of %v answered within %v",
			LevelName(r.Level), r.Answerers(), r.Groups, o.cfg.Timeout)
	}
	return d
}

// readDo is step s of read o with the client's answer.
func (o *Op) readDo(s Step) Do {
	if s.Wait && o.cfg.RepairAsync {
		// The planted bug: repair in the background, answer now.
		s = Step{Repair: s.Repair, Reply: Answer, Finish: true}
	}
	d := Do{Step: s}
	if s.Reply == Answer {
		d.Msg = o.answer()
	}
	return d
}

// answer is what read o answers: its result, as a counter's value or as
// the register's (or whether it is live, if the client asked that).
func (o *Op) answer() net.Message {
	if o.Counter {
		return store.CounterAnswer(o.R.Result)
	}
	return store.ReadAnswer(o.R.Result, o.R.Contains)
}

// RepairEntry is what read o sends a stale replica: the newest state it
// found.
func (o *Op) RepairEntry() net.Entry { return store.Entry(o.R.Key, o.R.Newest) }

// Unreachable is the refusal of a request (what, at level) before anything
// is sent, when too few of its replicas are up for it to meet its level —
// live of all the replicas of groups — or nil if enough are; self is the
// node asked.
func Unreachable(what string, groups quorum.Joint, live []uint16, level net.Consistency, self uint16) *net.Error {
	if len(groups) == 0 {
		return errorf(net.CodeUnavailable, "no node owns this key yet (node %d has no ring; is it still joining?)", self)
	}
	if !groups.Met(level, live) {
		return errorf(net.CodeUnavailable, "%s %s needs replicas %v at that level, only %v are up; nothing was done", LevelName(level), what, groups, live)
	}
	return nil
}

// LevelName names level l in the texts of errors: the default is quorum.
func LevelName(l net.Consistency) string {
	if l == net.Default {
		return "quorum"
	}
	return l.String()
}

func errorf(code net.Code, format string, args ...any) *net.Error {
	return &net.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
