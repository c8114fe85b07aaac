package gossip

import (
	"container/heap"
	"encoding/binary"
	"flag"
	"fmt"
	"hash"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the simulated-network tests (0: each test's fixed seed)")

// testSeed returns the seed a simulated test runs with, and logs how to
// reproduce it.
func testSeed(t testing.TB, def uint64) uint64 {
	t.Helper()
	s := def
	if *seedFlag != 0 {
		s = *seedFlag
	}
	t.Logf("reproduce: go test ./node/gossip -run '^%s$' -seed %d", t.Name(), s)
	return s
}

// sim is a simulated network of Gossips: one loop over a time-ordered event
// queue, with seeded latency, loss and one-way cuts. Nodes persist their
// Changes to a simulated disk, which Restore reads back after a crash.
type sim struct {
	t     tb
	cfg   Config
	rng   *rand.Rand
	now   time.Duration
	queue events
	seq   uint64
	nodes []*simNode // by id; nodes[0] unused
	addrs map[string]uint16

	loss       float64
	cut        map[[2]uint16]bool // [from, to] dropped
	latency    [2]time.Duration   // min, max
	tickEvery  time.Duration
	trace      hash.Hash64 // every message sent: time, from, to, payload
	sent, lost int
}

type simNode struct {
	id   uint16
	addr string
	g    *Gossip // nil while down
	life int     // bumped on crash, so the ticks of a past life are dropped
	disk map[uint16]Member
	// seen logs every record this node's Changes reported, in order.
	seen []observed
}

type observed struct {
	at time.Duration
	m  Member
}

type event struct {
	at      time.Duration
	seq     uint64
	to      uint16
	life    int    // ticks: the life they belong to
	from    uint16 // deliveries: the sender
	payload []byte // nil for a tick
}

type events []event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// tb is what the simulator needs of a test: testing.TB and rapid.T both.
type tb interface {
	Helper()
	Logf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newSim(t tb, seed uint64, cfg Config) *sim {
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &sim{
		t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seed, 0x5eed)),
		nodes: []*simNode{nil}, addrs: map[string]uint16{}, cut: map[[2]uint16]bool{},
		latency: [2]time.Duration{time.Millisecond, 10 * time.Millisecond}, tickEvery: cfg.ProbeInterval / 4,
		trace: fnv.New64a(),
	}
}

func (s *sim) push(e event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.queue, e)
}

// add creates node id (ids are added in order 1, 2, ...) without starting it.
func (s *sim) add() *simNode {
	id := uint16(len(s.nodes))
	n := &simNode{id: id, addr: fmt.Sprintf("n%d:7000", id), disk: map[uint16]Member{}}
	s.nodes = append(s.nodes, n)
	s.addrs[n.addr] = id
	return n
}

// start boots node id at the current time: New, Restore from its disk, Start.
func (s *sim) start(id uint16, seeds ...uint16) {
	n := s.nodes[id]
	g, err := New(Member{ID: id, Addr: n.addr, Vnodes: 8, Ring: 1}, s.cfg, rand.New(rand.NewPCG(s.rng.Uint64(), uint64(id))))
	if err != nil {
		s.t.Fatal(err)
	}
	var ms []Member
	for _, k := range slices.Sorted(maps.Keys(n.disk)) {
		ms = append(ms, n.disk[k])
	}
	g.Restore(ms)
	n.g = g
	var addrs []string
	for _, sd := range seeds {
		addrs = append(addrs, s.nodes[sd].addr)
	}
	s.handle(id, g.Start(s.now, addrs))
	s.push(event{at: s.now + time.Duration(s.rng.Int64N(int64(s.tickEvery))), to: id, life: n.life})
}

func (s *sim) crash(id uint16) {
	n := s.nodes[id]
	n.g = nil
	n.life++
}

func (s *sim) leave(id uint16) { s.handle(id, s.nodes[id].g.Leave()) }

// handle sends what node from's Gossip returned, and persists its changes.
func (s *sim) handle(from uint16, outs []Out) {
	n := s.nodes[from]
	for _, m := range n.g.Changes() {
		n.disk[m.ID] = m
		n.seen = append(n.seen, observed{s.now, m})
	}
	for _, o := range outs {
		to := uint16(o.To.ID)
		if to == 0 {
			to = s.addrs[o.To.Addr]
		} else if s.nodes[to].addr != o.To.Addr {
			s.t.Fatalf("node %d sent to %d at %q, which listens at %q", from, to, o.To.Addr, s.nodes[to].addr)
		}
		var b [8 + 2 + 2]byte
		binary.BigEndian.PutUint64(b[:], uint64(s.now))
		binary.BigEndian.PutUint16(b[8:], from)
		binary.BigEndian.PutUint16(b[10:], to)
		s.trace.Write(b[:])
		s.trace.Write(o.Payload)
		s.sent++
		if to == 0 || s.cut[[2]uint16{from, to}] || (s.loss > 0 && s.rng.Float64() < s.loss) {
			s.lost++
			continue
		}
		lat := s.latency[0] + time.Duration(s.rng.Int64N(int64(s.latency[1]-s.latency[0])+1))
		s.push(event{at: s.now + lat, to: to, from: from, payload: o.Payload})
	}
}

