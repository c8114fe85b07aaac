package linearize

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// ErrBadHistory means a history is malformed (unknown kind or outcome,
// missing key, a return before its call).
var ErrBadHistory = errors.New("bad history")

// DefaultSteps is the search budget per key when a caller gives none: how
// many times Porcupine may call the model's step function on one key's
// history before that key is undecided. It is counted, not timed, so a
// verdict never depends on the machine or its load. Porcupine makes 1-2
// million steps a second on the project's machine, so a key that runs out
// costs 5-10 s; the costliest key of the first 16 seeds of each Paxos
// scenario took 0.48 million (PAPER §5.17).
const DefaultSteps = 10_000_000

// Result is the checker's verdict on a history.
type Result struct {
	// OK is true if every key's history is linearizable. A run with an
	// undecided key is not OK unless a violation was found elsewhere;
	// check Undecided first.
	OK bool
	// Key is the first key, in sorted order, whose history is not
	// linearizable.
	Key string
	// Undecided is true if no key was found not linearizable but the
	// search of some key (UndecidedKey, the first in sorted order) ran out
	// of its step budget: the history is neither passed nor failed. It is
	// a verdict of its own, never a pass.
	Undecided    bool
	UndecidedKey string
	// Ops is the number of operations given to Porcupine (failed ops and
	// unknown reads are left out; wipes count once per key).
	Ops int
	// Steps is how many times the model's step function ran, over every
	// search of every key: the check's cost, the same on every machine.
	Steps int

	model porcupine.Model
	info  porcupine.LinearizationInfo
}

// Window annotates the visualisation, such as a node's crash-to-restart
// window. End may equal Start for an instant.
type Window struct {
	Tag         string
	Start, End  time.Duration
	Description string
}

// Check checks h against Model. steps bounds the search of each key (0
// means DefaultSteps); see CheckModel.
func Check(h History, steps int) (Result, error) {
	return CheckModel(Model(), h, steps)
}

// search is one bounded Porcupine search.
type search int

const (
	searchOK search = iota
	searchIllegal
	searchOut // the budget ran out
)

// CheckModel checks h against model, whose Partition must split by key as
// Partition does. Keys are checked one at a time in sorted order, so the
// first failing key is the same on every run. No wall clock bounds it:
// the search of each key may call the model's step function at most steps
// times (0 means DefaultSteps), and a key whose search runs out makes the
// result Undecided, unless some key is found not linearizable.
//
// Each key is first checked without its unobserved unknown writes (see
// prune); only if that history is not found linearizable is the whole
// one searched. Each search has the whole budget: the first often proves
// a key that the second cannot decide (cas seed 246: 1.85M steps pruned,
// more than 10M whole), though where the key needs an unobserved write it
// may spend it all before the second decides (cas seed 2785 at c3f1fe8:
// 10M, then 375,742).
// Both searches take the key's history reduced (see reduce: an observed
// unknown write ends at its first observation, an unknown cas once the
// value it expects is overwritten for good, and anonymous unknown writes
// of one class take effect in call order), which changes no verdict. Both
// are Porcupine's, deterministic for a given history, so the verdict and
// Steps are the same on every machine. The visualisation of a violation
// shows the reduced history.
func CheckModel(model porcupine.Model, h History, steps int) (Result, error) {
	if err := h.Validate(); err != nil {
		return Result{}, err
	}
	if steps <= 0 {
		steps = DefaultSteps
	}
	ops := Operations(h)
	parts := [][]porcupine.Operation{ops}
	if model.Partition != nil {
		parts = model.Partition(ops)
	}
	single := model
	single.Partition = nil
	single.PartitionEvent = nil
	res := Result{OK: true, model: single}
	for _, part := range parts {
		res.Ops += len(part)
		if pruned := prune(part); len(pruned) < len(part) {
			r := reduce(pruned)
			v, n := bounded(orderModel(single, r.classes), r.ops, steps)
			res.Steps += n
			if v == searchOK {
				continue
			}
		}
		r := reduce(part)
		whole := orderModel(single, r.classes)
		v, n := bounded(whole, r.ops, steps)
		res.Steps += n
		switch v {
		case searchOK:
			continue
		case searchOut:
			if !res.Undecided {
				res.Undecided, res.UndecidedKey = true, partKey(part)
			}
			continue
		}
		res.OK, res.Undecided, res.UndecidedKey = false, false, ""
		res.Key = partKey(part)
		// Re-run verbosely on the failing key alone, for the visualisation;
		// the search found the violation within its budget, so this one,
		// the same search, ends too.
		res.model = whole
		_, res.info = porcupine.CheckOperationsVerbose(whole, r.ops, 0)
		return res, nil
	}
	if res.Undecided {
		res.OK = false
	}
	return res, nil
}

// bounded runs Porcupine on one key's operations with at most budget calls
// of the model's step function, and returns its verdict and the calls
// made. Past the budget every step is refused, which makes Porcupine
// unwind and report the history illegal at once; the count tells that
// apart from a real violation.
func bounded(model porcupine.Model, ops []porcupine.Operation, budget int) (search, int) {
	n := 0
	step := model.Step
	model.Step = func(s, in, out any) (bool, any) {
		n++
		if n > budget {
			return false, s
		}
		return step(s, in, out)
	}
	// One partition: Porcupine searches it on one goroutine, and the
	// channel that carries its verdict orders n's writes before our read.
	ok := porcupine.CheckOperations(model, ops)
	switch {
	case n > budget:
		return searchOut, budget
	case ok:
		return searchOK, n
	}
	return searchIllegal, n
}

