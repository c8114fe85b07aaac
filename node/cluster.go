package node

import (
	"encoding/binary"
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/ring"
)

// Phase is where a member stands on the ring. It is encoded in the
// member's ring version, which gossip merges by maximum, so every change of
// phase raises the version and a later phase always wins. Gossip reads odd
// versions as "on the ring" and even ones as "left"; within that, versions
// cycle through joining (1 mod 6), normal (3 mod 6), leaving (5 mod 6) and
// left (0 mod 6), so a node that left and comes back starts a new cycle.
// Any other even version (an operator's removal) is left too.
type Phase uint8

const (
	// PhaseNone: the member has not joined (ring version 0).
	PhaseNone Phase = iota
	// PhaseJoining: the member takes writes for the ranges it will own
	// (as a pending replica, on top of the natural ones) and streams their
	// data; reads do not go to it yet.
	PhaseJoining
	// PhaseNormal: the member owns its ranges for reads and writes.
	PhaseNormal
	// PhaseLeaving: the member still serves reads for its ranges while it
	// hands them to the members that gain them; writes go to those too.
	PhaseLeaving
	// PhaseLeft: the member has handed off its ranges and owns none.
	PhaseLeft
)

func (p Phase) String() string {
	return [...]string{"none", "joining", "normal", "leaving", "left"}[p]
}

// phaseOf is the phase ring version v encodes.
func phaseOf(v uint32) Phase {
	switch {
	case v == 0:
		return PhaseNone
	case v%2 == 0:
		return PhaseLeft
	case v%6 == 1:
		return PhaseJoining
	case v%6 == 3:
		return PhaseNormal
	default:
		return PhaseLeaving
	}
}

// nextVersion is the first version after v whose phase is p.
func nextVersion(v uint32, p Phase) uint32 {
	for w := v + 1; ; w++ {
		if phaseOf(w) == p && (p != PhaseLeft || w%6 == 0) {
			return w
		}
	}
}

// view is the node's picture of the cluster, rebuilt whenever membership
// changes: the ring reads use (members that own their ranges: normal and
// leaving), the ring writes go to as well (normal and joining, so a joining
// member gets every write while it streams and a leaving one's successors
// do too), and every member's address.
type view struct {
	epoch uint64
	read  ring.Ring
	write ring.Ring
	addrs map[uint16]string
	phase map[uint16]Phase
}

// buildView builds the view from member records (id, address, ring
// version, vnodes), given in ascending id order.
func buildView(epoch uint64, ms []memberInfo) view {
	v := view{epoch: epoch, addrs: make(map[uint16]string, len(ms)), phase: make(map[uint16]Phase, len(ms))}
	var rd, wr []ring.Member
	taken, total := map[uint64]bool{}, 0
	// Two members may name one token (explicit tokens an operator chose
	// twice: a join refuses that, but a record may already be out). Members
	// that own their ranges claim tokens first, then joining ones, each in
	// id order, on every node alike: a joining member never takes a token
	// from one that holds the data. A member left with no token, or past
	// the ring's capacity, is off the ring.
	for _, owning := range []bool{true, false} {
		for _, m := range ms {
			p := phaseOf(m.Ring)
			if p == PhaseNone || p == PhaseLeft || (p == PhaseJoining) == owning {
				continue
			}
			var tokens []uint64
			for _, t := range tokensOf(m) {
				if !taken[t] {
					taken[t] = true
					tokens = append(tokens, t)
				}
			}
			if len(tokens) == 0 || total+len(tokens) > ring.MaxRingTokens {
				continue
			}
			total += len(tokens)
			v.phase[m.ID] = p
			rm := ring.Member{ID: m.ID, Tokens: tokens}
			if p == PhaseNormal || p == PhaseLeaving {
				rd = append(rd, rm)
			}
			if p == PhaseNormal || p == PhaseJoining {
				wr = append(wr, rm)
			}
		}
	}
	for _, m := range ms {
		v.addrs[m.ID] = m.Addr
	}
	var err error
	if v.read, err = ring.New(epoch, rd); err != nil {
		panic("node: building the read ring from gossip: " + err.Error())
	}
	if v.write, err = ring.New(epoch, wr); err != nil {
		panic("node: building the write ring from gossip: " + err.Error())
	}
	return v
}

