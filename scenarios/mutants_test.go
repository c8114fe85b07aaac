//go:build mutants

package scenarios

import (
	"fmt"
	"testing"

	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/sim"
)

// mutantScenarios are the scenarios a planted Paxos bug must be caught by,
// between them, within the CI seed set.
var mutantScenarios = []string{"cas", "lock"}

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
				for _, seed := range seeds(name) {
					p, _ := s.Params(seed)
					p.Mutant = m
					res, err := sim.Run(p, sim.Options{})
					if err != nil {
						t.Fatal(err)
					}
					tried++
					if res.Verdict != sim.Pass {
						t.Logf("caught by %s seed %d after %d run(s): %s: %.200s", name, seed, tried, res.Verdict, res.Reason)
						return
					}
				}
			}
			t.Errorf("mutant %s survived %d runs of %v: %s", m, tried, mutantScenarios, fmt.Sprintf("try more seeds: go run -tags mutants ./cmd/memdb-sim mutants"))
		})
	}
}
