package linearize

import (
	"fmt"
	"testing"
)

// contended is a key's history that Porcupine cannot settle quickly: n
// concurrent acknowledged writes and then a read of the value of write
// ghost (a value never written if ghost < 0). Every order of the writes
// must be tried before the read can be judged.
func contended(n, ghost int) History {
	var h History
	for i := range n {
		h = append(h, Op{Process: i, Kind: Set, Key: "a", Value: fmt.Sprintf("v%d", i), Call: 0, Return: 100 * ms, Outcome: OK})
	}
	read := Op{Process: n, Kind: Get, Key: "a", Call: 200 * ms, Return: 300 * ms, Outcome: OK, Found: true, Output: "ghost"}
	if ghost >= 0 {
		read.Output = fmt.Sprintf("v%d", ghost)
	}
	return append(h, read)
}

// TestBudgetDecides shows that the step budget, not the clock, decides: a
// search that runs out is undecided (not OK, no violating key), the same
// search with room enough finds the violation, and the step counts are
// the same on every run.
func TestBudgetDecides(t *testing.T) {
	bad := contended(8, -1)
	full, err := Check(bad, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if full.OK || full.Undecided || full.Key != "a" {
		t.Fatalf("with room: %+v, want a violation on a", full)
	}
	again, _ := Check(bad, 1<<30)
	if again.Steps != full.Steps {
		t.Errorf("the same search took %d then %d steps: the budget is not deterministic", full.Steps, again.Steps)
	}
	short, err := Check(bad, full.Steps/2)
	if err != nil {
		t.Fatal(err)
	}
	if short.OK || !short.Undecided || short.UndecidedKey != "a" || short.Key != "" {
		t.Errorf("out of steps: %+v, want undecided on a, neither OK nor a violation", short)
	}
	// A violation on another key is found whatever the undecided key.
	other := append(contended(8, -1), Op{Process: 20, Kind: Get, Key: "b", Call: 0, Return: ms, Outcome: OK, Found: true, Output: "nobody"})
	res, _ := Check(other, full.Steps/2)
	if res.OK || res.Undecided || res.Key != "b" {
		t.Errorf("violation on b beside an undecided a: %+v, want a violation on b", res)
	}
	good, _ := Check(contended(8, 3), 1<<30)
	if !good.OK || good.Undecided {
		t.Errorf("a legal history: %+v, want OK", good)
	}
}

// TestPruneUnobservedUnknowns: unknown writes nobody observed are left out
// of the first search, and a history that needs one (a failed cas that
// only fails if the unknown write landed) still passes, through the second.
func TestPruneUnobservedUnknowns(t *testing.T) {
	h := History{
		{Process: 0, Kind: Set, Key: "a", Value: "x", Call: 0, Return: 1 * ms, Outcome: OK},
	}
	for i := range 40 {
		// Forty unknown cas nobody observed: without pruning the search
		// would try to place each of them.
		h = append(h, Op{Process: 1 + i, Kind: Cas, Key: "a", Old: "x", Value: fmt.Sprintf("u%d", i), Call: 2 * ms, Return: 3 * ms, Outcome: Unknown})
	}
	h = append(h, Op{Process: 50, Kind: Get, Key: "a", Call: 10 * ms, Return: 11 * ms, Outcome: OK, Found: true, Output: "x"})
	res, err := Check(h, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Undecided {
		t.Fatalf("pruned history: %+v, want OK within 10k steps", res)
	}
	// The failed cas(x→y) is legal only if the unknown set(u) landed
	// before it; u is observed by nobody, so the pruned search fails and
	// the whole history must be searched.
	needs := History{
		{Process: 0, Kind: Set, Key: "a", Value: "x", Call: 0, Return: 1 * ms, Outcome: OK},
		{Process: 1, Kind: Set, Key: "a", Value: "u", Call: 2 * ms, Return: 3 * ms, Outcome: Unknown},
		{Process: 2, Kind: Cas, Key: "a", Old: "x", Value: "y", Call: 10 * ms, Return: 11 * ms, Outcome: OK, Found: false},
	}
	if res, _ := Check(needs, 0); !res.OK {
		t.Errorf("a failed cas explained by an unobserved unknown write: %+v, want OK", res)
	}
	needs[1].Call, needs[1].Return = 20*ms, 21*ms // called after the cas returned: it cannot explain it
	if res, _ := Check(needs, 0); res.OK || res.Key != "a" {
		t.Errorf("a failed cas with nothing to explain it: %+v, want a violation", res)
	}
}
