package scenarios

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/sim"
)

// determinismCheck bounds the linearizability search of TestDeterminism's
// runs (steps per key), whose verdicts it does not look at.
const determinismCheck = 1000

// TestDeterminism runs seeds twice and requires the same event hash and the
// same history; and different seeds must give different hashes (a hash
// that ignored the run could not fail the first half).
func TestDeterminism(t *testing.T) {
	for _, s := range All() {
		hashes := map[string]uint64{}
		for seed := uint64(1); seed <= 3; seed++ {
			// The hash and the history do not depend on the check, so
			// cut it short: a Paxos seed whose check runs to the CI
			// bound would otherwise cost twice that, serially.
			a, _, err := s.Run(seed, sim.Options{CheckSteps: determinismCheck})
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := s.Run(seed, sim.Options{CheckSteps: determinismCheck})
			if err != nil {
				t.Fatal(err)
			}
			if a.EventHash != b.EventHash {
				t.Errorf("%s seed %d: event hash %s then %s: the run is not deterministic\n%s", s.Name, seed, a.EventHash, b.EventHash, reproduce(s.Name, seed))
			}
			if diff := cmp.Diff(a.History, b.History); diff != "" {
				t.Errorf("%s seed %d: histories differ (-first +second):\n%s", s.Name, seed, diff)
			}
			if other, ok := hashes[a.EventHash]; ok {
				t.Errorf("%s: seeds %d and %d share event hash %s", s.Name, other, seed, a.EventHash)
			}
			hashes[a.EventHash] = seed
		}
	}
}

// TestLookup checks the registry.
func TestLookup(t *testing.T) {
	for _, s := range All() {
		got, err := Lookup(s.Name)
		if err != nil || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %q, %v", s.Name, got.Name, err)
		}
		if s.Description == "" {
			t.Errorf("scenario %q has no description", s.Name)
		}
	}
	if _, err := Lookup("no-such"); err == nil {
		t.Errorf("Lookup of an unknown name succeeded")
	}
}
