package coord

import (
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// A Read is the state of a client's read that a node coordinates: the
// replicas asked, their answers, the newest state among them, and the
// stale replicas it is repairing. The node reads its fields; it changes
// them only through the methods.
type Read struct {
	Key      []byte
	Level    net.Consistency
	Groups   quorum.Joint // the replica sets that must each reach Level
	Contains bool         // the client asked whether the key is live, not for its value
	Asked    []uint16     // replicas asked (the coordinator included), in preference order
	Answers  []ReadAnswer // in the order they came
	// Newest is every answer merged by its kind's rule (store.Merge): what
	// a stale replica is repaired with.
	Newest store.Version
	// Result is what the read answers: Newest as it was when the answers
	// first met the level. An answer that comes while the read waits for
	// its repairs is merged into Newest but not into Result: Result is on
	// a quorum once the repairs are acknowledged, and a newer state on one
	// late replica is not (PAPER bug 32).
	Result store.Version
	// Repairing are the stale answerers a read at quorum or above waits
	// for before it answers, so that a later quorum read cannot see an
	// older value. Nil until the answers first meet the level.
	Repairing []uint16
	// repaired are the stale answerers that took Result.
	repaired []uint16
	// IgnoreIntents is MutantReadersIgnoreIntents: the read answers
	// without deciding the batch intents it finds. looked are the intents
	// it asked about, resolving how many it waits for.
	IgnoreIntents bool
	looked        []store.Intent
	resolving     int

	replied bool
	over    bool
}

// A ReadAnswer is one replica's state of the key.
type ReadAnswer struct {
	From uint16
	V    store.Version
}

// NewRead is a read of key at level over groups; contains if the client
// asked only whether the key is live.
func NewRead(key []byte, level net.Consistency, groups quorum.Joint, contains bool) *Read {
	return &Read{Key: key, Level: level, Groups: groups, Contains: contains}
}

// Ask records that replica r was asked.
func (rd *Read) Ask(r uint16) { rd.Asked = append(rd.Asked, r) }

// Over reports whether the read is finished. Events after that change
// nothing.
func (rd *Read) Over() bool { return rd.over }

// Answerers are the replicas that answered, in the order they did.
func (rd *Read) Answerers() []uint16 {
	ids := make([]uint16, len(rd.Answers))
	for i, a := range rd.Answers {
		ids[i] = a.From
	}
	return ids
}

// Answer records replica r's state v. A late answer — the client has its
// reply — that is stale is repaired in the background. Once the answers
// meet the level in every group the read answers at once below quorum; at
// quorum and above it first repairs the stale answerers and waits until
// the state it returns is held by replicas meeting the level: the stale
// ones that took it (Repaired), or answers that come meanwhile holding it
// or a later state. The read
// finishes once it has answered and every replica asked has answered.
//
// The Repair of a Step is the read's to give: Repaired does not change it.
func (rd *Read) Answer(r uint16, v store.Version) Step {
	if rd.over || slices.ContainsFunc(rd.Answers, func(a ReadAnswer) bool { return a.From == r }) {
		return Step{}
	}
	rd.Answers = append(rd.Answers, ReadAnswer{r, v})
	rd.Newest, _ = store.Merge(rd.Newest, v)
	var s Step
	switch {
	case rd.replied:
		if !store.Covers(v, rd.Newest) {
			s.Repair = []uint16{r}
		}
	case rd.Repairing != nil && rd.held():
		// Waiting for repairs, and this answer already holds the result
		// (or a later state): the result is on enough replicas without
		// the repairs still out, which need not hold the read — one to a
		// replica that stopped answering would until the deadline.
		rd.replied, s.Reply = true, Answer
	case rd.Repairing == nil && rd.Groups.Met(rd.Level, rd.Answerers()):
		s = rd.quorum()
	}
	if len(rd.Answers) == len(rd.Asked) && rd.replied {
		rd.over, s.Finish = true, true
	}
	return s
}

// quorum runs when the answers first meet the level: what they hold now
// is the read's result, once the batch intents among them are decided
// (at every level: at one, with one replica or a write at all, the read
// may be the only one to see a committed batch's intent).
func (rd *Read) quorum() Step {
	if rd.resolving > 0 {
		return Step{}
	}
	if !rd.IgnoreIntents {
		var ask []store.Intent
		for _, i := range rd.Newest.Undecided() {
			if !slices.ContainsFunc(rd.looked, func(l store.Intent) bool { return l.Stamp == i.Stamp && string(l.Token) == string(i.Token) }) {
				ask = append(ask, i)
			}
		}
		if len(ask) > 0 {
			rd.looked = append(rd.looked, ask...)
			rd.resolving = len(ask)
			return Step{Resolve: ask}
		}
	}
	rd.Result = rd.Newest.Settled()
	if rd.Level != net.One {
		for _, a := range rd.Answers {
			if !store.Covers(a.V, rd.Newest) {
				rd.Repairing = append(rd.Repairing, a.From)
			}
		}
	}
	if len(rd.Repairing) == 0 {
		rd.replied = true
		return Step{Reply: Answer}
	}
	// A copy: Repaired shrinks the list while the node walks the Step, and
	// a repair answered at once (the node's own) would make it skip the
	// next stale replica (PAPER bug 33).
	return Step{Repair: slices.Clone(rd.Repairing), Wait: true}
}

// Decided hands the read what an intent it asked about became (v, if ok:
// its batch's write, or an aborted marker; not ok while undecided, and
// the read goes on without it). Once every intent asked about is known,
// the read goes on as the answers meeting the level do.
func (rd *Read) Decided(v store.Version, ok bool) Step {
	if rd.over || rd.replied || rd.resolving == 0 {
		return Step{}
	}
	if ok {
		rd.Newest, _ = store.Merge(rd.Newest, v)
	}
	if rd.resolving--; rd.resolving > 0 {
		return Step{}
	}
	s := rd.quorum()
	if len(rd.Answers) == len(rd.Asked) && rd.replied {
		rd.over, s.Finish = true, true
	}
	return s
}

// Unresolved ends the read when an intent it asked about could not be
// looked up (the serial read of its batch's record failed): the client
// hears Unavailable, as at the deadline. The read can neither answer
// without the intent — its batch may have committed, and an answer that
// leaves out a committed write goes back in time — nor wait for it: that
// lookup is over. Every event that ends a read before it answered tells
// its client so. Unresolved when the read looks up nothing (over,
// answered, or every lookup back) is the zero Step.
func (rd *Read) Unresolved() Step {
	if rd.over || rd.replied || rd.resolving == 0 {
		return Step{}
	}
	rd.resolving = 0
	return rd.TimedOut()
}

// Repaired records that stale replica r took the read's newest state (ok)
// or could not (then the read times out unless it has no other way). Once
// every stale answerer took it, the read answers.
func (rd *Read) Repaired(r uint16, ok bool) Step {
	if rd.over || rd.replied {
		return Step{}
	}
	i := slices.Index(rd.Repairing, r)
	if i < 0 || !ok {
		return Step{}
	}
	rd.Repairing = slices.Delete(rd.Repairing, i, i+1)
	rd.repaired = append(rd.repaired, r)
	if len(rd.Repairing) > 0 && !rd.held() {
		return Step{}
	}
	rd.replied = true
	s := Step{Reply: Answer}
	if len(rd.Answers) == len(rd.Asked) {
		rd.over, s.Finish = true, true
	}
	return s
}

// held reports whether the replicas known to hold Result (or a later
// state) meet the level in every group: answerers whose state covers it,
// and stale answerers that took it.
func (rd *Read) held() bool {
	var holders []uint16
	for _, a := range rd.Answers {
		if store.Covers(a.V, rd.Result) || slices.Contains(rd.repaired, a.From) {
			holders = append(holders, a.From)
		}
	}
	return rd.Groups.Met(rd.Level, holders)
}

// TimedOut ends a read: a client still waiting hears that too few
// replicas answered.
func (rd *Read) TimedOut() Step {
	if rd.over {
		return Step{}
	}
	s := Step{Finish: true}
	if !rd.replied {
		rd.replied, s.Reply = true, Unavailable
	}
	rd.over = true
	return s
}
