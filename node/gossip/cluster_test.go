package gossip

import (
	"slices"
	"testing"
	"time"
)

func TestJoinThroughOneSeed(t *testing.T) {
	s := newSim(t, testSeed(t, 1), DefaultConfig())
	ids := s.boot(8)
	t.Logf("8 nodes learned each other by %v", s.now)
	for _, id := range ids {
		if got := s.nodes[id].g.Epoch(); got != 8 {
			t.Errorf("node %d: epoch %d, want 8 (eight members at ring version 1)", id, got)
		}
	}
	if _, ok := s.runUntil(time.Minute, func() bool { return s.converged(ids) }); !ok {
		t.Fatalf("views differ:\n%s", s.diff(ids))
	}
}

func TestCrashedMemberIsSuspectedThenDead(t *testing.T) {
	s := newSim(t, testSeed(t, 2), DefaultConfig())
	ids := s.boot(8)
	crashed := s.now
	s.crash(5)
	rest := without(ids, 5)
	at, ok := s.runUntil(time.Minute, func() bool { return s.allSee(rest, []uint16{5}, Dead) })
	if !ok {
		t.Fatalf("node 5 not Dead everywhere a minute after its crash:\n%s", s.diff(rest))
	}
	t.Logf("crash at %v, Dead everywhere at %v", crashed, at)
	first := time.Duration(1<<63 - 1)
	for _, a := range rest {
		if ts, ok := s.firstSeen(a, 5, Suspect); ok {
			first = min(first, ts)
		}
	}
	if first < crashed {
		t.Fatalf("node 5 suspected at %v, before it crashed at %v", first, crashed)
	}
	timeout := s.cfg.SuspicionTimeout(len(ids))
	for _, a := range rest {
		dead, _ := s.firstSeen(a, 5, Dead)
		if dead < first+timeout {
			t.Errorf("node %d: node 5 Dead at %v, less than the suspicion timeout %v after it was first suspected at %v", a, dead, timeout, first)
		}
	}
	inc := s.nodes[5].disk[5].Incarnation
	for _, a := range rest {
		if m, _ := s.nodes[a].g.Member(5); m.Incarnation != inc || !m.OnRing() {
			t.Errorf("node %d holds %v, want node 5 dead at its incarnation %d, still on the ring", a, m, inc)
		}
	}
}

func TestRestartedMemberRefutesAndCatchesUp(t *testing.T) {
	s := newSim(t, testSeed(t, 3), DefaultConfig())
	ids := s.boot(6)
	s.crash(3)
	rest := without(ids, 3)
	if _, ok := s.runUntil(time.Minute, func() bool { return s.allSee(rest, []uint16{3}, Dead) }); !ok {
		t.Fatalf("node 3 not Dead everywhere:\n%s", s.diff(rest))
	}
	old := s.nodes[3].disk[3].Incarnation
	// Node 7 joins while node 3 is down; node 3 comes back with no seeds,
	// from its log alone.
	s.start(s.add().id, 1)
	rest = append(rest, 7)
	if _, ok := s.runUntil(time.Minute, func() bool { return s.allSee(rest, rest, Alive) }); !ok {
		t.Fatalf("node 7 did not join:\n%s", s.diff(rest))
	}
	restarted := s.now
	s.start(3)
	all := append(slices.Clone(ids), 7)
	at, ok := s.runUntil(time.Minute, func() bool { return s.allSee(all, all, Alive) })
	if !ok {
		t.Fatalf("node 3 not Alive everywhere, or not aware of node 7, a minute after restarting:\n%s", s.diff(all))
	}
	t.Logf("restarted node 3 caught up in %v", at-restarted)
	for _, a := range all {
		if m, _ := s.nodes[a].g.Member(3); m.Incarnation <= old {
			t.Errorf("node %d holds node 3 at incarnation %d, want above %d (before the crash)", a, m.Incarnation, old)
		}
	}
	if _, ok := s.runUntil(time.Minute, func() bool { return s.converged(all) }); !ok {
		t.Fatalf("views differ:\n%s", s.diff(all))
	}
}

// TestIndirectProbesBridgeCuts cuts node 1 from node 2 one way and nodes 3
// and 4 from each other both ways: each can still reach the other through
// the rest, so nobody may suspect anybody. Then node 6 is cut off entirely,
// and must be suspected: the check that nobody was is able to fail.
func TestIndirectProbesBridgeCuts(t *testing.T) {
	s := newSim(t, testSeed(t, 4), DefaultConfig())
	ids := s.boot(6)
	cutAt := s.now
	s.cut[[2]uint16{1, 2}] = true
	s.cut[[2]uint16{3, 4}] = true
	s.cut[[2]uint16{4, 3}] = true
	s.run(s.now + 2*time.Minute)
	suspected := func(since time.Duration) []observed {
		var bad []observed
		for _, a := range ids {
			for _, o := range s.nodes[a].seen {
				if o.at >= since && o.m.State != Alive {
					bad = append(bad, o)
				}
			}
		}
		return bad
	}
	if bad := suspected(cutAt); len(bad) > 0 {
		t.Fatalf("members reachable through others were suspected %d times; first %v", len(bad), bad[:min(len(bad), 5)])
	}
	isolated := s.now
	for _, id := range ids {
		s.cut[[2]uint16{6, id}] = true
		s.cut[[2]uint16{id, 6}] = true
	}
	s.run(s.now + 10*time.Second)
	if len(suspected(isolated)) == 0 {
		t.Fatal("canary: node 6, cut off from everyone, was not suspected")
	}
}

