package gossip

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
)

// Out is a message to send: a payload for a net.Gossip frame and where it
// goes. To.ID is 0 for a seed known only by its address.
type Out struct {
	To      net.Peer
	Payload []byte
}

// entry is what a node holds about one member: its record and the local,
// never-gossiped bookkeeping around it.
type entry struct {
	m Member
	// changed: the record changed since the last Changes.
	changed bool
	// queued: the record is waiting to be piggybacked; transmits counts
	// how many messages have carried it since it last changed.
	queued    bool
	transmits int
	// suspectUntil is when a Suspect member is declared Dead.
	suspectUntil time.Duration
}

// Gossip is one node's membership protocol: a deterministic state machine
// with no I/O, goroutines, timers or clock of its own. The node passes time
// in (Tick, Receive), sends the Outs each call returns, and persists the
// records Changes returns. It is not safe for concurrent use: the node's
// single loop owns it.
//
// Everything Gossip does is decided by its inputs and its rng: members are
// walked in id order, never in map order, so two Gossips fed the same calls
// return byte-identical Outs.
type Gossip struct {
	cfg     Config
	rng     *rand.Rand
	self    *entry
	members map[uint16]*entry
	ids     []uint16 // every member's id, self included, sorted
	list    []*entry // every member's entry, in the order of ids

	started bool
	seeds   []string
	// joined: a seed answered one of the push-pulls in seedSeqs (the last
	// few seed rounds' sequence numbers). Until then the node keeps
	// contacting its seeds, even if it meanwhile learned of others: a join
	// whose answer was lost would otherwise leave two clusters that never
	// hear of each other.
	joined   bool
	seedSeqs []uint64
	// placed is the first record of this node heard from others that has
	// it on the ring with other tokens than its own (Placement).
	placed  *Member
	pending []*entry // entries with queued records, in no particular order

	// Probing: the shuffled round-robin order, the probe in flight, the
	// ping-reqs being relayed for others.
	order     []uint16
	next      int
	probe     probe
	nextProbe time.Duration
	seq       uint64
	relays    []relay

	nextPushPull time.Duration
	nextSeed     time.Duration
}

// New returns the protocol for the member self: its ID, Addr and Vnodes, and
// the Incarnation and Ring it last had, if the node knows them (Restore
// raises them to what its log knows). The State given is ignored: a node is
// Alive until it leaves. rng is owned by the node and drawn from only inside
// calls to Gossip. cfg is validated (defaults filled) first.
func New(self Member, cfg Config, rng *rand.Rand) (*Gossip, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("%w: nil rng", ErrConfig)
	}
	self.State = Alive
	if self.Ring >= 2 && self.Ring%2 == 0 {
		self.State = Left
	}
	if err := self.Validate(); err != nil {
		return nil, fmt.Errorf("%w: self: %w", ErrConfig, err)
	}
	g := &Gossip{cfg: cfg, rng: rng, members: map[uint16]*entry{}}
	g.self = g.insert(self)
	return g, nil
}

// Config returns the configuration in use, defaults filled in.
func (g *Gossip) Config() Config { return g.cfg }

// Self returns this node's own record.
func (g *Gossip) Self() Member { return g.self.m }

// insert adds a record for a member not yet known.
func (g *Gossip) insert(m Member) *entry {
	e := &entry{m: m}
	g.members[m.ID] = e
	i, _ := slices.BinarySearch(g.ids, m.ID)
	g.ids = slices.Insert(g.ids, i, m.ID)
	g.list = slices.Insert(g.list, i, e)
	return e
}

// Restore loads the records the node's log holds, before Start: the
// membership the node knew when it stopped, so it can rejoin without
// relearning it and knows nodes that are down. Records merge by the merge
// rule, so Restore may be called with any mix of old and new records. Its
// own record only raises this node's Incarnation and Ring (Addr and Vnodes
// stay as given to New). Records that fail Validate are skipped. Restored
// records are not reported by Changes: the log already holds them. After
// Start, Restore merges records as if they had been gossiped.
func (g *Gossip) Restore(ms []Member) {
	for _, m := range ms {
		if m.Validate() != nil {
			continue
		}
		if g.started {
			g.apply(0, m)
			continue
		}
		if m.ID == g.self.m.ID {
			s := &g.self.m
			s.Incarnation = max(s.Incarnation, m.Incarnation)
			if m.Ring > s.Ring {
				s.Ring, s.State = m.Ring, m.State
				if s.State != Left {
					s.State = Alive
				}
			}
			continue
		}
		if e, ok := g.members[m.ID]; !ok {
			g.insert(m)
		} else if Newer(m, e.m) {
			e.m = m
		}
	}
}