// memberInfo is what the node needs of a member to place it on the ring.
type memberInfo struct {
	ID     uint16
	Addr   string
	Ring   uint32
	Vnodes uint16
	Tokens []uint64 // explicit tokens, if any (then Vnodes is 0)
}

// tokensOf is where member m sits on the ring: its explicit tokens, or
// its virtual ones.
func tokensOf(m memberInfo) []uint64 {
	if len(m.Tokens) > 0 {
		return m.Tokens
	}
	return ring.VirtualTokens(m.ID, int(max(m.Vnodes, 1)))
}

// groups are the replica sets a request must satisfy for key: the
// replicas on the read ring and, while a member joins or leaves, those on
// the write ring too. A request needs its level's count from each group
// (joint quorums, as in a joint-consensus configuration change), so a
// request made on either side of a ring change meets any other made on
// either side. all is every replica in any group, in preference order.
func (n *Node) groups(key []byte) (gs quorum.Joint, all []uint16) {
	rf := n.cfg.ReplicationFactor
	old := n.view.read.Replicas(key, rf)
	next := n.view.write.Replicas(key, rf)
	if len(old) == 0 {
		// No member owns its ranges yet as far as this node knows (it is
		// joining and has not heard from the cluster): no replica set.
		return nil, nil
	}
	gs = append(gs, old)
	if len(next) > 0 && !slices.Equal(sorted(old), sorted(next)) {
		gs = append(gs, next)
	}
	return gs, gs.All()
}

func sorted(ids []uint16) []uint16 {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

// peer is where to send to member id.
func (n *Node) peer(id uint16) net.Peer {
	return net.Peer{ID: net.NodeID(id), Addr: n.view.addrs[id]}
}

// up reports whether member id is worth sending to: this node, or a member
// the failure detector has not declared dead.
func (n *Node) up(id uint16) bool {
	if id == uint16(n.cfg.ID) {
		return true
	}
	return n.gossip.Alive(id)
}

// send sends m to member id as a frame with request id rid.
func (n *Node) send(id uint16, rid uint64, m net.Message) {
	n.env.Transport.Send(n.peer(id), net.Frame{ID: rid, Clock: n.lamport.Now(), Msg: m})
}

// spans converts ring ranges to wire spans.
func spans(rs []ring.Range) []net.Span {
	ss := make([]net.Span, len(rs))
	for i, r := range rs {
		ss[i] = net.Span{Start: r.Start, End: r.End}
	}
	return ss
}

// inSpans reports whether ring position h lies in one of ss.
func inSpans(h uint64, ss []net.Span) bool {
	for _, s := range ss {
		if (ring.Range{Start: s.Start, End: s.End}).Contains(h) {
			return true
		}
	}
	return false
}

// memberKey is the log key of a member record.
func memberKey(id uint16) []byte { return binary.BigEndian.AppendUint16(nil, id) }

// sortedKeys returns m's keys in ascending order.
func sortedKeys[V any](m map[uint16]V) []uint16 {
	ks := make([]uint16, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Replicas is key's preference list on the ring reads use, for checkers
// and the admin API.
func (n *Node) Replicas(key []byte) []uint16 {
	return n.view.read.Replicas(key, n.cfg.ReplicationFactor)
}

// Epoch is the ring epoch the node is at.
func (n *Node) Epoch() uint64 { return n.view.epoch }

// RingJSON describes the node's view of the cluster for the admin API:
// every member with its address, phase and liveness, and the ring epoch.
func (n *Node) RingJSON() any {
	type member struct {
		ID          uint16 `json:"id"`
		Addr        string `json:"addr"`
		Phase       string `json:"phase"`
		State       string `json:"state"`
		Incarnation uint64 `json:"incarnation"`
	}
	out := struct {
		Epoch       uint64   `json:"epoch"`
		Replication int      `json:"replication_factor"`
		Read        []uint16 `json:"read_ring"`
		Write       []uint16 `json:"write_ring"`
		Members     []member `json:"members"`
		Hints       int      `json:"hints_pending"`
	}{Epoch: n.view.epoch, Replication: n.cfg.ReplicationFactor, Read: n.view.read.IDs(), Write: n.view.write.IDs(), Hints: n.HintsPending()}
	if n.gossip != nil {
		for _, m := range n.gossip.Members() {
			out.Members = append(out.Members, member{m.ID, m.Addr, phaseOf(m.Ring).String(), m.State.String(), m.Incarnation})
		}
	}
	return out
}
