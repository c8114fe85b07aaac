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

// Result is the checker's verdict on a history.
type Result struct {
	// OK is true if every key's history is linearizable (or the check
	// timed out without finding a violation; see Inconclusive).
	OK bool
	// Key is the first key, in sorted order, whose history is not
	// linearizable.
	Key string
	// Inconclusive is true if the time budget ran out before every key was
	// checked.
	Inconclusive bool
	// Ops is the number of operations given to Porcupine (failed ops and
	// unknown reads are left out; wipes count once per key).
	Ops int

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

// Check checks h against Model. The timeout bounds the wall time spent in
// Porcupine (0 means no bound); it never changes a simulated run, only
// whether this verdict is conclusive.
func Check(h History, timeout time.Duration) (Result, error) {
	return CheckModel(Model(), h, timeout)
}

// CheckModel checks h against model, whose Partition must split by key as
// Partition does. Keys are checked one at a time in sorted order, so the
// first failing key is the same on every run.
func CheckModel(model porcupine.Model, h History, timeout time.Duration) (Result, error) {
	if err := h.Validate(); err != nil {
		return Result{}, err
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
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for _, part := range parts {
		res.Ops += len(part)
		left := time.Duration(0)
		if timeout > 0 {
			if left = time.Until(deadline); left <= 0 {
				res.Inconclusive = true
				break
			}
		}
		switch porcupine.CheckOperationsTimeout(single, part, left) {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			res.Inconclusive = true
			continue
		}
		res.OK = false
		res.Key = part[0].Input.(Input).Key
		for _, op := range part {
			if k := op.Input.(Input).Key; k != "" {
				res.Key = k
				break
			}
		}
		// Re-run verbosely on the failing key alone, for the visualisation.
		_, res.info = porcupine.CheckOperationsVerbose(single, part, 0)
		return res, nil
	}
	return res, nil
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
	legal := func(i int) bool {
		res, err := Check(prefix(times[i]), 0)
		return err == nil && res.OK
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
