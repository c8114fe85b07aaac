package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
)

// Membership and the node's life on the ring: see node/movement's doc.

// startMembership boots gossip from the members the log held.
func (n *Node) startMembership() error {
	self := uint16(n.cfg.ID)
	mine, ok := n.known[self]
	if !ok {
		mine = gossip.Member{ID: self}
	}
	vnodes, tokens := uint16(n.cfg.Vnodes), slices.Sorted(slices.Values(n.cfg.Tokens))
	if len(tokens) > 0 {
		vnodes = 0
	}
	if p := view.PhaseOf(mine.Ring); p != view.None && p != view.Left && (mine.Vnodes != vnodes || !slices.Equal(mine.Tokens, tokens)) {
		// Its tokens are fixed once it joined: others would move its
		// ranges without streaming them.
		return fmt.Errorf("%w: node %d is on the ring with %s, and would move its ranges with %s: start it with what it joined with, or have it leave and join again",
			ErrVnodesChanged, self, tokensDesc(mine.Vnodes, mine.Tokens), tokensDesc(vnodes, tokens))
	}
	mine.Addr, mine.Vnodes, mine.Tokens = n.cfg.Addr, vnodes, tokens
	if mine.Addr == "" {
		mine.Addr = fmt.Sprintf("node-%d", self)
	}
	switch view.PhaseOf(mine.Ring) {
	case view.Left:
		// Its ranges are others' now, and its data stale: coming back would
		// put it on the ring without the movement lock (gossip takes a left
		// member back at once) or, without seeds, straight into every read
		// set. A node id that left stays left.
		return fmt.Errorf("%w: node %d left the cluster; to join again, start a node with a new id and an empty data directory", ErrLeftCluster, self)
	case view.None:
		if len(n.cfg.Seeds) == 0 {
			mine.Ring = view.NextVersion(mine.Ring, view.Normal)
		}
		// With seeds it joins once it holds the movement lock (settle).
		mine.State = gossip.Alive
	}
	g, err := gossip.New(mine, n.cfg.Gossip, n.env.Rand)
	if err != nil {
		return fmt.Errorf("start gossip: %w", err)
	}
	n.gossip = g
	restored := make([]gossip.Member, 0, len(n.known))
	for _, id := range slices.Sorted(maps.Keys(n.known)) {
		if id != self {
			restored = append(restored, n.known[id])
		}
	}
	g.Restore(restored)
	n.sendGossip(g.Start(n.now(), n.cfg.Seeds))
	n.absorb()
	n.rebuildView()
	n.tick()
	// Give gossip a few rounds to find the cluster before streaming.
	n.later(n.spreadDelay(), n.settle)
	n.scheduleAntiEntropy()
	return nil
}

// now is the node's time since it booted, for gossip.
func (n *Node) now() time.Duration { return n.env.Clock.Now().Sub(n.bootTime) }

// tick drives gossip and the node's periodic work.
func (n *Node) tick() {
	if n.stopped {
		return
	}
	n.ticks++
	n.advanceSteady()
	n.sampleClock()
	n.sendGossip(n.gossip.Tick(n.now()))
	n.absorb()
	if n.ticks%4 == 0 {
		n.replayHints()
		n.sweepIntents()
		n.graves.Sweep()
		n.graves.ForgetUnowned()
		n.sweepRecords()
		n.sweepMarkers()
	}
	n.later(n.cfg.Gossip.ProbeInterval/4, n.tick)
}

// gossipFrom handles a gossip message from peer from.
func (n *Node) gossipFrom(from uint16, m *net.Gossip) {
	outs, err := n.gossip.Receive(n.now(), from, m.Payload)
	if err != nil {
		n.env.Log.Warn("dropping a malformed gossip message", "from", from, "err", err)
		return
	}
	n.sendGossip(outs)
	n.absorb()
}

func (n *Node) sendGossip(outs []gossip.Out) {
	for _, o := range outs {
		n.env.Transport.Send(o.To, net.Frame{Clock: n.lamport.Now(), Msg: &net.Gossip{Payload: o.Payload}})
	}
}

