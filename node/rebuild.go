package node

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/paxos"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
)

// Rebuilding lost state: see node/movement's doc.

// flagRebuilding is the log flag of a node rebuilding lost state.
const flagRebuilding = "rebuilding"

// ErrRebuilding is what a node rebuilding lost state answers for its data
// and its acceptors, and what Leave answers on it.
var ErrRebuilding = fmt.Errorf("%w: the node is rebuilding lost state from its replicas", errUnavailable)

// Rebuilding reports whether the node is rebuilding lost state.
func (n *Node) Rebuilding() bool { return n.life == Rebuilding }

// serving reports whether the node answers for its data and its
// acceptors: not while it has no place on the ring by its own log (it is
// new, or lost its state and has not heard so yet), nor while it rebuilds.
func (n *Node) serving() bool {
	return n.life != Rebuilding && (n.life != Fresh || n.gossip != nil && view.PhaseOf(n.gossip.Self().Ring) != view.None)
}

// servesState reports whether a peer's request m is answered from this
// node's data or acceptors.
func servesState(m net.Message) bool {
	switch m := m.(type) {
	case *net.Read, *net.Prepare, *net.Propose, *net.Peek, *net.Digest, *net.DigestBefore, *net.PaxosKeys, *net.Holds:
		return true
	case *net.Sync:
		return len(m.Spans) > 0 // one for no spans only confirms the ring epoch
	}
	return false
}

// refuseUnserved refuses a peer's request for state the node may not
// serve, and reports whether it did.
func (n *Node) refuseUnserved(from uint16, id uint64, m net.Message) bool {
	if !servesState(m) || n.serving() {
		return false
	}
	if id != 0 {
		n.send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d: %v", n.cfg.ID, n.notServing())})
	}
	return true
}

// notServing says why the node does not serve.
func (n *Node) notServing() error {
	if n.life == Rebuilding {
		return ErrRebuilding
	}
	return fmt.Errorf("%w: node %d has no place on the ring yet", errUnavailable, n.cfg.ID)
}

// lostState checks the member records gossip just changed for this node's
// own: a fresh node that finds itself normal or leaving lost its state. It
// returns the record to log before them (nil if none).
func (n *Node) lostState(changes []gossip.Member) []oplog.Record {
	if n.life != Fresh {
		return nil
	}
	if m, ok := n.gossip.Placement(); ok && n.err == nil {
		// It joined with other tokens: taking its place with these would
		// move its ranges without streaming them.
		n.broke(fmt.Errorf("%w: the cluster has node %d on the ring with %s, and it was started with %s: start it with what it joined with",
			ErrVnodesChanged, n.cfg.ID, tokensDesc(m.Vnodes, m.Tokens), tokensDesc(n.gossip.Self().Vnodes, n.gossip.Self().Tokens)))
		return nil
	}
	self := uint16(n.cfg.ID)
	for _, m := range changes {
		if m.ID != self {
			continue
		}
		if p := view.PhaseOf(m.Ring); p == view.Normal || p == view.Leaving {
			n.life = Rebuilding
			n.stats.Rebuilds++
			n.probe(ProbeStateLost)
			n.env.Log.Warn("this node's log is empty but the cluster has it on the ring: its state was lost; rebuilding from its replicas before it serves", "phase", p)
			return []oplog.Record{flagRecord(flagRebuilding, true)}
		}
	}
	return nil
}

// rebuild streams, repairs and reconciles every arc the node replicates
// (node/movement's doc), then serves; until it succeeds it tries again.
func (n *Node) rebuild() {
	if n.stopped || n.life != Rebuilding {
		return
	}
	again := func(failed string) {
		n.env.Log.Info("rebuild: will try again", "step", failed)
		n.later(n.retryDelay(), n.rebuild)
	}
	if len(movement.Confirmers(n.view, uint16(n.cfg.ID), n.removing)) == 0 {
		// Gossip told this node that it is on the ring before it told it
		// who else is (its own record can ride alone on a peer's
		// message): with no other owner in its view, the rebuild would
		// ask no one and serve an empty store and empty acceptors as a
		// cluster of one (cas-chaos 3129, PAPER bug 70), as startJoin
		// already guards a join against (bug 14).
		again("find the ring's other members")
		return
	}
	running := func() bool { return !n.stopped }
	movement.Sequence(running, again, n.rebuilt, movement.RebuildSteps(mover{n})...)
}

