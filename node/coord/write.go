package coord

import (
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// Reply is what a request's client hears, if anything yet.
type Reply uint8

const (
	// Wait: nothing yet.
	Wait Reply = iota
	// Done: the write is durable on its level's count of replicas in every
	// group.
	Done
	// Answer: the read answers with the state its quorum held (Read.Result).
	Answer
	// Unavailable: certainly not done — every replica refused the write,
	// or too few answered the read in time.
	Unavailable
	// Unknown: the write may or may not be applied — some replicas refused
	// it or did not answer in time, and some may have it.
	Unknown
)

func (r Reply) String() string {
	switch r {
	case Done:
		return "done"
	case Answer:
		return "answer"
	case Unavailable:
		return "unavailable"
	case Unknown:
		return "unknown"
	}
	return "wait"
}

// A Step is what the node must do after a request took an event, in this
// order: hint the write to Hint, send the read's newest state to Repair,
// tell the client Reply, forget the request if Finish. The zero Step does
// nothing: the event was late (the request is over) or a duplicate.
type Step struct {
	// Hint are replicas that did not take the write: keep it for them
	// (hinted handoff).
	Hint []uint16
	// Repair are replicas whose answer to the read was older than its
	// newest state. If Wait, the read waits for each to acknowledge
	// (Read.Repaired) before it answers; else the repair wants no answer.
	Repair []uint16
	Wait   bool
	// Resolve are undecided batch intents a read found: the node looks up
	// each one's record and hands the read what it decided (Read.Decided).
	Resolve []store.Intent
	Reply   Reply
	Finish  bool
}

// A Write is the state of a client's write that a node coordinates: the
// stamped entry, the replicas it went to and what each answered. The node
// reads its fields; it changes them only through the methods.
//
// Acked, Failed and Stale are disjoint and within Asked: a replica asked
// has one answer at most (Answer says why), so every replica has answered
// exactly when Acked and Failed together are as many as Asked.
type Write struct {
	Entry net.Entry // the write, stamped
	Level net.Consistency
	// Groups are the replica sets that must each reach Level; Epoch is the
	// ring epoch they were chosen at.
	Groups quorum.Joint
	Epoch  uint64
	Asked  []uint16 // replicas sent to (the coordinator included), in preference order
	Acked  []uint16 // replicas that made the write durable
	Failed []uint16 // replicas that refused it
	// Stale are replicas that refused the write as made on an older ring
	// than theirs: nothing was applied there (Fenced).
	Stale []uint16
	// Hinted are replicas the write was kept for as a hint: each gets one
	// hint of it at most (PAPER bug 34).
	Hinted []uint16

	resending bool // a resend on a newer ring is scheduled
	replied   bool
	over      bool
}

// NewWrite is write e at level, sent to the replicas in asked, which the
// groups of the ring at epoch name.
func NewWrite(e net.Entry, level net.Consistency, groups quorum.Joint, asked []uint16, epoch uint64) *Write {
	return &Write{Entry: e, Level: level, Groups: groups, Asked: asked, Epoch: epoch}
}

// Over reports whether the write is finished: every replica answered, or
// it timed out. Events after that change nothing.
func (w *Write) Over() bool { return w.over }

// Replied reports whether the client has been answered.
func (w *Write) Replied() bool { return w.replied }

// Answer records replica r's answer: ok if the write is durable there,
// not ok if r refused it (then r gets a hint). A late or repeated answer
// is the zero Step.
//
// Each replica asked has one answer at most — acknowledged, refused, or
// fenced (Fenced) — until the write is sent to it again (Reask, Restamp).
// Frames are duplicated, and the copies of one, or the frames of two
// attempts (an old one's answer may come after a resend), can be answered
// differently: a replica that refused a write and then learned a newer
// ring fences a copy. So a refusal or a fence from a replica that has an
// answer is the zero Step — the first was acted on (a hint given, a
// resend scheduled) — and an acknowledgement replaces a refusal or a
// fence: the write is durable there whichever frame it answers (as a
// Paxos round takes an acceptance after a fenced copy, PAPER bug 77). An
// answer from a replica not asked (one a resend dropped) is the zero Step
// too. Counting a replica twice reached "every replica answered" while
// one had not: a replica that refused and was then fenced, and that a
// resend dropped from Asked as none of the new ring's, stayed in Failed,
// the write finished before a replica of the new ring answered, which got
// no hint, and at level all the client got no reply.
func (w *Write) Answer(r uint16, ok bool) Step {
	if w.over || !slices.Contains(w.Asked, r) || slices.Contains(w.Acked, r) {
		return Step{}
	}
	var hint []uint16
	switch {
	case ok:
		w.Failed = slices.DeleteFunc(w.Failed, func(id uint16) bool { return id == r })
		w.Stale = slices.DeleteFunc(w.Stale, func(id uint16) bool { return id == r })
		w.Acked = append(w.Acked, r)
	case slices.Contains(w.Failed, r) || slices.Contains(w.Stale, r):
		return Step{}
	default:
		w.Failed = append(w.Failed, r)
		if w.Hint(r) {
			hint = []uint16{r}
		}
	}
	s := w.Decide()
	s.Hint = hint
	return s
}

// Hint records that the write is to be kept for replica r as a hint (it
// was down when the write was sent, or refused it, or never answered) and
// reports whether r is due one: a replica gets one hint of a write.
func (w *Write) Hint(r uint16) bool {
	if slices.Contains(w.Hinted, r) {
		return false
	}
	w.Hinted = append(w.Hinted, r)
	return true
}

// Decide gives the client its reply once the answers decide the write,
// and finishes the write once every replica asked has answered: Done as
// soon as the level is met in every group; once it no longer can be,
// Unavailable if every replica refused, else Unknown.
func (w *Write) Decide() Step {
	if w.over {
		return Step{}
	}
	var s Step
	switch {
	case w.replied:
	case w.Groups.Met(w.Level, w.Acked):
		w.replied, s.Reply = true, Done
	case w.Groups.Result(w.Level, w.Asked, w.Acked, w.Failed) == quorum.Lost:
		w.replied, s.Reply = true, Unknown
		if len(w.Acked) == 0 && len(w.Failed) == len(w.Asked) {
			s.Reply = Unavailable
		}
	}
	if len(w.Acked)+len(w.Failed) == len(w.Asked) {
		w.over, s.Finish = true, true
	}
	return s
}

// Fenced records that replica r refused the write as made on an older ring
// than its own. It reports whether the node should now schedule a resend
// (one at a time): once the node's ring has moved on, Resend sends the
// write to the new ring's replicas that have not acknowledged it, so a
// range movement does not turn writes made meanwhile into unknown
// outcomes. Until then r counts as not having answered. A fence is an
// answer, as Answer says: one from a replica that has an answer, or that
// the write does not ask, is nothing.
func (w *Write) Fenced(r uint16) (schedule bool) {
	if w.over || !slices.Contains(w.Asked, r) || slices.Contains(w.Acked, r) || slices.Contains(w.Failed, r) || slices.Contains(w.Stale, r) {
		return false
	}
	w.Stale = append(w.Stale, r)
	if w.resending {
		return false
	}
	w.resending = true
	return true
}

// Resend moves the write to the groups of the ring at epoch, whose
// replicas are all. Replicas of the old ring that refused it as stale and
// are none of the new are no longer waited for (nor hinted): nothing was
// applied there. The node then calls Reask for each replica in all, in
// order, and Decide.
func (w *Write) Resend(groups quorum.Joint, all []uint16, epoch uint64) {
	w.resending = false
	w.Asked = slices.DeleteFunc(w.Asked, func(r uint16) bool { return slices.Contains(w.Stale, r) && !slices.Contains(all, r) })
	w.Groups, w.Epoch, w.Stale = groups, epoch, nil
}

// Reask reports whether replica r of the new ring must be sent the write
// again (it has not acknowledged it), and if so counts it as asked and
// forgets any refusal from it.
func (w *Write) Reask(r uint16) bool {
	if slices.Contains(w.Acked, r) {
		return false
	}
	w.Failed = slices.DeleteFunc(w.Failed, func(id uint16) bool { return id == r })
	if !slices.Contains(w.Asked, r) {
		w.Asked = append(w.Asked, r)
	}
	return true
}

// Restamp gives the write stamp t, the node's answer to a replica's
// refusal of its stamp as at or below a tombstone floor (net.CodeStaleStamp)
// before the client was answered: every answer to the old stamp is
// forgotten (a replica that took it may have taken it under a tombstone,
// where it counts for nothing), and the node sends the write to every
// replica in Asked again. Replicas refused as stale (Fenced) are asked
// again too.
func (w *Write) Restamp(t clock.Timestamp) {
	w.Entry.Stamp = t
	w.Acked, w.Failed, w.Hinted, w.Stale = nil, nil, nil, nil
}

// TimedOut ends a write whose replicas did not all answer in time: those
// that did not answer get a hint, and a client still waiting hears that
// the outcome is unknown — the write may yet be applied.
func (w *Write) TimedOut() Step {
	if w.over {
		return Step{}
	}
	var s Step
	for _, r := range w.Asked {
		if !slices.Contains(w.Acked, r) && !slices.Contains(w.Failed, r) && w.Hint(r) {
			s.Hint = append(s.Hint, r)
		}
	}
	if !w.replied {
		w.replied, s.Reply = true, Unknown
	}
	w.over, s.Finish = true, true
	return s
}
