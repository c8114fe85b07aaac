package linearize

import (
	"testing"
	"time"
)

func TestStepCas(t *testing.T) {
	absent, holdsA := State{}, State{Found: true, Value: "a"}
	tests := []struct {
		name  string
		s     State
		in    Input
		out   Output
		legal bool
		after State
	}{
		{"swaps a", holdsA, Input{Kind: Cas, Key: "k", Old: "a", Value: "b"}, Output{Found: true}, true, State{Found: true, Value: "b"}},
		{"claims a swap it could not make", holdsA, Input{Kind: Cas, Key: "k", Old: "x", Value: "b"}, Output{Found: true}, false, State{Found: true, Value: "a"}},
		{"refuses rightly", holdsA, Input{Kind: Cas, Key: "k", Old: "x", Value: "b"}, Output{}, true, holdsA},
		{"refuses a swap it should make", holdsA, Input{Kind: Cas, Key: "k", Old: "a", Value: "b"}, Output{}, false, State{Found: true, Value: "b"}},
		{"on absence, absent", absent, Input{Kind: Cas, Key: "k", OldAbsent: true, Value: "b"}, Output{Found: true}, true, State{Found: true, Value: "b"}},
		{"on absence, present", holdsA, Input{Kind: Cas, Key: "k", OldAbsent: true, Value: "b"}, Output{Found: true}, false, holdsA},
		{"empty old is not absence", absent, Input{Kind: Cas, Key: "k", Old: "", Value: "b"}, Output{Found: true}, false, absent},
		{"unknown, holds", holdsA, Input{Kind: Cas, Key: "k", Old: "a", Value: "b"}, Output{Unknown: true}, true, State{Found: true, Value: "b"}},
		{"unknown, fails", holdsA, Input{Kind: Cas, Key: "k", Old: "x", Value: "b"}, Output{Unknown: true}, true, holdsA},
	}
	for _, tt := range tests {
		legal, after := Step(tt.s, tt.in, tt.out)
		if legal != tt.legal || (legal && after != tt.after) {
			t.Errorf("%s: Step = (%v, %+v), want (%v, %+v)", tt.name, legal, after, tt.legal, tt.after)
		}
	}
}

// TestCasHistories checks whole histories: two clients both winning a cas
// from the same value is not linearizable; one winning and the other
// losing is.
func TestCasHistories(t *testing.T) {
	ms := time.Millisecond
	cas := func(proc int, old, val string, call, ret int, swapped bool) Op {
		return Op{Process: proc, Kind: Cas, Key: "lock", Old: old, OldAbsent: old == "", Value: val,
			Call: time.Duration(call) * ms, Return: time.Duration(ret) * ms, Outcome: OK, Found: swapped}
	}
	tests := []struct {
		name string
		h    History
		ok   bool
	}{
		{"one winner", History{cas(1, "", "c1", 0, 10, true), cas(2, "", "c2", 1, 11, false)}, true},
		{"two winners from absence", History{cas(1, "", "c1", 0, 10, true), cas(2, "", "c2", 1, 11, true)}, false},
		{"chain", History{cas(1, "", "c1", 0, 10, true), cas(2, "c1", "c2", 11, 20, true), cas(1, "c1", "c3", 21, 30, false)}, true},
		{"stale win", History{cas(1, "", "c1", 0, 10, true), cas(2, "c1", "c2", 11, 20, true), cas(1, "c1", "c3", 21, 30, true)}, false},
		{"unknown may win later", History{
			{Process: 1, Kind: Cas, Key: "lock", OldAbsent: true, Value: "c1", Call: 0, Return: 5 * ms, Outcome: Unknown},
			{Process: 2, Kind: Get, Key: "lock", Call: 10 * ms, Return: 20 * ms, Outcome: OK},
			{Process: 3, Kind: Get, Key: "lock", Call: 30 * ms, Return: 40 * ms, Outcome: OK, Found: true, Output: "c1"},
		}, true},
	}
	for _, tt := range tests {
		res, err := Check(tt.h, 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if res.OK != tt.ok {
			t.Errorf("%s: linearizable = %v, want %v", tt.name, res.OK, tt.ok)
		}
	}
}