// Start joins the cluster at time now: the node raises its incarnation past
// anything restored (so its Alive record beats whatever others remember of
// it, a Dead one included), takes an odd ring version if it had left (a
// rejoin; a member that never joined keeps version 0, off the ring, until
// its node calls SetRing), and sends a push-pull to each seed address (its own
// address skipped). It goes on contacting its seeds every SeedRetry until
// one answers, and again whenever it knows no live member. With no seeds it
// push-pulls one restored member; with neither it is a cluster of one, which
// others join through it. It returns nil if called again.
func (g *Gossip) Start(now time.Duration, seeds []string) []Out {
	if g.started {
		return nil
	}
	g.started = true
	s := &g.self.m
	s.Incarnation++
	s.State = Alive
	if s.Ring >= 2 && !s.OnRing() {
		s.Ring++
	}
	g.self.changed = true
	for _, a := range seeds {
		if a != "" && a != s.Addr && !slices.Contains(g.seeds, a) {
			g.seeds = append(g.seeds, a)
		}
	}
	timeout := g.cfg.SuspicionTimeout(g.population())
	for _, e := range g.list {
		if e.m.State == Suspect {
			e.suspectUntil = now + timeout
		}
	}
	g.nextProbe = now
	g.nextPushPull = now + g.cfg.PushPullInterval
	g.nextSeed = now + g.cfg.SeedRetry
	outs := g.contactSeeds(nil)
	if len(g.seeds) == 0 {
		if id, ok := g.pick(func(m Member) bool { return m.State != Left }); ok {
			outs = append(outs, g.pushPull(id))
		}
	}
	return outs
}

// Leave makes this node Left, at the next even ring version, and tells every
// live member directly (a ping carrying its record); they spread it on. The
// node should go on calling Receive for a while, so that members that ask
// learn it left; Tick does nothing once it has. Leave before Start, or a
// second time, returns nil.
func (g *Gossip) Leave() []Out {
	s := &g.self.m
	if !g.started || s.State == Left {
		return nil
	}
	s.State = Left
	s.Ring = nextEven(s.Ring)
	g.self.changed = true
	var outs []Out
	for _, e := range g.list {
		if e != g.self && live(e.m) {
			outs = append(outs, g.send(e.m.ID, &message{kind: kindPing, target: e.m.ID}))
		}
	}
	return outs
}

// Remove makes member id Left at its next even ring version, as an operator
// removing a node that will not come back, and queues the record to spread.
// It reports whether anything changed: false for an unknown member, one
// already Left, or this node itself (which leaves with Leave).
func (g *Gossip) Remove(id uint16) bool {
	e, ok := g.members[id]
	if !ok || e == g.self || e.m.State == Left {
		return false
	}
	e.m.State = Left
	e.m.Ring = nextEven(e.m.Ring)
	g.updated(e)
	return true
}

// Move sets member id's ring version to ring, an odd one (a phase on the
// ring), as an operator's removal of a dead member does before it marks it
// Left, and queues the record to spread. It reports whether anything
// changed: false for an unknown member, this node itself (which moves with
// SetRing), a Left one, or a ring version that is even or not higher.
func (g *Gossip) Move(id uint16, ring uint32) bool {
	e, ok := g.members[id]
	if !ok || e == g.self || e.m.State == Left || ring%2 == 0 || ring <= e.m.Ring {
		return false
	}
	e.m.Ring = ring
	g.updated(e)
	return true
}

// Placement returns the first record of this node that others had on the
// ring with other tokens (count of virtual ones, or explicit ones) than
// the node's own, if one came: a node that lost its log and was started
// with other tokens than it joined with learns so here.
func (g *Gossip) Placement() (Member, bool) {
	if g.placed == nil {
		return Member{}, false
	}
	return *g.placed, true
}

// Members returns every member known, self included, sorted by id.
func (g *Gossip) Members() []Member {
	ms := make([]Member, len(g.list))
	for i, e := range g.list {
		ms[i] = e.m
	}
	return ms
}

