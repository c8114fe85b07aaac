package sim

import (
	"fmt"
	"strings"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// The exact-counting checker. Increment i of a counter key adds ±5^i
// (counter.go), so every value a node answers, and every replica's final
// state, decodes uniquely into balanced base-5 digits in -2..2: digit i is
// how many times increment i was counted, times its sign. DESIGN §3's
// guarantee then reads, digit by digit:
//
//   - an increment that failed definitely has digit 0 everywhere;
//   - any other has digit 0 or its sign: a 2, a −2 or the opposite sign is
//     a double or a lost count, and a digit for an increment never issued
//     (or issued after the read returned) is a count no client made;
//   - the answer to an increment holds that increment;
//   - a read holds every increment acknowledged before it began whenever
//     their levels intersect (W + R > replicas: "a quorum increment
//     acknowledged before a quorum read starts is in that read");
//   - after the heal, every replica of a counter holds the same value, in
//     which every acknowledged increment counts once.

// digits decodes v into balanced base 5: d[i] in -2..2 with v = Σ d[i]·5^i.
// ok is false if v needs more than maxIncrs digits.
func digits(v int64) (d [maxIncrs]int8, ok bool) {
	for i := range d {
		r := v % 5 // in -4..4, with v's sign
		switch {
		case r > 2:
			r -= 5
		case r < -2:
			r += 5
		}
		d[i] = int8(r)
		v = (v - r) / 5
	}
	return d, v == 0
}

// checkCounters judges every counter value the run observed.
func (w *world) checkCounters() (Verdict, string) {
	cs := w.ctr
	if cs == nil {
		return Pass, ""
	}
	byName := map[string]*counterKey{}
	for _, k := range cs.keys {
		byName[k.name] = k
	}
	n := min(max(w.p.RF, 1), w.p.Nodes)
	for i := range w.history {
		r := &w.history[i]
		if r.Kind != linearize.Incr && r.Kind != linearize.Counter || r.Outcome != linearize.OK {
			continue
		}
		k := byName[r.Key]
		self := -1
		if r.Kind == linearize.Incr {
			for j, h := range k.incrs {
				if h == i {
					self = j
				}
			}
		}
		rl := cs.level[i]
		must := func(j int) bool {
			if j == self {
				return true
			}
			inc := &w.history[k.incrs[j]]
			return r.Kind == linearize.Counter && inc.Outcome == linearize.OK && inc.Return < r.Call &&
				quorum.Need(cs.level[k.incrs[j]], n)+quorum.Need(rl, n) > n
		}
		what := fmt.Sprintf("%v (client %d, node %d, %v, called %v, returned %v)", *r, r.Client, r.Node, levelName(rl), r.Call, r.Return)
		if why := w.judgeCount(k, r.Count, what, r, must); why != "" {
			return Safety, why
		}
	}
	return Pass, ""
}

// judgeCount checks value, observed of key k by what (read, if a client
// op, bounds which increments it may hold), digit by digit; must says
// which increments it must hold. It returns why it is wrong, or "".
func (w *world) judgeCount(k *counterKey, value int64, what string, read *linearize.Op, must func(int) bool) string {
	d, ok := digits(value)
	if !ok {
		return fmt.Sprintf("counters: %s: value %d of %q is no sum of distinct ±5^i, i < %d: a count no client made", what, value, k.name, maxIncrs)
	}
	for i, di := range d {
		if i >= len(k.incrs) {
			if di != 0 {
				return fmt.Sprintf("counters: %s: value %d of %q has digit %d for increment %d, which no client issued (%d were)", what, value, k.name, di, i, len(k.incrs))
			}
			continue
		}
		inc := &w.history[k.incrs[i]]
		sign := int8(1)
		if inc.Delta < 0 {
			sign = -1
		}
		desc := fmt.Sprintf("increment %d of %q, %v (client %d, node %d, called %v, returned %v, %d attempt(s)%s)",
			i, k.name, *inc, inc.Client, inc.Node, inc.Call, inc.Return, inc.Attempts, note(inc))
		switch {
		case di != 0 && di != sign:
			verb := "counted twice"
			if di != 2*sign {
				// A count of 3 or more carries into the next digit.
				verb = fmt.Sprintf("want 0 or %d: a lost count, or one counted three times or more", sign)
			}
			return fmt.Sprintf("counters: %s: value %d has digit %d for %s: %s", what, value, di, desc, verb)
		case di != 0 && inc.Outcome == linearize.Failed:
			return fmt.Sprintf("counters: %s: value %d counts %s, which failed (nothing was applied, the node said)", what, value, desc)
		case di != 0 && read != nil && inc.Call > read.Return:
			return fmt.Sprintf("counters: %s: value %d counts %s, which was issued after the read returned", what, value, desc)
		case di == 0 && must(i):
			return fmt.Sprintf("counters: %s: value %d of %q lacks %s, which it must hold: a lost increment", what, value, k.name, desc)
		}
	}
	return ""
}

func note(op *linearize.Op) string {
	if op.Note == "" {
		return ""
	}
	return ": " + op.Note
}

func levelName(l net.Consistency) string {
	if l == net.Default {
		return "quorum"
	}
	return l.String()
}

// checkCounterReplicas requires every replica of every counter key to hold,
// after the heal, a state in which each acknowledged increment counts once
// and no failed one counts, and all replicas the same value. nodes are the
// members at the end (checkConvergence's), ref one of them.
func (w *world) checkCounterReplicas(nodes map[uint16]inspectable, ref inspectable) (Verdict, string) {
	if w.ctr == nil {
		return Pass, ""
	}
	for _, k := range w.ctr.keys {
		if len(k.incrs) == 0 {
			continue
		}
		key := []byte(k.name)
		reps := ref.Replicas(key)
		var vals []string
		var first int64
		var firstSlots []store.Slot
		for j, r := range reps {
			in, ok := nodes[r]
			if !ok {
				return Liveness, fmt.Sprintf("convergence: node %d, which left, is still a replica of %q %v after the heal", r, key, w.p.Liveness)
			}
			v, _ := in.Store().Get(key)
			if !v.Stamp.IsZero() && v.Kind != store.Counter {
				return Safety, fmt.Sprintf("counters: node %d holds counter %q as a %v: %s", r, key, v.Kind, describe(v))
			}
			slots, _ := store.Slots(v)
			value, err := store.CounterValue(v)
			if err != nil {
				return Safety, fmt.Sprintf("counters: node %d holds counter %q in a state that does not add up: %v", r, key, err)
			}
			what := fmt.Sprintf("replica %d's state of %q after the heal %s", r, key, slotsString(slots))
			must := func(i int) bool { return w.history[k.incrs[i]].Outcome == linearize.OK }
			if why := w.judgeCount(k, value, what, nil, must); why != "" {
				return Safety, why
			}
			vals = append(vals, fmt.Sprintf("node %d: %d %s", r, value, slotsString(slots)))
			if j == 0 {
				first, firstSlots = value, slots
				continue
			}
			if why := slotConflict(firstSlots, slots); why != "" {
				return Safety, fmt.Sprintf("counters: replicas %d and %d of %q hold %s", reps[0], r, key, why)
			}
			if value != first {
				return Liveness, fmt.Sprintf("convergence: replicas %v of counter %q differ %v after the heal: %s",
					reps, key, w.p.Liveness, strings.Join(vals, "; "))
			}
		}
	}
	return Pass, ""
}

// slotConflict reports a slot two states hold at one version with different
// sums: its owner wrote two states under one version, or one was made by
// someone else (replicas exchange whole slot states, so states of one
// version must be equal).
func slotConflict(a, b []store.Slot) string {
	for _, x := range a {
		for _, y := range b {
			if x.Node == y.Node && x.Gen == y.Gen && x.Version == y.Version && (x.P != y.P || x.N != y.N) {
				return fmt.Sprintf("two states of slot %d/%x at version %d: +%d−%d and +%d−%d", x.Node, x.Gen, x.Version, x.P, x.N, y.P, y.N)
			}
		}
	}
	return ""
}

func slotsString(slots []store.Slot) string {
	var b strings.Builder
	b.WriteString("{")
	for i, s := range slots {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d/%x:%d:+%d−%d", s.Node, s.Gen, s.Version, s.P, s.N)
	}
	b.WriteString("}")
	return b.String()
}
