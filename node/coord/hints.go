package coord

import (
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
)

// Batch is about how many bytes one replay of hints carries: a batch takes
// entries while they fit, and at least one.
const Batch = 256 << 10

// Hints are the writes a coordinator holds for replicas that did not
// acknowledge them, a queue per replica, replayed in batches once the
// replica is up (the node's doc, "Hinted handoff"). Each queue is bounded
// in bytes and in time: see Add. Times are the node's clock since boot.
type Hints struct {
	// Bytes bounds the entries held for one replica (net.Entry.Size).
	Bytes int
	// Window: once a replica has taken none of its hints for this long, no
	// more are kept for it until it takes some.
	Window time.Duration
	// MaxAge, if positive, is how long a hint may wait at most: an older
	// one is dropped before a batch is taken (Expire). A node that drops
	// tombstones needs it: a hint is an old version on its way, and one
	// that arrived after every replica dropped the tombstone that
	// superseded it would bring a deleted value back (node/grave.go).
	MaxAge time.Duration
	// DropLast is MutantHintDropLast: a batch replayed leaves out its last
	// entry, though the replica's acknowledgement drops it.
	DropLast bool

	q map[uint16]*queue
}

type queue struct {
	entries []net.Entry
	at      []time.Duration // when each entry was queued
	// low is at most every at: Expire walks the queue only once the
	// oldest entry may have expired.
	low      time.Duration
	bytes    int
	inflight bool // a batch is being replayed
	// inc is the replica's gossip incarnation when the oldest entry was
	// queued (to tell a hint that outlived a restart); since is when the
	// queue last started or last had a batch taken.
	inc   uint64
	since time.Duration
}

// NewHints is an empty set of queues with those bounds.
func NewHints(bytes int, window, maxAge time.Duration) *Hints {
	return &Hints{Bytes: bytes, Window: window, MaxAge: maxAge, q: make(map[uint16]*queue)}
}

// Add keeps e, of a write that began at began, for replica r at time now,
// when r's incarnation is inc. It reports false, keeping nothing, if e
// would take r's queue over its byte bound, or if r has taken none of its
// hints for longer than the window. A hint's age (MaxAge) counts from
// began.
func (h *Hints) Add(r uint16, e net.Entry, now, began time.Duration, inc uint64) bool {
	q := h.q[r]
	if q == nil {
		q = &queue{}
		h.q[r] = q
	}
	if q.bytes+e.Size() > h.Bytes || len(q.entries) > 0 && now-q.since > h.Window {
		return false
	}
	if len(q.entries) == 0 {
		q.inc, q.since, q.low = inc, now, began
	}
	q.low = min(q.low, began)
	q.entries = append(q.entries, e)
	q.at = append(q.at, began)
	q.bytes += e.Size()
	return true
}

// Expire drops the entries held for r longer than MaxAge at time now,
// unless a batch of them is in flight, and returns how many it dropped. It
// walks the queue only if its oldest entry may be that old (queue.low), so
// that a round of replays costs nothing per hint held (a queue may hold
// half a million).
func (h *Hints) Expire(r uint16, now time.Duration) int {
	q := h.q[r]
	if q == nil || q.inflight || h.MaxAge <= 0 || now-q.low <= h.MaxAge {
		return 0
	}
	kept, bytes := 0, 0
	q.low = now
	for i, e := range q.entries {
		if now-q.at[i] <= h.MaxAge {
			q.entries[kept], q.at[kept] = e, q.at[i]
			kept++
			bytes += e.Size()
			q.low = min(q.low, q.at[i])
		}
	}
	dropped := len(q.entries) - kept
	clear(q.entries[kept:])
	q.entries, q.at, q.bytes = q.entries[:kept], q.at[:kept], bytes
	return dropped
}

