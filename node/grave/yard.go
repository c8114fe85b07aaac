package grave

import (
	"slices"
	"sort"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/view"
)

// A Verdict is what the tombstone rule makes of one grave.
type Verdict uint8

const (
	// Gone: the key holds no longer that tombstone (dropped, or replaced:
	// a newer tombstone has its own grave). The grave is forgotten.
	Gone Verdict = iota
	// Young: the tombstone has not been here for the grace; nor have the
	// graves that came after it. The sweep stops.
	Young
	// Keep: the tombstone is not expired, or not every other replica was
	// seen clean of it. The grave waits for another sweep.
	Keep
	// Drop: the rule allows dropping the tombstone. The node drops it; the
	// grave is forgotten.
	Drop
)

func (v Verdict) String() string {
	switch v {
	case Gone:
		return "gone"
	case Young:
		return "young"
	case Keep:
		return "keep"
	case Drop:
		return "drop"
	}
	return "verdict?"
}

// A Rule is the tombstone rule (the node's grave.go) as one sweep's turn
// applies it: the node's steady time and the clock it read the grace ago,
// the settled ring's arcs, and what anti-entropy saw clean.
type Rule struct {
	Grace   time.Duration
	Now     time.Duration   // steady time
	Expired clock.Timestamp // the clock as it read the grace ago
	Epoch   uint64
	Arcs    []view.Arc // the settled ring's, whose read and write replicas are one
	Self    uint16
	Cleans  *Cleans
	// Unverified (MutantTombstoneUnverified) drops an expired tombstone
	// without asking whether the other replicas were seen clean;
	// StaleClean (MutantTombstoneStaleClean) counts a comparison begun
	// before the tombstone came.
	Unverified, StaleClean bool
}

// Judge is the rule's verdict on grave g, when its key holds v (if held).
func (ru *Rule) Judge(g Grave, v store.Version, held bool) Verdict {
	switch {
	case !held || !v.Tombstone() || v.Stamp != g.Stamp:
		return Gone
	case ru.Now-g.At < ru.Grace:
		return Young
	case ru.Expired.Less(g.Stamp) || !ru.Unverified && !ru.othersClean(g):
		return Keep
	}
	return Drop
}

// othersClean reports whether this node replicates g's key and every
// other replica of it was seen clean for g (Cleans.Seen).
func (ru *Rule) othersClean(g Grave) bool {
	if len(ru.Arcs) == 0 {
		return false
	}
	h := ring.Hash([]byte(g.Key))
	// The arc holding h: the first whose end is at or past h, or the first
	// (which wraps) if none is.
	i := sort.Search(len(ru.Arcs), func(i int) bool { return ru.Arcs[i].Span.End >= h })
	if i == len(ru.Arcs) {
		i = 0
	}
	a, since := ru.Arcs[i], g.At
	if ru.StaleClean {
		since = 0
	}
	for _, id := range a.Read {
		if id != ru.Self && !ru.Cleans.Seen(ru.Epoch, id, a.Span, h, g.Stamp, since) {
			return false
		}
	}
	return slices.Contains(a.Read, ru.Self)
}

// A Yard holds the graves of a node in the order they came, and the sweep
// over them under way, if any: a sweep looks at them a turn at a time
// (the node's loop runs between turns, and graves may come meanwhile),
// keeps those its verdicts keep and forgets the rest.
type Yard struct {
	graves   []Grave
	w, r     int // the sweep's: graves[:w] kept, graves[w:r] forgotten, graves[r:] not looked at yet
	sweeping bool
	next     time.Duration // when the next sweep may begin
}

// Add keeps g, the latest grave.
func (y *Yard) Add(g Grave) { y.graves = append(y.graves, g) }

// Len is the number of graves held (those a sweep under way forgot
// included, until it ends).
func (y *Yard) Len() int { return len(y.graves) }

// Due reports whether a sweep may begin at now — none is under way and
// the last was due every ago or more — and if so makes the next due every
// from now.
func (y *Yard) Due(now, every time.Duration) bool {
	if y.sweeping || now < y.next {
		return false
	}
	y.next = now + every
	return true
}

// Begin begins a sweep.
func (y *Yard) Begin() { y.sweeping, y.w, y.r = true, 0, 0 }

// Turn looks at up to limit graves the sweep has not looked at, in the
// order they came, each judged by judge, and reports whether more are
// left for another turn. It stops at a Young grave: the rest came later.
// judge may drop the tombstone it judges Drop before it returns.
func (y *Yard) Turn(limit int, judge func(Grave) Verdict) (more bool) {
	for end := min(y.r+limit, len(y.graves)); y.r < end; y.r++ {
		g := y.graves[y.r]
		switch judge(g) {
		case Young:
			return false
		case Keep:
			y.graves[y.w] = g
			y.w++
		}
	}
	return y.r < len(y.graves)
}

// End ends the sweep: the graves it kept stay, then those it did not look
// at (those that came during it among them), in the order they came.
func (y *Yard) End() {
	y.graves = append(y.graves[:y.w], y.graves[y.r:]...)
	if cap(y.graves) > 1024 && len(y.graves) < cap(y.graves)/4 {
		y.graves = slices.Clone(y.graves)
	}
	y.sweeping, y.w, y.r = false, 0, 0
}
