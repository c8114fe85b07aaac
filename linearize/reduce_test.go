package linearize

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"
)

// TestReduceAgrees is the reductions' soundness as a property: on random
// small histories of one key, with unknown writes that land, land late or
// never, and sometimes one answer changed, Check (which searches the
// reduced history) and Porcupine on the history as Operations makes it
// (no pruning, no reduction, no budget) give the same verdict. Both
// verdicts must occur, or the property proves nothing.
func TestReduceAgrees(t *testing.T) {
	var legal, illegal int
	rapid.Check(t, func(t *rapid.T) {
		h := randomKeyHistory(t)
		res, err := Check(h, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		want := porcupine.CheckOperations(Model(), Operations(h))
		if res.Undecided || res.OK != want {
			t.Fatalf("Check says ok %t (undecided %t), Porcupine on the whole history %t:\n%s", res.OK, res.Undecided, want, listing(h))
		}
		if want {
			legal++
		} else {
			illegal++
		}
	})
	if legal == 0 || illegal == 0 {
		t.Errorf("%d legal and %d illegal histories drawn: the property needs both", legal, illegal)
	}
}

// randomKeyHistory draws up to 12 overlapping operations on one key with
// unique written values, runs them against the model at random points of
// their intervals (an unknown write at a point after its call, possibly
// after every other operation, or never) to get legal answers, and
// sometimes changes one answer. Reads and cas expect written values, so
// unknown writes are often observed.
func randomKeyHistory(t *rapid.T) History {
	n := rapid.IntRange(1, 12).Draw(t, "n")
	type planned struct {
		op    Op
		at    int // linearization point, in tenths of a millisecond; -1: never
		order int
	}
	ops := make([]planned, n)
	for i := range ops {
		kind := rapid.SampledFrom([]Kind{Get, Set, Set, Cas, Cas, Delete, Contains}).Draw(t, "kind")
		call := rapid.IntRange(0, 2*n).Draw(t, "call")
		ret := call + rapid.IntRange(0, n).Draw(t, "length")
		o := Op{Process: i, Kind: kind, Key: "k", Call: time.Duration(call) * ms, Return: time.Duration(ret) * ms, Outcome: OK}
		if kind == Set || kind == Cas {
			o.Value = fmt.Sprintf("v%d", i)
		}
		if kind == Cas {
			// Mostly the value of an operation drawn before: one likely to
			// have been written by then.
			if old := rapid.IntRange(-1, i).Draw(t, "old"); old < 0 || old == i {
				o.OldAbsent = true
			} else {
				o.Old = fmt.Sprintf("v%d", old)
			}
		}
		at := rapid.IntRange(10*call, 10*ret).Draw(t, "at")
		if (kind == Set || kind == Cas || kind == Delete) && rapid.IntRange(0, 2).Draw(t, "unknown") == 0 {
			o.Outcome = Unknown
			switch rapid.IntRange(0, 2).Draw(t, "lands") {
			case 0:
				at = -1
			case 1:
				at = rapid.IntRange(10*call, 20*n+50).Draw(t, "late")
			}
		}
		ops[i] = planned{op: o, at: at, order: i}
	}
	run := slices.Clone(ops)
	slices.SortStableFunc(run, func(a, b planned) int { return a.at - b.at })
	var s State
	for _, p := range run {
		if p.at < 0 {
			continue
		}
		o := &ops[p.order].op
		_, next := Step(s, Input{Kind: o.Kind, Key: o.Key, Value: o.Value, Old: o.Old, OldAbsent: o.OldAbsent}, Output{Unknown: true})
		switch o.Kind {
		case Get:
			o.Found, o.Output = s.Found, s.Value
		case Contains:
			o.Found = s.Found
		case Cas:
			o.Found = next != s || (s.Found && s.Value == o.Value)
		}
		s = next
	}
	h := make(History, n)
	for i, p := range ops {
		h[i] = p.op
	}
	if rapid.Bool().Draw(t, "corrupt") {
		i := rapid.IntRange(0, n-1).Draw(t, "which")
		switch o := &h[i]; o.Kind {
		case Get:
			if v := rapid.IntRange(-1, n-1).Draw(t, "read"); v < 0 {
				o.Found, o.Output = false, ""
			} else {
				o.Found, o.Output = true, fmt.Sprintf("v%d", v)
			}
		case Cas, Contains:
			o.Found = !o.Found
		}
	}
	return h
}

func listing(h History) string {
	var b []byte
	for _, o := range h {
		b = fmt.Appendf(b, "  [%v, %v] %v\n", o.Call, o.Return, o)
	}
	return string(b)
}

// TestReduceBoundsObservedWrites: an unknown write whose value is read
// ends when the first read of it returns, unless another operation writes
// the same value or the read returned before the write was called.
func TestReduceBoundsObservedWrites(t *testing.T) {
	unknownSet := func(proc, call int, v string) Op {
		return Op{Process: proc, Kind: Set, Key: "a", Value: v, Call: time.Duration(call) * ms, Return: time.Duration(call+1) * ms, Outcome: Unknown}
	}
	swap := Op{Process: 5, Kind: Cas, Key: "a", Old: "x", Value: "y", Call: 30 * ms, Return: 35 * ms, Outcome: OK, Found: true}
	tests := []struct {
		name string
		h    History
		want time.Duration // the unknown set's return after reduce; 0: +infinity
	}{
		{"first read", History{unknownSet(0, 0, "x"), op(1, Get, "a", 20, 25, OK, true, "x"), op(2, Get, "a", 10, 40, OK, true, "x")}, 25 * ms},
		{"first swap from it", History{unknownSet(0, 0, "x"), swap, op(2, Get, "a", 40, 50, OK, true, "y")}, 35 * ms},
		{"failed cas does not observe", History{unknownSet(0, 0, "x"), {Process: 5, Kind: Cas, Key: "a", Old: "x", Value: "y", Call: 30 * ms, Return: 35 * ms, Outcome: OK}}, 0},
		{"two writers of x", History{unknownSet(0, 0, "x"), unknownSet(1, 1, "x"), op(2, Get, "a", 20, 25, OK, true, "x")}, 0},
		{"read before the call", History{unknownSet(0, 30, "x"), op(2, Get, "a", 20, 25, OK, true, "x")}, 0},
	}
	for _, tc := range tests {
		r := reduce(Operations(tc.h))
		want := int64(tc.want)
		if tc.want == 0 {
			want = Operations(tc.h)[0].Return
		}
		if got := r.ops[0].Return; got != want {
			t.Errorf("%s: the unknown set returns at %v, want %v", tc.name, time.Duration(got), time.Duration(want))
		}
	}
}

// TestReduceRanksAnonymousWrites: unknown writes nobody refers to are
// ranked in call order within their class; a class of one, referred
// writes and known ones are not ranked.
func TestReduceRanksAnonymousWrites(t *testing.T) {
	unknown := func(o Op) Op { o.Outcome = Unknown; return o }
	cas := func(proc, call int, old, v string) Op {
		return Op{Process: proc, Kind: Cas, Key: "a", Old: old, OldAbsent: old == "", Value: v, Call: time.Duration(call) * ms, Return: time.Duration(call+1) * ms}
	}
	h := History{
		unknown(op(0, Set, "a", 5, 6, OK, false, "s0")),  // set, rank 2
		unknown(op(1, Set, "a", 1, 2, OK, false, "s1")),  // set, rank 1
		unknown(cas(2, 3, "s9", "c2")),                   // cas on s9, rank 2
		unknown(cas(3, 2, "", "c3")),                     // cas on absence, alone: not ranked
		unknown(op(4, Delete, "a", 9, 9, OK, false, "")), // delete, rank 1
		unknown(op(5, Set, "a", 0, 1, OK, false, "s9")),  // referred by a cas: not ranked
		op(6, Set, "a", 0, 1, OK, false, "s6"),           // known: not ranked
		unknown(cas(7, 1, "s9", "c7")),                   // cas on s9, rank 1
		unknown(op(8, Delete, "a", 9, 9, OK, false, "")), // delete, rank 2 (called with the other: in order of the history)
	}
	r := reduce(Operations(h))
	type rc struct{ class, rank int }
	var got []rc
	for _, o := range r.ops {
		in := o.Input.(Input)
		got = append(got, rc{in.class, in.rank})
	}
	want := []rc{{0, 2}, {0, 1}, {1, 2}, {0, 0}, {2, 1}, {0, 0}, {0, 0}, {1, 1}, {2, 2}}
	if !slices.Equal(got, want) || r.classes != 3 || r.anon != 6 {
		t.Errorf("classes and ranks %v (%d classes, %d ranked), want %v (3, 6)", got, r.classes, r.anon, want)
	}
}

// contendedUnknowns is the shape that left Paxos keys undecided: a
// client's puts keep timing out (unknown, never read back) while another
// client's cas chain on the same key is broken, round after round, by one
// of them landing: it sets x_i, swaps x_i for y_i, and then fails to swap
// y_i, so some unknown put landed in between. Each round starts with puts
// unknown puts; with late, the last round's come after the history's end.
func contendedUnknowns(rounds, puts int, late bool) History {
	var h History
	put := 0
	for i := range rounds {
		t0 := 10 * i
		for range puts {
			h = append(h, Op{Process: 1000 + put, Kind: Set, Key: "a", Value: fmt.Sprintf("u%d", put), Call: time.Duration(t0) * ms, Return: time.Duration(t0+1) * ms, Outcome: Unknown})
			put++
		}
		x, y := fmt.Sprintf("x%d", i), fmt.Sprintf("y%d", i)
		h = append(h,
			op(0, Set, "a", t0+2, t0+3, OK, false, x),
			Op{Process: 0, Kind: Cas, Key: "a", Old: x, Value: y, Call: time.Duration(t0+4) * ms, Return: time.Duration(t0+5) * ms, Outcome: OK, Found: true},
			Op{Process: 0, Kind: Cas, Key: "a", Old: y, Value: "z" + x, Call: time.Duration(t0+6) * ms, Return: time.Duration(t0+7) * ms, Outcome: OK},
		)
	}
	if late {
		end := h[len(h)-1].Return
		for i := len(h) - 3 - puts; i < len(h)-3; i++ {
			h[i].Call, h[i].Return = end+ms, end+2*ms
		}
	}
	return h
}

// TestContendedUnknownsDecide: 30 rounds of contendedUnknowns with 3
// unknown puts each (90 pending to the end) decide within the default
// budget: linearizable as they are; not linearizable with a read at the
// end of the first round's value (found only after every way of placing
// the puts is tried), nor with one put a round and the last round's too
// late (30 breaks, 29 puts to explain them). Without the ordering of
// anonymous writes the stale read is undecided: every subset of the
// pending puts is a state to try.
func TestContendedUnknownsDecide(t *testing.T) {
	stale := append(contendedUnknowns(30, 3, false), op(0, Get, "a", 400, 401, OK, true, "x0"))
	for _, tc := range []struct {
		name string
		h    History
		ok   bool
	}{
		{"legal", contendedUnknowns(30, 3, false), true},
		{"stale read at the end", stale, false},
		{"one put short", contendedUnknowns(30, 1, true), false},
	} {
		res, err := Check(tc.h, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: ok %t undecided %t in %d steps", tc.name, res.OK, res.Undecided, res.Steps)
		if res.Undecided || res.OK != tc.ok || (!tc.ok && res.Key != "a") {
			t.Errorf("%s: ok %t, undecided %t, key %q; want ok %t, decided within %d steps", tc.name, res.OK, res.Undecided, res.Key, tc.ok, DefaultSteps)
		}
	}
}

// TestReduceEdges are legal histories, each at the edge of one reduction,
// that a reduction taken a step too far would call violations; Porcupine
// on the whole history agrees they are legal.
func TestReduceEdges(t *testing.T) {
	unknownCas := func(proc, call int, old, v string) Op {
		return Op{Process: proc, Kind: Cas, Key: "a", Old: old, Value: v, Call: time.Duration(call) * ms, Return: time.Duration(call+1) * ms, Outcome: Unknown}
	}
	tests := []struct {
		name string
		h    History
	}{
		// set(y) is called after set(x) is called but before it returns,
		// and the read of y makes x land after 6: the cas may swap until
		// some write called after set(x) returned has returned.
		{"overwritten only once the write of x returned", History{
			op(0, Set, "a", 0, 10, OK, false, "x"),
			op(1, Set, "a", 1, 2, OK, false, "y"),
			unknownCas(2, 3, "x", "v"),
			op(3, Get, "a", 5, 6, OK, true, "y"),
			op(4, Get, "a", 20, 21, OK, true, "v"),
		}},
		// A cas that failed changed nothing: x is still there at 4, and
		// the unknown cas swaps it after.
		{"a failed cas does not overwrite", History{
			op(0, Set, "a", 0, 1, OK, false, "x"),
			unknownCas(1, 2, "x", "v"),
			{Process: 2, Kind: Cas, Key: "a", Old: "y", Value: "z", Call: 2 * ms, Return: 3 * ms, Outcome: OK},
			op(3, Get, "a", 4, 5, OK, true, "x"),
			op(4, Get, "a", 10, 11, OK, true, "v"),
		}},
		// The cas swaps x, set by the unknown set that the read at 8
		// observed, after the known set(y) that ran beside it.
		{"an observed unknown write ends at its observation, not before", History{
			op(0, Set, "a", 0, 1, OK, false, "y"),
			{Process: 1, Kind: Set, Key: "a", Value: "x", Call: 0, Return: 1 * ms, Outcome: Unknown},
			op(2, Get, "a", 2, 3, OK, true, "y"),
			op(3, Get, "a", 7, 8, OK, true, "x"),
			unknownCas(4, 4, "x", "v"),
			op(5, Get, "a", 20, 21, OK, true, "v"),
		}},
		// Two anonymous sets, one called early and one late; the contains
		// at 5 needs one to have landed, the failed cas on absence at 30
		// another: the early one serves first.
		{"anonymous sets in call order", History{
			{Process: 0, Kind: Set, Key: "a", Value: "u", Call: 0, Return: 1 * ms, Outcome: Unknown},
			op(1, Contains, "a", 5, 6, OK, true, ""),
			op(2, Delete, "a", 10, 11, OK, false, ""),
			{Process: 3, Kind: Set, Key: "a", Value: "w", Call: 12 * ms, Return: 13 * ms, Outcome: Unknown},
			{Process: 4, Kind: Cas, Key: "a", OldAbsent: true, Value: "z", Call: 30 * ms, Return: 31 * ms, Outcome: OK},
		}},
	}
	for _, tc := range tests {
		if !porcupine.CheckOperations(Model(), Operations(tc.h)) {
			t.Fatalf("%s: Porcupine rejects the whole history; the test is wrong:\n%s", tc.name, listing(tc.h))
		}
		res, err := Check(tc.h, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK {
			t.Errorf("%s: Check says ok %t (undecided %t), want ok:\n%s", tc.name, res.OK, res.Undecided, listing(tc.h))
		}
	}
}
