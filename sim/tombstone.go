package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// Tombstone collection in the simulator (issue 22). A scenario with
// Swarm.Tombstones has its nodes drop tombstones (node/grave.go) after a
// short grace, a few seconds of virtual time, so that graces run out many
// times in a run; its clients delete often, keys that mostly had values;
// and besides the fault kinds it draws, a run gets long faults — a
// partition, a crash or a pause of about one to two graces — the kind a
// tombstone must outlive: a replica away longer than the grace misses the
// delete, its hints expire, and only anti-entropy brings it the tombstone.
//
// What is watched while the run goes on (watchGraves, after every call
// into a node) is each node's store for the workload keys: the highest
// tombstone it has held for each key since its disk was last replaced.
// A replica of the key (by its own ring) that then holds a live value
// stamped below such a tombstone took an older value back, which a store
// that never drops a tombstone cannot do (its versions only move
// forward). tombstone_check.go judges it.

// drawTombstones draws a tombstone scenario's grace, anti-entropy
// interval, operation mix and long faults from the "tombstone" stream, so
// that the rest of the draw is what chaos draws.
func drawTombstones(seed uint64, p *Params) []string {
	x := Stream(seed, "tombstone")
	// At least four request timeouts (2 s): a hint waits half a grace at
	// most from its write's start, and a write waits a timeout before it
	// hints, so a shorter grace leaves hints no time to be sent and a node
	// that runs no anti-entropy (a leaving one) misses writes for good
	// (tombstone 42, drawn at 3.6 s).
	p.TombstoneGrace = logUniform(x, 8*time.Second, 16*time.Second)
	p.AntiEntropy = logUniform(x, 500*time.Millisecond, 4*time.Second)
	// Sets and deletes outweigh reads: most deletes find a value, and a
	// value is often written again after a delete (each write's value is
	// fresh, so a value read names its write). Keys are many and clients
	// slow enough that a deleted key often goes a grace untouched, so
	// that its tombstone may be dropped.
	p.Client.Mix = [4]int{1 + x.IntN(4), 2 + x.IntN(5), 2 + x.IntN(5), x.IntN(2)}
	p.Keys = 16 + x.IntN(100)
	p.Client.ThinkMax = time.Duration(uniform(x, int64(50*time.Millisecond), int64(600*time.Millisecond)))
	// Some compare-and-sets (through Paxos) on the same keys: a key's
	// committed stamp is its version's, which a dropped tombstone takes
	// with it (node/paxos Acceptors.Below).
	p.Client.CAS = x.IntN(3)
	notes := []string{fmt.Sprintf("tombstones: grace %v, anti-entropy every %v, %d keys, mix %v, cas %d, think ≤%v",
		p.TombstoneGrace, p.AntiEntropy, p.Keys, p.Client.Mix, p.Client.CAS, p.Client.ThinkMax)}
	for range 1 + x.IntN(3) {
		f := Fault{At: time.Duration(uniform(x, 0, int64(p.Duration*2/3))).Round(time.Microsecond)}
		long := time.Duration(between(x, 0.6, 2.5) * float64(p.TombstoneGrace)).Round(time.Microsecond)
		switch kind := x.IntN(4); kind {
		case 0, 3:
			f.Kind, f.For = Partition, long
			perm := x.Perm(p.Nodes)
			for _, i := range perm[:1+x.IntN(max(p.Nodes/2, 1))] {
				f.Side = append(f.Side, i+1)
			}
			slices.Sort(f.Side)
			f.OneWay = x.IntN(4) == 0
			if kind == 3 {
				// One node of the side goes down as the partition ends, for
				// longer than a grace: its replicas compared with it while
				// cut off together, and see it no more (a comparison from
				// before a tombstone came must not count as seeing it
				// clean of the tombstone's older values).
				end := max(f.At+long-time.Duration(x.IntN(500))*time.Millisecond, f.At)
				down := time.Duration(between(x, 1.2, 2.5) * float64(p.TombstoneGrace)).Round(time.Microsecond)
				c := Fault{At: end, Kind: Crash, Node: f.Side[x.IntN(len(f.Side))], For: down}
				if c.At < p.Duration {
					p.Faults = append(p.Faults, c)
					notes = append(notes, fmt.Sprintf("tombstones: a long fault:%v", c))
				}
			}
		case 1:
			f.Kind, f.Node, f.For = Crash, 1+x.IntN(p.Nodes), long
		default:
			f.Kind, f.Node, f.For = Pause, 1+x.IntN(p.Nodes), long
		}
		if f.Kind == Partition && p.Nodes < 2 {
			continue
		}
		p.Faults = append(p.Faults, f)
		notes = append(notes, fmt.Sprintf("tombstones: a long fault:%v", f))
	}
	slices.SortStableFunc(p.Faults, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	return notes
}

// graveWatch is what watchGraves saw: per node and key, the highest
// tombstone held, and the times a node took an older value back.
type graveWatch struct {
	keys  [][]byte                    // the workload keys
	marks map[graveSpot]store.Version // the highest tombstone held since the disk was last replaced
	back  []takenBack
	seen  map[takenBack]bool // back, without the time, to record each once
}

// A graveSpot is a key on a node.
type graveSpot struct {
	node net.NodeID
	key  string
}

// takenBack is a node holding a live value stamped below a tombstone it
// held before.
type takenBack struct {
	spot  graveSpot
	value string
	stamp clock.Timestamp
	tomb  clock.Timestamp
	at    time.Duration
}

// watchEvery is how often at most watchGraves looks at a node's store, in
// virtual time: a value taken back and written over again within it goes
// unseen (checkBuried still sees what is left at the end).
const watchEvery = 10 * time.Millisecond

// watchGraves looks at h's store after a call into its node, in a run
// whose nodes drop tombstones.
func (w *world) watchGraves(h *host) {
	if w.p.TombstoneGrace <= 0 || !h.up || h.setAside || h.watched > 0 && w.now-h.watched < watchEvery {
		return
	}
	h.watched = w.now
	in, ok := h.proc.(inspectable)
	if !ok {
		return
	}
	g := w.graves
	if g == nil {
		g = &graveWatch{marks: map[graveSpot]store.Version{}, seen: map[takenBack]bool{}}
		for k := range w.p.Keys {
			g.keys = append(g.keys, []byte(fmt.Sprintf("k%d", k)))
		}
		w.graves = g
	}
	st := in.Store()
	for _, k := range g.keys {
		v, _ := st.Get(k)
		spot := graveSpot{h.id, string(k)}
		if v.Stamp.IsZero() {
			if !slices.Contains(in.Replicas(k), uint16(h.id)) {
				// The node forgot k with its arc (node/grave,
				// Driver.ForgetUnowned), tombstone and all: what it holds of k
				// if the arc comes back is its new replicas' state — a
				// leaving node's push, a stream — which their own marks
				// judge. A replica that missed the delete may rightly
				// hand on the older value while the tombstone's other
				// holders keep it (tombstone seed 3487).
				delete(g.marks, spot)
			}
			continue
		}
		mark := g.marks[spot]
		switch {
		case v.Deleted && mark.Stamp.Less(v.Stamp):
			g.marks[spot] = v
		case v.Live() && v.Stamp.Less(mark.Stamp) && slices.Contains(in.Replicas(k), uint16(h.id)):
			// Only a replica's copy is read: a node that no longer
			// replicates k may take a leftover (a late hint), which it
			// forgets in time (node/grave, Driver.ForgetUnowned).
			b := takenBack{spot: spot, value: string(v.Value), stamp: v.Stamp, tomb: mark.Stamp}
			if !g.seen[b] && len(g.back) < 100 {
				g.seen[b] = true
				b.at = w.now
				g.back = append(g.back, b)
			}
		}
	}
}

// forgetGraves forgets what h's store held: its disk was replaced, and it
// rebuilds from its replicas.
func (w *world) forgetGraves(h *host) {
	if w.graves == nil {
		return
	}
	for _, k := range w.graves.keys {
		delete(w.graves.marks, graveSpot{h.id, string(k)})
	}
}

// tombstones is how many tombstones the running nodes hold that their
// rule may drop, and how many they dropped since they booted.
func (w *world) tombstones() (held int, dropped uint64) {
	for _, h := range w.hosts {
		if t, ok := h.proc.(interface{ Tombstones() (int, uint64) }); ok && h.up {
			n, d := t.Tombstones()
			held, dropped = held+n, dropped+d
		}
	}
	return held, dropped
}