// absorb takes what gossip learned: it logs the changed member records and
// rebuilds the view if the ring or an address changed.
func (n *Node) absorb() {
	changes := n.gossip.Changes()
	if len(changes) == 0 {
		return
	}
	reView := false
	recs := n.lostState(changes)
	for _, m := range changes {
		old, had := n.known[m.ID]
		n.known[m.ID] = m
		if !had || old.Ring != m.Ring || old.Addr != m.Addr || old.Vnodes != m.Vnodes || !slices.Equal(old.Tokens, m.Tokens) {
			reView = true
		}
		recs = append(recs, memberRecord(m))
	}
	if n.log != nil && n.err == nil {
		if err := n.log.Append(recs...); err != nil {
			if errors.Is(err, oplog.ErrBroken) {
				n.broke(err)
			}
		} else {
			n.log.Commit(func(err error) {
				if err != nil && !errors.Is(err, oplog.ErrNotLogged) {
					n.broke(err)
				}
			})
		}
	}
	if reView {
		n.rebuildView()
	}
	if self, _ := n.gossip.Member(uint16(n.cfg.ID)); view.PhaseOf(self.Ring) == view.Left && n.life != LeftSelf && n.life != Departed {
		// Another member removed this one (remove.go), or it left in a
		// life its log forgot: its ranges are others' now, and it stops.
		n.life = Departed
		n.env.Log.Warn("this node was removed from the ring (or left before a restart): stopping for good")
	}
}

func (n *Node) rebuildView() {
	old := n.view
	n.view = view.New(n.gossip.Epoch(), n.cfg.ReplicationFactor, n.gossip.Members())
	if old.Epoch != n.view.Epoch {
		n.stats.RingChanges++
		n.env.Log.Info("ring changed", "epoch", n.view.Epoch, "read", n.view.Read.IDs(), "write", n.view.Write.IDs())
	}
}

// phase is this node's own phase.
func (n *Node) phase() view.Phase {
	m, _ := n.gossip.Member(uint16(n.cfg.ID))
	return view.PhaseOf(m.Ring)
}

// setPhase moves this node to phase p and spreads it.
func (n *Node) setPhase(p view.Phase) {
	m, _ := n.gossip.Member(uint16(n.cfg.ID))
	switch p {
	case view.Normal:
		if n.life == Fresh {
			n.life = Member // it took its ranges with their data
		}
	case view.Left:
		n.life = LeftSelf
	}
	n.sendGossip(n.gossip.SetRing(view.NextVersion(m.Ring, p)))
	n.absorb()
	n.env.Log.Info("phase changed", "phase", p)
}

// settle runs once gossip has had time to find the cluster: a joining node
// streams its ranges, a restarted one catches up on what it missed. Until
// it succeeds it tries again.
func (n *Node) settle() {
	if n.stopped {
		return
	}
	if n.life == Rebuilding {
		n.rebuild()
		return
	}
	if n.phase() == view.None && len(n.cfg.Seeds) > 0 {
		n.startJoin()
		return
	}
	joining := n.phase() == view.Joining
	marks := n.bootMarks
	if joining {
		marks = nil // a new node needs everything in its ranges
	}
	if n.mutant(MutantCatchUpLiveMarks) && !joining {
		marks = stream.Marks(n.marks) // the planted bug
	}
	if n.mutant(MutantCatchUpOwnClock) && len(marks) > 0 {
		// The planted bug: one mark, the node's own highest, for all.
		var top uint64
		for _, m := range marks {
			top = max(top, m.Counter)
		}
		marks = slices.Clone(marks)
		for i := range marks {
			marks[i].Counter = top
		}
	}
	n.catchUp(marks, func(ok bool) {
		if n.stopped {
			return
		}
		if !ok {
			n.later(n.retryDelay(), n.settle)
			return
		}
		n.stats.CatchUps++
		n.env.Log.Info("caught up", "joining", joining)
		switch {
		case n.phase() == view.Normal && !joining:
			n.dropOwnLeave()
		case joining && n.phase() == view.Joining:
			n.later(n.retryDelay(), n.finishJoin)
		case n.phase() == view.Leaving && n.life != LeaveAsked:
			// It restarted while leaving (a Leave asked of this
			// incarnation is running already): it still holds the
			// movement lock for the leave, and finishes it.
			n.probe(ProbeLeaveResumed)
			m, _ := n.gossip.Member(uint16(n.cfg.ID))
			n.handOff(movement.Move{ID: uint16(n.cfg.ID), Version: m.Ring}, func(error) {
				n.env.Log.Info("left the cluster (a leave resumed after a restart)")
			})
		}
	})
}

