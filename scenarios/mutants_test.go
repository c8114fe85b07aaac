//go:build mutants

package scenarios

import (
	"fmt"
	"testing"

	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/sim"
)

// survivors are mutants the CI seeds do not catch yet, each with why; the
// test reports them but does not fail on them. Keep this list empty: a
// survivor means the scenarios cannot see a known bug.
var survivors = map[string]string{
	// An acceptor must crash between promising a ballot and receiving a
	// proposal at a lower one. The cas-crash scenario's crash points put
	// that crash there (about 1-2 times a seed), but a violation also needs
	// the lower proposal accepted by a second acceptor that had not seen
	// the higher prepare, and the higher proposer to hear the forgetful
	// acceptor before that one; 64 cas-crash seeds (and 128 single-key,
	// 3-node variants) never lined all three up.
	node.MutantForgetPromise: "crash points hit the prepare-propose window, but no CI seed turns a forgotten promise into two chosen values",
}

// mutantScenarios are the scenarios a planted Paxos bug must be caught by,
// between them, within the CI seed set.
var mutantScenarios = []string{"cas", "lock"}

// survivorSeeds is how many seeds of each scenario a known survivor runs
// in the CI set: enough to notice it being caught (then it must come off
// the list), without spending the whole set on a bug known to slip by.
// memdb-sim mutants measures survivors over as many seeds as asked.
const survivorSeeds = 16

// TestMutantsCaught runs each planted bug (node/mutant.go) through the CI
// seeds of the Paxos scenarios and fails if some mutant is never caught:
// a checker or a workload that cannot see a known bug is itself a bug. It
// stops at the first catch. Run with: go test -tags mutants ./scenarios -run Mutants
func TestMutantsCaught(t *testing.T) {
	for _, m := range node.Mutants {
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			tried := 0
			for _, name := range mutantScenarios {
				s, err := Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				for i, seed := range seeds(name) {
					if _, ok := survivors[m]; ok && i >= survivorSeeds {
						break
					}
					p, _ := s.Params(seed)
					p.Mutant = m
					res, err := sim.Run(p, sim.Options{CheckTimeout: checkTimeout})
					if err != nil {
						t.Fatal(err)
					}
					tried++
					if res.Verdict != sim.Pass {
						if _, ok := survivors[m]; ok {
							t.Errorf("known survivor %s was caught by %s seed %d: take it off the survivors list", m, name, seed)
						}
						t.Logf("caught by %s seed %d after %d run(s): %s: %.200s", name, seed, tried, res.Verdict, res.Reason)
						return
					}
				}
			}
			if why, ok := survivors[m]; ok {
				t.Logf("known survivor %s (%d runs of %v): %s", m, tried, mutantScenarios, why)
				return
			}
			t.Errorf("mutant %s survived %d runs of %v: %s", m, tried, mutantScenarios, fmt.Sprintf("try more seeds: go test -tags mutants ./scenarios -run Mutants -seed N -seeds K"))
		})
	}
}
