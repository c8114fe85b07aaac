package repair

import (
	"bytes"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
)

// Node is what a Driver asks of the node it repairs for. Every method is
// called on the node's loop, and every callback it takes runs there, in a
// later turn. The driver never modifies the keys and messages it is
// handed.
type Node interface {
	// Epoch is the ring epoch the node is at now: the one its arcs are
	// cut at.
	Epoch() uint64
	// AskAgain asks peer m until it is answered with something accepted
	// reports true, a few times over some seconds; done hears the last
	// answer (nil if none came).
	AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message))
	// Send sends peer m in answer to its request id.
	Send(peer uint16, id uint64, m net.Message)
	// Later calls f after d, on the loop.
	Later(d time.Duration, f func())
	// Stopped reports whether the node has stopped.
	Stopped() bool
	// InProgress lists, in key order, the keys in spans on which the
	// node's acceptor holds an accepted proposal newer than the committed
	// version — or, if all, any state at all (a promise above it, too).
	InProgress(spans []net.Span, all bool) [][]byte
	// Acceptor is the node's acceptor state of key.
	Acceptor(key []byte) net.Acceptor
	// Round runs a full Paxos round on key (a serial read that never
	// takes the read-only path): its prepare finds a proposal in progress
	// at any quorum and finishes it. done hears the answer: a *net.Value
	// once the round completed.
	Round(key []byte, done func(net.Message))
	// Repaired counts a proposal in progress finished.
	Repaired()
}

// A Driver runs Paxos repair for a node. Fill in every field before the
// first call.
type Driver struct {
	Node Node
	// ID is the node's id: the owner it does not ask.
	ID uint16
	// Backoff is how long a key whose round failed waits before its
	// first retry (doubling each time).
	Backoff time.Duration
	// Log receives the driver's log.
	Log *slog.Logger
}

// Run finishes every proposal in progress on the arcs in shared (owner →
// arcs), and this node's own, and tells done whether it could.
func (d *Driver) Run(shared map[uint16][]net.Span, done func(ok bool)) {
	var all []net.Span
	for _, o := range slices.Sorted(maps.Keys(shared)) {
		all = append(all, shared[o]...)
	}
	keys := map[string]bool{}
	for _, k := range d.Node.InProgress(all, false) {
		keys[string(k)] = true
	}
	d.Keys(shared, false, func(r *net.PaxosKeysReply) {
		for _, k := range r.Keys {
			keys[string(k)] = true
		}
	}, func(ok bool) {
		if !ok {
			done(false)
			return
		}
		d.Finish(slices.Sorted(maps.Keys(keys)), done)
	})
}

// Keys asks every owner in shared (owner → arcs) but this node for the
// keys of its arcs that PaxosKeys (with states) names, page by page,
// giving each page to take; done hears whether every owner answered all.
func (d *Driver) Keys(shared map[uint16][]net.Span, states bool, take func(*net.PaxosKeysReply), done func(ok bool)) {
	peers := slices.DeleteFunc(slices.Sorted(maps.Keys(shared)), func(p uint16) bool { return p == d.ID })
	movement.All(peers, func(p uint16, done func(bool)) {
		var page func(after []byte)
		page = func(after []byte) {
			// A page must hold what was asked, in key order, past after.
			isReply := func(m net.Message) bool {
				r, ok := m.(*net.PaxosKeysReply)
				if !ok || states && len(r.States) != len(r.Keys) || r.More && len(r.Keys) == 0 {
					return false
				}
				prev := after
				for _, k := range r.Keys {
					if prev != nil && bytes.Compare(k, prev) <= 0 {
						return false
					}
					prev = k
				}
				return true
			}
			d.Node.AskAgain(p, &net.PaxosKeys{Epoch: d.Node.Epoch(), Spans: shared[p], States: states, After: after}, isReply, func(m net.Message) {
				if !isReply(m) {
					d.Log.Debug("no paxos key list", "peer", p, "answer", net.Describe(m))
					done(false)
					return
				}
				r := m.(*net.PaxosKeysReply)
				take(r)
				if r.More {
					page(r.Keys[len(r.Keys)-1])
					return
				}
				done(true)
			})
		}
		page(nil)
	}, done)
}

// Finish runs a full Paxos round on each key, up to InFlight at a time,
// and tells done whether every one completed. The keys' rounds are
// independent, and one at a time a long list cost a movement its
// liveness: on a lossy network a round often waits out a phase share of
// the request timeout for an acceptor, and batch records (one Paxos key
// per batch) can leave dozens of keys in progress (batch seed 15: 50 keys
// took a join's repair 23 s).
func (d *Driver) Finish(keys []string, done func(ok bool)) {
	if len(keys) == 0 {
		done(true)
		return
	}
	d.Log.Info("paxos repair: finishing proposals in progress", "keys", len(keys))
	next, running, over := 0, 0, false
	finish := func(ok bool) {
		if !over {
			over = true
			done(ok)
		}
	}
	var fill func()
	var run func(i, tries int)
	run = func(i, tries int) {
		d.Node.Round([]byte(keys[i]), func(m net.Message) {
			if over {
				return // the step already failed on another key
			}
			if _, ok := m.(*net.Value); ok {
				d.Node.Repaired()
				running--
				fill()
				return
			}
			d.Log.Info("paxos repair: could not finish a proposal", "key", keys[i], "tries", tries+1, "answer", net.Describe(m))
			if d.Node.Stopped() || tries+1 >= keyTries {
				finish(false)
				return
			}
			// A hot key can lose a round to its own clients: try it again
			// on its own, before the whole movement step starts over.
			d.Node.Later(d.Backoff<<tries, func() {
				if !d.Node.Stopped() && !over {
					run(i, tries+1)
				}
			})
		})
	}
	// fill starts keys in order while fewer than InFlight run, and
	// reports success once every key is done.
	fill = func() {
		for !over && running < InFlight && next < len(keys) {
			i := next
			next++
			running++
			run(i, 0)
		}
		if running == 0 && next == len(keys) {
			finish(true)
		}
	}
	fill()
}

// keyTries is how many rounds Paxos repair runs on one key before it gives
// up on the step; InFlight is how many keys it finishes at once.
const (
	keyTries = 3
	InFlight = 16
)

// ServeKeys answers a peer's PaxosKeys; the caller has checked that the
// peer asks at this node's ring.
func (d *Driver) ServeKeys(from uint16, id uint64, m *net.PaxosKeys) {
	r := &net.PaxosKeysReply{}
	if m.States {
		r.States = []net.Acceptor{}
	}
	size := 0
	for _, k := range d.Node.InProgress(m.Spans, m.States) {
		if len(m.After) > 0 && bytes.Compare(k, m.After) <= 0 {
			continue
		}
		var s net.Acceptor
		if m.States {
			s = d.Node.Acceptor(k)
		}
		if size += len(k) + len(s.Value) + 32; len(r.Keys) > 0 && size > PageBytes {
			r.More = true
			break
		}
		r.Keys = append(r.Keys, k)
		if m.States {
			r.States = append(r.States, s)
		}
	}
	d.Node.Send(from, id, r)
}

// PageBytes bounds the bytes of keys and values a PaxosKeysReply carries,
// past its first key (which may hold a value of any size a frame takes).
const PageBytes = 1 << 20