// Member returns the record of member id.
func (g *Gossip) Member(id uint16) (Member, bool) {
	if e, ok := g.members[id]; ok {
		return e.m, true
	}
	return Member{}, false
}

// Changes returns the records that changed since the last call (or, on the
// first call, since Restore), sorted by id, self included. The node persists
// them, so that Restore can give them back after a restart, and recomputes
// its ring when a Ring field changed or a member appeared (Epoch tells it
// cheaply).
func (g *Gossip) Changes() []Member {
	var ms []Member
	for _, e := range g.list {
		if e.changed {
			e.changed = false
			ms = append(ms, e.m)
		}
	}
	return ms
}

// Epoch is the ring epoch: the sum over all known members of their Ring.
// Each Ring only grows and members are never forgotten, so the epoch is
// monotone; it changes exactly when some member's ring version does (a
// join, a leave, a removal, or learning of a member); and two nodes that
// know the same records have the same epoch.
func (g *Gossip) Epoch() uint64 {
	var sum uint64
	for _, e := range g.list {
		sum += uint64(e.m.Ring)
	}
	return sum
}

// Alive reports the failure detector's view of member id: true if it is
// Alive or Suspect (worth sending to), false if Dead, Left or unknown. This
// node is alive to itself until it leaves.
func (g *Gossip) Alive(id uint16) bool {
	e, ok := g.members[id]
	return ok && live(e.m)
}

func live(m Member) bool { return m.State == Alive || m.State == Suspect }

// population is n in the timeouts' log2(n+1): the members not Left.
func (g *Gossip) population() int {
	n := 0
	for _, e := range g.list {
		if e.m.State != Left {
			n++
		}
	}
	return n
}

// pick draws one member other than self that ok accepts, uniformly from
// those in id order.
func (g *Gossip) pick(ok func(Member) bool) (uint16, bool) {
	var cand []uint16
	for _, e := range g.list {
		if e != g.self && ok(e.m) {
			cand = append(cand, e.m.ID)
		}
	}
	if len(cand) == 0 {
		return 0, false
	}
	return cand[g.rng.IntN(len(cand))], true
}

// updated marks e's record changed: to persist, and to piggyback anew.
func (g *Gossip) updated(e *entry) {
	e.changed = true
	if e == g.self {
		return // every message carries the sender's own record
	}
	if !e.queued {
		e.queued = true
		g.pending = append(g.pending, e)
	}
	e.transmits = 0
}

// apply merges record m, received at now, into what this node knows. It is
// the merge rule plus the one thing only a member does for itself: refute.
func (g *Gossip) apply(now time.Duration, m Member) {
	e, ok := g.members[m.ID]
	if !ok {
		e = g.insert(m)
		g.updated(e)
		if m.State == Suspect {
			e.suspectUntil = now + g.cfg.SuspicionTimeout(g.population())
		}
		return
	}
	if !Newer(m, e.m) {
		return
	}
	if e == g.self {
		g.refute(m)
		return
	}
	old := e.m
	e.m = m
	g.updated(e)
	if m.State == Suspect && (old.State != Suspect || old.Incarnation != m.Incarnation || old.Ring != m.Ring) {
		e.suspectUntil = now + g.cfg.SuspicionTimeout(g.population())
	}
}

// refute handles a record of this node that beats its own. A higher, even
// ring version means it was removed (or left in a life it forgot): Left is
// final, so it takes the record. Otherwise others believe something older
// or worse of it, at an incarnation it must now exceed; it raises its
// incarnation past theirs and stays Alive, unless it has left. Its Addr and
// Vnodes are its own and never taken from others.
func (g *Gossip) refute(m Member) {
	s := &g.self.m
	if g.placed == nil && m.OnRing() && (m.Vnodes != s.Vnodes || !slices.Equal(m.Tokens, s.Tokens)) {
		g.placed = &m
	}
	s.Ring = max(s.Ring, m.Ring)
	if s.Ring >= 2 && !s.OnRing() {
		s.State = Left
		s.Incarnation = max(s.Incarnation, m.Incarnation)
	} else {
		s.State = Alive
		s.Incarnation = max(s.Incarnation, m.Incarnation) + 1
	}
	g.self.changed = true
}
