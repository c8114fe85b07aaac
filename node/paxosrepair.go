package node

import (
	"bytes"
	"maps"
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/paxos"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/stream"
)

// Paxos repair: see node/movement's doc.

// paxosRepair finishes every proposal in progress on the arcs in shared
// (owner → arcs), and this node's own, and tells done whether it could.
func (n *Node) paxosRepair(shared map[uint16][]net.Span, done func(ok bool)) {
	var all []net.Span
	for _, o := range slices.Sorted(maps.Keys(shared)) {
		all = append(all, shared[o]...)
	}
	keys := map[string]bool{}
	for _, k := range n.inProgress(all, false) {
		keys[string(k)] = true
	}
	n.askPaxosKeys(shared, false, func(r *net.PaxosKeysReply) {
		for _, k := range r.Keys {
			keys[string(k)] = true
		}
	}, func(ok bool) {
		if !ok {
			done(false)
			return
		}
		n.finishKeys(slices.Sorted(maps.Keys(keys)), done)
	})
}

// askPaxosKeys asks every owner in shared (owner → arcs) but this node for
// the keys of its arcs that PaxosKeys (with states) names, page by page,
// giving each page to take; done hears whether every owner answered all.
func (n *Node) askPaxosKeys(shared map[uint16][]net.Span, states bool, take func(*net.PaxosKeysReply), done func(ok bool)) {
	peers := slices.DeleteFunc(slices.Sorted(maps.Keys(shared)), func(p uint16) bool { return p == uint16(n.cfg.ID) })
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
			n.askAgain(p, &net.PaxosKeys{Epoch: n.view.Epoch, Spans: shared[p], States: states, After: after}, isReply, func(m net.Message) {
				if !isReply(m) {
					n.env.Log.Debug("no paxos key list", "peer", p, "answer", net.Describe(m))
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

// finishKeys runs a full Paxos round on each key, up to repairsInFlight
// at a time, and tells done whether every one completed. The keys' rounds
// are independent, and one at a time a long list cost a movement its
// liveness: on a lossy network a round often waits out a phase share of
// the request timeout for an acceptor, and batch records (one Paxos key
// per batch, batch.go) can leave dozens of keys in progress (batch seed
// 15: 50 keys took a join's repair 23 s).
func (n *Node) finishKeys(keys []string, done func(ok bool)) {
	if len(keys) == 0 {
		done(true)
		return
	}
	n.env.Log.Info("paxos repair: finishing proposals in progress", "keys", len(keys))
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
		n.repairKey([]byte(keys[i]), func(m net.Message) {
			if over {
				return // the step already failed on another key
			}
			if _, ok := m.(*net.Value); ok {
				n.stats.PaxosRepaired++
				running--
				fill()
				return
			}
			n.env.Log.Info("paxos repair: could not finish a proposal", "key", keys[i], "tries", tries+1, "answer", net.Describe(m))
			if n.stopped || tries+1 >= repairKeyTries {
				finish(false)
				return
			}
			// A hot key can lose a round to its own clients: try it again
			// on its own, before the whole movement step starts over.
			n.later(n.cfg.Gossip.ProbeInterval/4<<tries, func() {
				if !n.stopped && !over {
					run(i, tries+1)
				}
			})
		})
	}
	// fill starts keys in order while fewer than repairsInFlight run, and
	// reports success once every key is done.
	fill = func() {
		for !over && running < repairsInFlight && next < len(keys) {
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

// repairKeyTries is how many rounds Paxos repair runs on one key before it
// gives up on the step; repairsInFlight is how many keys it finishes at
// once.
const (
	repairKeyTries  = 3
	repairsInFlight = 16
)

// repairKey runs a serial read of key as a full round (never the peek):
// its prepare finds a proposal in progress at any quorum and finishes it.
func (n *Node) repairKey(key []byte, done func(net.Message)) {
	n.coordinatePaxos(internalConn, n.await(done), paxos.Request{Kind: paxos.Read, Key: key}, true)
}

// inProgress lists, in key order, the keys in spans on which this node's
// acceptor holds an accepted proposal newer than the committed version —
// or, if all, any state at all (a promise above it, too).
func (n *Node) inProgress(spans []net.Span, all bool) [][]byte {
	var out [][]byte
	for _, k := range n.acceptors.Keys() {
		key := []byte(k)
		if !stream.Contains(spans, ring.Hash(key)) {
			continue
		}
		if s := n.stateOf(key); all || !s.Accepted.IsZero() {
			out = append(out, key)
		}
	}
	return out
}

// paxosKeysFrom answers a peer's PaxosKeys, unless the peer is on another
// ring.
func (n *Node) paxosKeysFrom(from uint16, id uint64, m *net.PaxosKeys) {
	if n.otherRing(from, id, m.Epoch) {
		return
	}
	r := &net.PaxosKeysReply{}
	if m.States {
		r.States = []net.Acceptor{}
	}
	size := 0
	for _, k := range n.inProgress(m.Spans, m.States) {
		if len(m.After) > 0 && bytes.Compare(k, m.After) <= 0 {
			continue
		}
		var s net.Acceptor
		if m.States {
			a, _ := n.acceptors.Get(k)
			s = net.Acceptor{Promised: a.Promised, Accepted: a.Accepted, Value: a.Value}
		}
		if size += len(k) + len(s.Value) + 32; len(r.Keys) > 0 && size > paxosKeysPage {
			r.More = true
			break
		}
		r.Keys = append(r.Keys, k)
		if m.States {
			r.States = append(r.States, s)
		}
	}
	n.send(from, id, r)
}

// paxosKeysPage bounds the bytes of keys and values a PaxosKeysReply
// carries, past its first key (which may hold a value of any size a frame
// takes).
const paxosKeysPage = 1 << 20