// copyAcceptors asks every owner in shared (owner → arcs) for the acceptor
// state of each key of its arcs that has any, takes over per key the
// highest promise and the highest accepted proposal, and tells done
// whether every owner answered and what it took is durable.
func (n *Node) copyAcceptors(shared map[uint16][]net.Span, done func(ok bool)) {
	got := map[string]net.Acceptor{}
	n.repairs.Keys(shared, true, func(r *net.PaxosKeysReply) {
		for i, k := range r.Keys {
			cur, s := got[string(k)], r.States[i]
			cur.Promised = cur.Promised.Max(s.Promised)
			if cur.Accepted.Less(s.Accepted) {
				cur.Accepted, cur.Value = s.Accepted, s.Value
			}
			got[string(k)] = cur
		}
	}, func(ok bool) {
		if !ok {
			done(false)
			return
		}
		var recs []oplog.Record
		for _, k := range slices.Sorted(maps.Keys(got)) {
			s := got[k]
			recs = append(recs, n.acceptors.TakeOver([]byte(k), paxos.State{Promised: s.Promised, Accepted: s.Accepted, Value: s.Value}, n.committed([]byte(k)))...)
		}
		n.env.Log.Info("rebuild: took acceptor state over", "keys", len(got))
		n.persist(recs, func() { done(true) })
	})
}

// rebuilt clears the rebuilding flag and, once that is durable, serves and
// settles.
func (n *Node) rebuilt() {
	if n.log == nil || n.err != nil {
		return
	}
	if err := n.log.Append(flagRecord(flagRebuilding, false)); err != nil {
		n.env.Log.Warn("rebuild: could not log its end", "err", err)
		n.later(n.retryDelay(), n.rebuild)
		return
	}
	n.log.Commit(func(err error) {
		if errors.Is(err, oplog.ErrNotLogged) {
			n.env.Log.Warn("rebuild: could not log its end", "err", err)
			n.later(n.retryDelay(), n.rebuild)
			return
		}
		if err != nil {
			n.broke(err)
			return
		}
		n.life = Member
		n.bootMarks = stream.Marks(n.marks)
		n.env.Log.Info("rebuilt lost state; serving", "keys", n.store.Len())
		n.settle()
	})
}

// flagRecord is the log record that sets or clears flag.
func flagRecord(flag string, set bool) oplog.Record {
	r := oplog.Record{Type: oplog.TypeFlag, Key: []byte(flag)}
	if set {
		r.Value = []byte{1}
	}
	return r
}

// replayFlag restores a flag from its log record at boot.
func (n *Node) replayFlag(r oplog.Record) error {
	switch string(r.Key) {
	case flagGeneration:
		return n.replayGeneration(r)
	case flagDropped:
		n.droppedAny = len(r.Value) > 0
		return nil
	case flagRebuilding:
		switch {
		case len(r.Value) > 0:
			n.life = Rebuilding
		case n.life == Rebuilding:
			n.life = Fresh // cleared: Start decides
		}
		return nil
	}
	return fmt.Errorf("flag record %q: not a flag this node knows", r.Key)
}

// flagRecords yields the records of the flags set, for compaction.
func (n *Node) flagRecords(yield func(oplog.Record) bool) bool {
	return (n.life != Rebuilding || yield(flagRecord(flagRebuilding, true))) &&
		(!n.droppedAny || yield(flagRecord(flagDropped, true))) && n.incrRecords(yield)
}
