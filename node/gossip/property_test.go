package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// convergeBound is how long after faults stop every running member must
// hold identical Members: six push-pull rounds. A healed partition needs a
// round or two (each side reaches the other only through push-pulls to the
// members it holds Dead); the slowest of 60000 runs took 17.9s.
const convergeBound = 6 * 10 * time.Second

// TestConvergesAfterFaults is the liveness property: whatever happened
// during the faulty phase (loss, one-way cuts, crashes, restarts, joins,
// leaves), once the network heals and crashed nodes restart, all running
// members that have not left converge to identical views within
// convergeBound. Reproduce a failure with the -rapid.seed rapid prints.
func TestConvergesAfterFaults(t *testing.T) {
	var worst time.Duration
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		n := rapid.IntRange(2, 8).Draw(t, "nodes")
		s := newSim(t, seed, DefaultConfig())
		ids := s.boot(n)
		s.loss = rapid.Float64Range(0, 0.4).Draw(t, "loss")
		left := map[uint16]bool{}
		// seeds are what an operator would configure: every node not known
		// to have left, so that some seed outlives any join.
		seeds := func() []uint16 {
			var ids []uint16
			for _, nd := range s.nodes[1:] {
				if !left[nd.id] {
					ids = append(ids, nd.id)
				}
			}
			return ids
		}
		actions := rapid.IntRange(0, 12).Draw(t, "actions")
		for range actions {
			s.run(s.now + time.Duration(rapid.IntRange(0, 40).Draw(t, "wait"))*250*time.Millisecond)
			id := uint16(rapid.IntRange(1, len(s.nodes)-1).Draw(t, "node"))
			other := uint16(rapid.IntRange(1, len(s.nodes)-1).Draw(t, "other"))
			switch act := rapid.SampledFrom([]string{"crash", "restart", "cut", "uncut", "partition", "join", "leave"}).Draw(t, "action"); act {
			case "crash":
				if s.nodes[id].g != nil {
					s.crash(id)
				}
			case "restart":
				if s.nodes[id].g == nil && !left[id] {
					s.start(id, seeds()...)
				}
			case "cut", "uncut":
				s.cut[[2]uint16{id, other}] = act == "cut"
			case "partition":
				// Split the nodes in two at a random id: no message crosses.
				for a := uint16(1); a < uint16(len(s.nodes)); a++ {
					for b := uint16(1); b < uint16(len(s.nodes)); b++ {
						if (a < id) != (b < id) {
							s.cut[[2]uint16{a, b}] = true
						}
					}
				}
			case "join":
				if s.nodes[other].g != nil {
					ss := seeds()
					s.start(s.add().id, ss...)
				}
			case "leave":
				if s.nodes[id].g != nil && !left[id] {
					s.leave(id)
					left[id] = true
				}
			}
		}
		s.run(s.now + time.Duration(rapid.IntRange(0, 60).Draw(t, "settle"))*time.Second)
		// Faults stop.
		healed := s.now
		s.loss = 0
		clear(s.cut)
		for _, nd := range s.nodes[1:] {
			if nd.g == nil && !left[nd.id] {
				s.start(nd.id, seeds()...)
			}
		}
		members := slices.DeleteFunc(s.up(), func(id uint16) bool { return left[id] })
		at, ok := s.runUntil(convergeBound, func() bool { return s.converged(members) })
		if !ok {
			t.Fatalf("%d members (%v, from %d booted) not converged %v after faults stopped:\n%s", len(members), members, len(ids), convergeBound, s.diff(members))
		}
		worst = max(worst, at-healed)
		// Once converged, every running member sees every other Alive.
		if !s.allSee(members, members, Alive) {
			t.Fatalf("converged, but not all alive:\n%s", fmt.Sprint(s.nodes[members[0]].g.Members()))
		}
	})
	t.Logf("slowest convergence after faults stopped: %v (bound %v)", worst, convergeBound)
}