// prune returns ops without the unknown writes whose value no operation
// observes: no read returned it and no cas expects it. Such a write
// returns at +infinity, so it can always be linearized after every other
// operation, where it changes nothing anyone saw: if the pruned history is
// linearizable, so is ops. (The converse does not hold — a failed cas may
// need the write to have happened — so a pruned history that is not
// linearizable sends the checker back to the whole one.) Under contention
// most unknown cas operations lost, and they are what made the search
// exponential.
func prune(ops []porcupine.Operation) []porcupine.Operation {
	seen := map[string]bool{}
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		switch {
		case in.Kind == Get && !out.Unknown && out.Found:
			seen[out.Value] = true
		case in.Kind == Cas && !in.OldAbsent:
			seen[in.Old] = true
		}
	}
	kept := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		if out.Unknown && (in.Kind == Set || in.Kind == Cas) && !seen[in.Value] {
			continue
		}
		kept = append(kept, op)
	}
	return kept
}

// partKey is the key of one partition's operations (wipes have none).
func partKey(part []porcupine.Operation) string {
	for _, op := range part {
		if k := op.Input.(Input).Key; k != "" {
			return k
		}
	}
	return ""
}

// Operations converts h to Porcupine's form: failed operations, unknown
// reads and counter operations are dropped, unknown writes return after
// every other operation.
func Operations(h History) []porcupine.Operation {
	var last time.Duration
	maxProc := 0
	for _, o := range h {
		last = max(last, o.Return, o.Call)
		maxProc = max(maxProc, o.Process)
	}
	infinity := int64(last) + 1
	ops := make([]porcupine.Operation, 0, len(h))
	for _, o := range h {
		if o.Outcome == Failed || o.Kind == Incr || o.Kind == Counter || o.Kind == Batch {
			continue
		}
		unknown := o.Outcome == Unknown
		if unknown && (o.Kind == Get || o.Kind == Contains) {
			continue
		}
		ret := int64(o.Return)
		if unknown {
			ret = infinity
		}
		proc := o.Process
		if o.Kind == Wipe {
			proc = maxProc + 1 // wipes get their own row in the visualisation
		}
		ops = append(ops, porcupine.Operation{
			ClientId: proc,
			Input:    Input{Kind: o.Kind, Key: o.Key, Value: o.Value, Old: o.Old, OldAbsent: o.OldAbsent, Node: o.Node},
			Call:     int64(o.Call),
			Output:   Output{Unknown: unknown, Found: o.Found, Value: o.Output},
			Return:   ret,
		})
	}
	return ops
}

// WriteHTML writes Porcupine's visualisation of the failing key's history
// to path, with windows drawn as annotations. It is an error to call it on
// a result that found no violation.
func (r Result) WriteHTML(path string, windows []Window) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write visualisation: %w", err)
	}
	if err := r.Visualize(f, windows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Visualize is WriteHTML to a writer.
func (r Result) Visualize(w io.Writer, windows []Window) error {
	if r.OK {
		return errors.New("visualize: the history is linearizable; nothing to show")
	}
	info := r.info
	anns := make([]porcupine.Annotation, 0, len(windows))
	for _, win := range windows {
		anns = append(anns, porcupine.Annotation{
			Tag: win.Tag, Start: int64(win.Start), End: int64(win.End),
			Description: win.Description, BackgroundColor: "#f6d0d0",
		})
	}
	info.AddAnnotations(anns)
	if err := porcupine.Visualize(r.model, info, w); err != nil {
		return fmt.Errorf("visualize key %q: %w", r.Key, err)
	}
	return nil
}

// ShortestPrefix returns the shortest prefix of key's history that is
// already not linearizable, and the operation whose call or return ends it
// (nil if key's history is linearizable). A prefix up to time T holds the
// operations called by T; one that had not returned by T is unknown (a
// write may take effect later or never; a read is left out). A later T
// only adds constraints, so the shortest illegal prefix is found by binary
// search over the times at which operations are called or return.
func ShortestPrefix(h History, key string) (History, *Op) {
	var ops History
	var times []time.Duration
	for _, o := range h {
		if o.Key == key || o.Kind == Wipe {
			ops = append(ops, o)
			times = append(times, o.Call, o.Return)
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	prefix := func(t time.Duration) History {
		var p History
		for _, o := range ops {
			if o.Call > t {
				continue
			}
			if o.Return > t {
				o.Outcome, o.Return = Unknown, t
			}
			p = append(p, o)
		}
		return p
	}
	// A prefix whose search runs out of budget is not known to be illegal:
	// the search goes on past it.
	legal := func(i int) bool {
		res, err := Check(prefix(times[i]), 0)
		return err == nil && (res.OK || res.Undecided)
	}
	if len(times) == 0 || legal(len(times)-1) {
		return nil, nil
	}
	i := sort.Search(len(times), func(i int) bool { return !legal(i) })
	t := times[i]
	p := prefix(t)
	for j := range ops {
		if o := &ops[j]; (o.Return == t && o.Outcome != Unknown) || o.Call == t {
			return p, o
		}
	}
	return p, nil
}
