package linearize

import (
	"cmp"
	"slices"

	"github.com/anishathalye/porcupine"
)

// This file holds two reductions of one key's history that leave its
// verdict unchanged but spare Porcupine the searches that made contended
// keys undecided. Both concern unknown writes, which return at +infinity:
// each stays pending for the rest of the search, and a key with hundreds
// of them (Paxos puts whose ballot may still be chosen) offers Porcupine
// every subset of them to place before each later operation.
//
// Observed writes end at their first observation. Every written value is
// unique in a simulated run, so a read that returned v, or a cas that
// swapped v out, saw the one write of v; that write therefore took effect
// before the observer returned. An unknown write of v, when v is written
// by no other operation of the key, may return at the earliest such
// return instead of at +infinity: every linearization of the one history
// is one of the other. (If the observer returned before the write was
// called, the history is illegal and is left as it is, for Porcupine to
// say so.)
//
// Anonymous writes take effect in the order they were called. An unknown
// write whose value nobody refers to (no read returned it, no cas expects
// it: prune's test) leaves a state no other operation can tell from that
// of another such write; an unknown delete leaves absence, like every
// other. So two anonymous unknown operations of one class — sets; deletes;
// cas with one expectation — are interchangeable, and within a class any
// linearization can be rewritten to take them in the order of their calls:
// give the j-th position a class's operations hold to the j-th called of
// them. That one may sit there, because at least j of the class were
// called before the position (the ones that held the first j), and an
// operation returning at +infinity may sit anywhere after its call; every
// other operation sees the same states as before. So the search is told
// to take each class in call order (orderModel), which cuts the subsets of
// a class it can try from 2^n to n+1 without losing a linearization.

// reduction is one key's operations reduced, and what orderModel needs.
type reduction struct {
	ops     []porcupine.Operation
	classes int // how many classes of anonymous operations (Input.class)
	bounded int // observed unknown writes now ending at their first observation
	anon    int // anonymous operations given a rank
}

// reduce applies both reductions to one key's operations, as Operations
// makes them. It does not modify ops.
func reduce(ops []porcupine.Operation) reduction {
	writers := map[string]int{}
	observed := map[string]int64{} // value → earliest return of an operation that saw it
	referred := map[string]bool{}  // prune's "seen"
	see := func(v string, ret int64) {
		if at, ok := observed[v]; !ok || ret < at {
			observed[v] = ret
		}
	}
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		switch in.Kind {
		case Set:
			writers[in.Value]++
		case Cas:
			writers[in.Value]++
			if !in.OldAbsent {
				referred[in.Old] = true
				if !out.Unknown && out.Found {
					see(in.Old, op.Return)
				}
			}
		case Get:
			if !out.Unknown && out.Found {
				referred[out.Value] = true
				see(out.Value, op.Return)
			}
		}
	}
	r := reduction{ops: slices.Clone(ops)}
	classOf := map[string]int{}
	var members [][]int // class → indices into r.ops
	for i := range r.ops {
		op := &r.ops[i]
		in, out := op.Input.(Input), op.Output.(Output)
		if !out.Unknown {
			continue
		}
		var class string
		switch {
		case in.Kind == Delete:
			class = "delete"
		case in.Kind != Set && in.Kind != Cas:
			continue
		case referred[in.Value]:
			if at, ok := observed[in.Value]; ok && writers[in.Value] == 1 && at >= op.Call {
				op.Return = at
				r.bounded++
			}
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
	for c, idx := range members {
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(r.ops[a].Call, r.ops[b].Call) })
		for rank, i := range idx {
			in := r.ops[i].Input.(Input)
			in.class, in.rank = c, rank+1
			r.ops[i].Input = in
		}
		r.anon += len(idx)
	}
	r.classes = len(members)
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
