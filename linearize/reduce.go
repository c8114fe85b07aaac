package linearize

import (
	"cmp"
	"slices"

	"github.com/anishathalye/porcupine"
)

// This file holds three reductions of one key's history that spare
// Porcupine the searches that made contended keys undecided. Each only
// shrinks the intervals of unknown operations or forbids some orders, so
// every linearization of the reduced history is one of the history: a
// pass of the reduced history is a pass of the history, and no violation
// can be lost. The arguments below show the converse, that no legal
// history is made illegal. All concern unknown writes, which return at
// +infinity: each stays pending for the rest of the search, and a key with
// hundreds of them (Paxos puts whose ballot may still be chosen) offers
// Porcupine every subset of them to place before each later operation.
//
// Observed writes end at their first observation. Every written value is
// unique in a simulated run, so a read that returned v, or a cas that
// swapped v out, saw the one write of v; that write therefore took effect
// before the observer returned. An unknown write of v, when v is written
// by no other operation of the key, may return at the earliest such
// return instead of at +infinity. (If the observer returned before the
// write was called, the history is illegal and is left as it is, for
// Porcupine to say so.)
//
// An unknown cas ends when the value it expects is gone. Let x be written
// by one operation only, known to have taken effect by time t (it
// returned, or was observed, by t), and let a set, delete, wipe or
// swapping cas of known outcome be called after t and return at g. After
// g the key never holds x again, so a cas expecting x can swap only
// before g. If it does not swap, it changes nothing, and can sit as well
// at the first point of the linearization after that overwrite and after
// everything that returned before the cas was called: its return may be
// g. One called after g cannot swap at all and returns at its call.
//
// Anonymous writes take effect in the order they were called. An unknown
// write whose value nobody refers to (no read returned it, no cas expects
// it: prune's test) leaves a state no other operation can tell from that
// of another such write; an unknown delete leaves absence, like every
// other. So two anonymous unknown operations of one class — sets; deletes;
// cas on absence; cas expecting one value, whose returns the reduction
// above makes equal — are interchangeable, and within a class any
// linearization can be rewritten to take them in the order of their calls:
// give the j-th position a class's operations hold to the j-th called of
// them. That one may sit there, because at least j of the class were
// called before the position (the ones that held the first j) and all of
// them return at the same time; every other operation sees the same states
// as before. So the search is told to take each class in call order
// (orderModel), which cuts the subsets of a class it can try from 2^n to
// n+1 without losing a linearization.

// reduction is one key's operations reduced, and what orderModel needs.
type reduction struct {
	ops     []porcupine.Operation
	classes int // how many classes of two or more anonymous operations (Input.class)
	bounded int // observed unknown writes now ending at their first observation
	settled int // unknown cas now ending when their expected value is overwritten
	anon    int // anonymous operations given a rank
}

// reduce applies the three reductions to one key's operations, as
// Operations makes them. It does not modify ops.
func reduce(ops []porcupine.Operation) reduction {
	if !slices.ContainsFunc(ops, func(op porcupine.Operation) bool { return op.Output.(Output).Unknown }) {
		return reduction{ops: ops} // nothing to reduce
	}
	// What the key's operations say about each value.
	type value struct {
		writers  int
		referred bool  // prune's "seen": a read returned it or a cas expects it
		observed int64 // the earliest return of an operation that saw it (-1: none)
		known    int64 // when its one write is known to have taken effect (-1: not known)
	}
	index := map[string]int{}
	values := make([]value, 0, len(ops))
	of := func(v string) *value {
		i, ok := index[v]
		if !ok {
			i = len(values)
			index[v] = i
			values = append(values, value{observed: -1, known: -1})
		}
		return &values[i]
	}
	see := func(x *value, ret int64) {
		x.referred = true
		if x.observed < 0 || ret < x.observed {
			x.observed = ret
		}
	}
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		switch in.Kind {
		case Set:
			of(in.Value).writers++
		case Cas:
			of(in.Value).writers++
			if !in.OldAbsent {
				x := of(in.Old)
				x.referred = true
				if !out.Unknown && out.Found {
					see(x, op.Return)
				}
			}
		case Get:
			if !out.Unknown && out.Found {
				see(of(out.Value), op.Return)
			}
		}
	}
	r := reduction{ops: slices.Clone(ops)}
	for i := range r.ops {
		op := &r.ops[i]
		in, out := op.Input.(Input), op.Output.(Output)
		if in.Kind != Set && in.Kind != Cas {
			continue
		}
		x := &values[index[in.Value]]
		switch {
		case x.writers != 1:
		case !out.Unknown:
			x.known = op.Return
		case x.observed >= 0 && x.observed >= op.Call:
			op.Return = x.observed
			x.known = x.observed
			r.bounded++
		}
	}
	overwritten := overwrites(r.ops)
	classOf := map[string]int{}
	var members [][]int // class → indices into r.ops
	for i := range r.ops {
		op := &r.ops[i]
		in, out := op.Input.(Input), op.Output.(Output)
		if !out.Unknown {
			continue
		}
		if in.Kind == Cas && !in.OldAbsent {
			if written := values[index[in.Old]].known; written >= 0 {
				if gone, ok := overwritten(written); ok {
					if op.Call > gone {
						op.Return = op.Call // it cannot swap; nothing to rank
						r.settled++
						continue
					}
					op.Return = min(op.Return, gone)
					r.settled++
				}
			}
		}
		var class string
		switch {
		case in.Kind == Delete:
			class = "delete"
		case in.Kind != Set && in.Kind != Cas:
			continue
		case values[index[in.Value]].referred:
			continue
		case in.Kind == Set:
			class = "set"
		case in.OldAbsent:
			class = "cas on absence"
		default:
			class = "cas on value " + in.Old
		}
		c, ok := classOf[class]
		if !ok {
			c = len(members)
			classOf[class] = c
			members = append(members, nil)
		}
		members[c] = append(members[c], i)
	}
	// A class of one orders nothing, and leaving it out spares the search
	// orderModel's bookkeeping where no class has two.
	for _, idx := range members {
		if len(idx) < 2 {
			continue
		}
		c := r.classes
		r.classes++
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(r.ops[a].Call, r.ops[b].Call) })
		for rank, i := range idx {
			in := r.ops[i].Input.(Input)
			in.class, in.rank = c, rank+1
			r.ops[i].Input = in
		}
		r.anon += len(idx)
	}
	return r
}