// run processes events up to and including time until.
func (s *sim) run(until time.Duration) {
	for len(s.queue) > 0 && s.queue[0].at <= until {
		e := heap.Pop(&s.queue).(event)
		s.now = e.at
		n := s.nodes[e.to]
		if e.payload == nil {
			if n.g == nil || e.life != n.life {
				continue
			}
			s.handle(e.to, n.g.Tick(s.now))
			s.push(event{at: s.now + s.tickEvery, to: e.to, life: n.life})
			continue
		}
		if n.g == nil {
			continue
		}
		outs, err := n.g.Receive(s.now, e.from, e.payload)
		if err != nil {
			s.t.Fatalf("node %d receiving from %d at %v: %v", e.to, e.from, s.now, err)
		}
		s.handle(e.to, outs)
	}
	s.now = until
}

// runUntil runs until cond holds, checked every step of virtual time, or
// limit passes. It returns when cond first held and whether it did.
func (s *sim) runUntil(limit time.Duration, cond func() bool) (time.Duration, bool) {
	const step = 50 * time.Millisecond
	end := s.now + limit
	for s.now < end {
		if cond() {
			return s.now, true
		}
		s.run(s.now + step)
	}
	return s.now, cond()
}

// up lists the ids of running nodes.
func (s *sim) up() []uint16 {
	var ids []uint16
	for _, n := range s.nodes[1:] {
		if n.g != nil {
			ids = append(ids, n.id)
		}
	}
	return ids
}

// state is node a's view of member b (false if a is down or knows no b).
func (s *sim) state(a, b uint16) (State, bool) {
	if s.nodes[a].g == nil {
		return 0, false
	}
	m, ok := s.nodes[a].g.Member(b)
	return m.State, ok
}

// allSee reports whether every running node in viewers sees every member in
// about in state st.
func (s *sim) allSee(viewers, about []uint16, st State) bool {
	for _, a := range viewers {
		for _, b := range about {
			if got, ok := s.state(a, b); !ok || got != st {
				return false
			}
		}
	}
	return true
}

// converged reports whether all the given nodes hold identical Members.
func (s *sim) converged(ids []uint16) bool {
	if len(ids) == 0 {
		return true
	}
	want := s.nodes[ids[0]].g.Members()
	for _, id := range ids[1:] {
		if !slices.EqualFunc(want, s.nodes[id].g.Members(), sameMember) {
			return false
		}
	}
	return true
}

// diff describes how the nodes' views differ, for failure messages.
func (s *sim) diff(ids []uint16) string {
	if len(ids) == 0 {
		return ""
	}
	var out string
	want := s.nodes[ids[0]].g.Members()
	for _, id := range ids[1:] {
		if d := cmp.Diff(want, s.nodes[id].g.Members()); d != "" {
			out += fmt.Sprintf("node %d vs node %d (-%d +%d):\n%s", ids[0], id, ids[0], id, d)
		}
	}
	return out
}

// boot adds and starts n nodes, all through node 1, 100ms apart, and runs
// until each knows every other Alive. It returns the ids.
func (s *sim) boot(n int) []uint16 {
	s.t.Helper()
	var ids []uint16
	for i := range n {
		id := s.add().id
		ids = append(ids, id)
		if i == 0 {
			s.start(id)
		} else {
			s.start(id, 1)
		}
		s.run(s.now + 100*time.Millisecond)
	}
	if _, ok := s.runUntil(5*time.Minute, func() bool { return s.allSee(ids, ids, Alive) }); !ok {
		s.t.Fatalf("%d nodes did not all learn each other:\n%s", n, s.diff(ids))
	}
	return ids
}

// firstSeen returns when node a first recorded member b in state st.
func (s *sim) firstSeen(a, b uint16, st State) (time.Duration, bool) {
	for _, o := range s.nodes[a].seen {
		if o.m.ID == b && o.m.State == st {
			return o.at, true
		}
	}
	return 0, false
}

func without(ids []uint16, drop ...uint16) []uint16 {
	return slices.DeleteFunc(slices.Clone(ids), func(id uint16) bool { return slices.Contains(drop, id) })
}

// sameMember reports whether two records are the same record.
func sameMember(a, b Member) bool { return Compare(a, b) == 0 && a.ID == b.ID }