// Replicas are the replicas with hints or a batch in flight, in id order.
// Queues that are empty and idle are forgotten.
func (h *Hints) Replicas() []uint16 {
	var rs []uint16
	for r, q := range h.q {
		if len(q.entries) == 0 && !q.inflight {
			delete(h.q, r)
			continue
		}
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// Busy reports whether a batch of r's hints is in flight.
func (h *Hints) Busy(r uint16) bool {
	q := h.q[r]
	return q != nil && q.inflight
}

// Take is r's next batch to replay: its oldest entries, up to about Batch
// bytes. The batch is in flight until Delivered or Lost.
func (h *Hints) Take(r uint16) []net.Entry {
	q := h.must(r, "Take")
	count, size := 0, 0
	for _, e := range q.entries {
		if count > 0 && size+e.Size() > Batch {
			break
		}
		count++
		size += e.Size()
	}
	q.inflight = true
	return slices.Clone(q.entries[:count])
}

// Delivered records that r acknowledged its batch in flight, of count
// entries, at time now, when r's incarnation is inc: the entries are
// dropped, and r takes hints again for another window. It reports whether
// r restarted since the oldest of them was queued.
func (h *Hints) Delivered(r uint16, count int, now time.Duration, inc uint64) (restarted bool) {
	q := h.must(r, "Delivered")
	q.inflight = false
	for _, e := range q.entries[:count] {
		q.bytes -= e.Size()
	}
	// Cut the batch off the front rather than move the rest down, which
	// would cost the whole queue per batch; cleared, the cut entries keep
	// nothing alive, and the next growth of the queue copies only what is
	// left.
	clear(q.entries[:count])
	q.entries, q.at = q.entries[count:], q.at[count:]
	q.since = now
	restarted = inc > q.inc
	q.inc = inc // what is left was queued by now
	return restarted
}

// Lost records that r's batch in flight was not acknowledged: it is kept
// for the next round.
func (h *Hints) Lost(r uint16) { h.must(r, "Lost").inflight = false }

// Pending is the number of entries held, over all replicas.
func (h *Hints) Pending() int {
	c := 0
	for _, q := range h.q {
		c += len(q.entries)
	}
	return c
}

// Held is how many entries and bytes are held for r.
func (h *Hints) Held(r uint16) (entries, bytes int) {
	if q := h.q[r]; q != nil {
		return len(q.entries), q.bytes
	}
	return 0, 0
}

// must is r's queue, which the caller's contract says exists (and, but
// for Take, has a batch in flight).
func (h *Hints) must(r uint16, what string) *queue {
	q := h.q[r]
	switch {
	case q == nil:
		panic(fmt.Sprintf("coord: Hints.%s(%d): no hints are held for it", what, r))
	case what != "Take" && !q.inflight:
		panic(fmt.Sprintf("coord: Hints.%s(%d): no batch is in flight", what, r))
	}
	return q
}

// A Replay is one batch of hints to send replica To: Count entries taken
// (Take), of which Entries are sent — all of them, but for
// MutantHintDropLast.
type Replay struct {
	To      uint16
	Entries []net.Entry
	Count   int
}

// Replay is the batches to send now, at time now: one for each replica
// that up says is up, has hints and none in flight, in id order. Each
// batch is in flight until Answered. Before its batch is taken, a
// replica's hints older than MaxAge are dropped: expired counts them.
func (h *Hints) Replay(now time.Duration, up func(uint16) bool) (batches []Replay, expired int) {
	for _, r := range h.Replicas() {
		if h.Busy(r) {
			continue
		}
		expired += h.Expire(r, now)
		if held, _ := h.Held(r); !up(r) || held == 0 {
			continue
		}
		batch := h.Take(r)
		sent := batch
		if h.DropLast && len(batch) > 0 {
			sent = batch[:len(batch)-1]
		}
		batches = append(batches, Replay{To: r, Entries: sent, Count: len(batch)})
	}
	return batches, expired
}

// Replayed is what became of a batch of hints.
type Replayed struct {
	// Delivered and Dropped count the batch's entries that the replica
	// took, or refused for good; neither, and the batch is kept for the
	// next round.
	Delivered, Dropped int
	// Restarted: the replica restarted since the oldest of them was queued.
	Restarted bool
}

// Answered records replica b.To's answer m to batch b (nil if none came in
// time) at time now, when its incarnation is inc. A Done delivers the
// batch; a definite refusal of an entry the replica will never take (a
// batch's intent on a counter: net.CodeWrongKind, net.CodeTooLarge) drops
// it; anything else keeps it for the next round.
func (h *Hints) Answered(b Replay, m net.Message, now time.Duration, inc uint64) Replayed {
	if e, ok := m.(*net.Error); ok && (e.Code == net.CodeWrongKind || e.Code == net.CodeTooLarge) {
		h.Delivered(b.To, b.Count, now, inc)
		return Replayed{Dropped: b.Count}
	}
	if _, ok := m.(*net.Done); !ok {
		h.Lost(b.To)
		return Replayed{}
	}
	return Replayed{Delivered: b.Count, Restarted: h.Delivered(b.To, b.Count, now, inc)}
}