// ordered is orderModel's state: the inner model's, and how many of each
// class of anonymous operations are linearized (four bytes per class, in a
// string so that states compare with ==).
type ordered struct {
	inner any
	taken string
}

// orderModel is model with the rule that the anonymous operations of each
// of classes classes (those reduce gave a rank) are linearized in rank
// order. With no classes it is model itself.
func orderModel(model porcupine.Model, classes int) porcupine.Model {
	if classes == 0 {
		return model
	}
	m := model
	m.Init = func() any { return ordered{inner: model.Init(), taken: string(make([]byte, 4*classes))} }
	m.Step = func(s, in, out any) (bool, any) {
		st, i := s.(ordered), in.(Input)
		if i.rank > 0 && taken(st.taken, i.class) != i.rank-1 {
			return false, s
		}
		ok, next := model.Step(st.inner, in, out)
		if !ok {
			return false, s
		}
		after := ordered{inner: next, taken: st.taken}
		if i.rank > 0 {
			after.taken = take(st.taken, i.class)
		}
		return true, after
	}
	m.Equal = func(a, b any) bool {
		x, y := a.(ordered), b.(ordered)
		return x.taken == y.taken && model.Equal(x.inner, y.inner)
	}
	if model.DescribeState != nil {
		m.DescribeState = func(s any) string { return model.DescribeState(s.(ordered).inner) }
	}
	return m
}

// taken reads class c's count from an ordered state's counts.
func taken(counts string, c int) int {
	b := counts[4*c : 4*c+4]
	return int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
}

// take returns counts with class c's count one more.
func take(counts string, c int) string {
	n := taken(counts, c) + 1
	b := []byte(counts)
	b[4*c], b[4*c+1], b[4*c+2], b[4*c+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return string(b)
}

// overwrites returns a function that, given a time t, says by when some
// operation called after t is known to have changed the key's state: the
// earliest return of a set, delete, wipe or swapping cas, each of known
// outcome, called after t; false if there is none.
func overwrites(ops []porcupine.Operation) func(t int64) (int64, bool) {
	type write struct{ call, ret int64 }
	var ws []write
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		if out.Unknown {
			continue
		}
		switch {
		case in.Kind == Set, in.Kind == Delete, in.Kind == Wipe, in.Kind == Cas && out.Found:
			ws = append(ws, write{op.Call, op.Return})
		}
	}
	slices.SortFunc(ws, func(a, b write) int { return cmp.Compare(a.call, b.call) })
	// earliest[i] is the earliest return among ws[i:].
	earliest := make([]int64, len(ws)+1)
	earliest[len(ws)] = 1<<63 - 1
	for i := len(ws) - 1; i >= 0; i-- {
		earliest[i] = min(earliest[i+1], ws[i].ret)
	}
	return func(t int64) (int64, bool) {
		i, _ := slices.BinarySearchFunc(ws, t, func(w write, t int64) int {
			if w.call <= t {
				return -1
			}
			return 1
		})
		return earliest[i], i < len(ws)
	}
}