func TestLeaveSpreadsAndEpochsAgree(t *testing.T) {
	s := newSim(t, testSeed(t, 5), DefaultConfig())
	ids := s.boot(6)
	s.leave(4)
	if m := s.nodes[4].g.Self(); m.State != Left || m.Ring != 2 {
		t.Fatalf("after Leave, node 4 holds itself as %v, want left at ring version 2", m)
	}
	rest := without(ids, 4)
	if _, ok := s.runUntil(time.Minute, func() bool { return s.allSee(rest, []uint16{4}, Left) }); !ok {
		t.Fatalf("node 4's leave did not spread:\n%s", s.diff(rest))
	}
	// An operator removes node 5 after it crashed.
	s.crash(5)
	rest = without(rest, 5)
	if !s.nodes[1].g.Remove(5) {
		t.Fatal("Remove(5) changed nothing")
	}
	if _, ok := s.runUntil(time.Minute, func() bool { return s.allSee(rest, []uint16{5}, Left) && s.converged(rest) }); !ok {
		t.Fatalf("node 5's removal did not spread:\n%s", s.diff(rest))
	}
	want := uint64(4*1 + 2 + 2)
	for _, a := range rest {
		if got := s.nodes[a].g.Epoch(); got != want {
			t.Errorf("node %d: epoch %d, want %d", a, got, want)
		}
	}
	if s.nodes[1].g.Remove(5) {
		t.Error("removing a member already Left changed something")
	}
	if s.nodes[1].g.Move(5, 7) || s.nodes[1].g.Move(1, 7) {
		t.Error("Move changed a member already Left, or this node itself")
	}
	// Before a removal marks a member Left, the remover moves it to a
	// phase on the ring (odd versions only, and only up).
	s.crash(6)
	rest = without(rest, 6)
	if s.nodes[1].g.Move(6, 2) || s.nodes[1].g.Move(6, 0) {
		t.Error("Move took an even ring version, or a lower one")
	}
	if !s.nodes[1].g.Move(6, 5) {
		t.Fatal("Move(6, 5) changed nothing")
	}
	if _, ok := s.runUntil(time.Minute, func() bool {
		for _, a := range rest {
			if m, _ := s.nodes[a].g.Member(6); m.Ring != 5 {
				return false
			}
		}
		return true
	}); !ok {
		t.Fatalf("node 6's move did not spread:\n%s", s.diff(rest))
	}
}

// TestDeterministic runs one faulty scenario twice from one seed and
// compares every message sent, byte for byte, and the final views.
func TestDeterministic(t *testing.T) {
	seed := testSeed(t, 6)
	run := func(seed uint64) (uint64, []Member) {
		s := newSim(t, seed, DefaultConfig())
		s.loss = 0.1
		ids := s.boot(7)
		s.crash(2)
		s.cut[[2]uint16{3, 4}] = true
		s.run(s.now + 20*time.Second)
		s.start(2)
		s.leave(5)
		s.run(s.now + 20*time.Second)
		_ = ids
		return s.trace.Sum64(), s.nodes[1].g.Members()
	}
	h1, m1 := run(seed)
	h2, m2 := run(seed)
	if h1 != h2 || !slices.EqualFunc(m1, m2, sameMember) {
		t.Fatalf("one seed, two runs: traces %x and %x, views %v and %v", h1, h2, m1, m2)
	}
	if h3, _ := run(seed + 1); h3 == h1 {
		t.Fatal("canary: another seed gave the same trace; the trace sees nothing")
	}
}

// TestPartitionHeals splits the cluster in two for long enough that each
// side declares the other dead, then heals it: nobody probes the dead, so
// only the push-pull to a Dead member brings the sides back together.
func TestPartitionHeals(t *testing.T) {
	s := newSim(t, testSeed(t, 7), DefaultConfig())
	ids := s.boot(6)
	for _, a := range ids {
		for _, b := range ids {
			if (a <= 3) != (b <= 3) {
				s.cut[[2]uint16{a, b}] = true
			}
		}
	}
	if _, ok := s.runUntil(time.Minute, func() bool {
		return s.allSee([]uint16{1, 2, 3}, []uint16{4, 5, 6}, Dead) && s.allSee([]uint16{4, 5, 6}, []uint16{1, 2, 3}, Dead)
	}); !ok {
		t.Fatalf("the sides did not declare each other dead:\n%s", s.diff(ids))
	}
	healed := s.now
	clear(s.cut)
	at, ok := s.runUntil(time.Minute, func() bool { return s.allSee(ids, ids, Alive) && s.converged(ids) })
	if !ok {
		t.Fatalf("not converged a minute after the partition healed:\n%s", s.diff(ids))
	}
	t.Logf("partition healed at %v, converged %v later", healed, at-healed)
}
