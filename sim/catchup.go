package sim

import (
	"maps"
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/stream"
)

// The catch-up checker (issue 19). What catch-up promises is narrower
// than "a restarted node holds every write acknowledged on its ranges":
// a node's mark for an origin is the highest counter among that origin's
// writes it logged, not a prefix it holds without gaps, so a write it
// missed before it crashed (lost on the way, hinted) under a later write
// of the same origin that it did get is below its mark, and catch-up does
// not fetch it; hints and anti-entropy do, later. Quorums still meet, so
// no read misses it (a write acknowledged at W was acknowledged by W
// replicas other than this one). What catch-up does promise, and what is
// checked here, is this: when a restarted node's catch-up reports done, it
// holds, for every key in the arcs it pulled, the version its source held
// when it was asked, unless that version is at or below the node's boot
// mark for the version's origin (store.Seen).
//
// The checker only observes. When a node sends the first Sync of a pull
// with marks (catch-up; joins and anti-entropy send none), it takes from
// the source's store, at that instant, each key in the Sync's spans whose
// version the node's boot marks (node.BootMarks, not the marks the Sync
// carries) do not cover: the source's store only grows, so what
// it scans later covers it. A later first Sync covering a key replaces
// the key's expectation (a retry, or the next round after a failed one,
// perhaps from another source). When the node's count of completed
// catch-ups rises, every expected key it still replicates must be covered
// by its store.

// catchUpWant is what a node's catch-up must bring, by key.
type catchUpWant struct {
	v    store.Version
	from net.NodeID
}

// expectCatchUp records what source must hand h for the first Sync of a
// catch-up pull, m.
func (w *world) expectCatchUp(h *host, to net.NodeID, m *net.Sync) {
	if len(m.Marks) == 0 || len(m.After) != 0 || int(to) < 1 || int(to) > len(w.hosts) {
		return
	}
	src := w.hosts[to-1]
	in, ok := src.proc.(inspectable)
	if !ok || !src.up {
		return
	}
	// The marks the node's log held at boot, not those the Sync carries:
	// a node that asks past the wrong marks is what this is for.
	bm, ok := h.proc.(interface{ BootMarks() []net.Mark })
	if !ok {
		return
	}
	marks := make(map[uint16]uint64, len(m.Marks))
	for _, mk := range bm.BootMarks() {
		marks[mk.Origin] = mk.Counter
	}
	if h.catchUp == nil {
		h.catchUp = map[string]catchUpWant{}
	}
	for k := range in.Store().Listed() {
		if !stream.Contains(m.Spans, ring.Hash([]byte(k))) {
			continue
		}
		if v, _ := in.Store().Get([]byte(k)); !store.Seen(v, marks) {
			h.catchUp[k] = catchUpWant{v, to}
		} else {
			delete(h.catchUp, k)
		}
	}
}

// checkCatchUp runs after every call into h's node: if the node's count
// of completed catch-ups rose, it must hold what its sources had.
func (w *world) checkCatchUp(h *host) {
	st, ok := h.proc.(interface{ Stats() node.Stats })
	if !ok || !h.up {
		return
	}
	n := st.Stats().CatchUps
	if n == h.catchUps {
		return
	}
	h.catchUps = n
	want := h.catchUp
	h.catchUp = nil
	in, ok := h.proc.(inspectable)
	if !ok {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !slices.Contains(in.Replicas([]byte(k)), uint16(h.id)) {
			continue // no longer its key: the ring moved since it asked
		}
		cur, _ := in.Store().Get([]byte(k))
		wt := want[k]
		if w.p.TombstoneGrace > 0 && !cur.Live() && (wt.v.Tombstone() || w.heldTombstone(h.id, k, wt.v.Stamp)) {
			// Absent, as the source's tombstone says (one the node dropped
			// or did not store, expired, maybe under an older tombstone
			// that came back), or under a tombstone the node held that
			// covered what the source held (node/grave.go).
			continue
		}
		if !store.Covers(cur, wt.v) {
			w.safety("catch-up: node %d reported its catch-up done at %v holding %s for %.40q, but node %d held %s when asked, stamped past the node's boot mark for its origin",
				h.id, w.now, briefly(cur), k, wt.from, briefly(wt.v))
			return
		}
	}
}