// ErrNotMember is what Leave answers on a node that is not a normal member.
var ErrNotMember = errors.New("node is not a normal member of the ring")

// ErrVnodesChanged is what Start answers on a node on the ring started
// with other tokens (another count of virtual ones, or other explicit
// ones) than it joined with.
var ErrVnodesChanged = errors.New("node's tokens changed")

// ErrTokenTaken is why a node whose explicit tokens another member holds
// stops before it joins.
var ErrTokenTaken = movement.ErrTokenTaken

// tokensDesc describes a member's tokens for an error.
func tokensDesc(vnodes uint16, tokens []uint64) string {
	if len(tokens) > 0 {
		return fmt.Sprintf("explicit tokens %v", tokens)
	}
	return fmt.Sprintf("%d virtual tokens", vnodes)
}

// ErrLeftCluster is what Start answers on a node whose log says it left.
var ErrLeftCluster = errors.New("node left the cluster")

// memberRecord is the log record of member m: incarnation (uvarint),
// state (a byte), ring version and vnodes (uvarints), then the address;
// a member with explicit tokens has a TypeMemberTokens record, with a
// uvarint count and the tokens (uvarints) before the address.
func memberRecord(m gossip.Member) oplog.Record {
	v := binary.AppendUvarint(nil, m.Incarnation)
	v = append(v, byte(m.State))
	v = binary.AppendUvarint(v, uint64(m.Ring))
	v = binary.AppendUvarint(v, uint64(m.Vnodes))
	typ := oplog.TypeMember
	if len(m.Tokens) > 0 {
		typ = oplog.TypeMemberTokens
		v = binary.AppendUvarint(v, uint64(len(m.Tokens)))
		for _, t := range m.Tokens {
			v = binary.AppendUvarint(v, t)
		}
	}
	v = append(v, m.Addr...)
	return oplog.Record{Type: typ, Key: memberKey(m.ID), Value: v}
}

// parseMember decodes a member record.
func parseMember(r oplog.Record) (gossip.Member, error) {
	bad := fmt.Errorf("member record %x: malformed", r.Key)
	if len(r.Key) != 2 {
		return gossip.Member{}, bad
	}
	m := gossip.Member{ID: binary.BigEndian.Uint16(r.Key)}
	v := r.Value
	inc, k := binary.Uvarint(v)
	if k <= 0 || len(v) < k+1 {
		return m, bad
	}
	m.Incarnation, m.State, v = inc, gossip.State(v[k]), v[k+1:]
	ringV, k := binary.Uvarint(v)
	if k <= 0 || ringV > 1<<32-1 {
		return m, bad
	}
	v = v[k:]
	vn, k := binary.Uvarint(v)
	if k <= 0 || vn > 1<<16-1 {
		return m, bad
	}
	m.Ring, m.Vnodes, v = uint32(ringV), uint16(vn), v[k:]
	if r.Type == oplog.TypeMemberTokens {
		count, k := binary.Uvarint(v)
		if k <= 0 || count == 0 || count > gossip.MaxTokens || count > uint64(len(v)-k) {
			return m, bad
		}
		v = v[k:]
		m.Tokens = make([]uint64, count)
		for i := range m.Tokens {
			if m.Tokens[i], k = binary.Uvarint(v); k <= 0 {
				return m, bad
			}
			v = v[k:]
		}
	}
	m.Addr = string(v)
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("member record %d: %w", m.ID, err)
	}
	return m, nil
}
