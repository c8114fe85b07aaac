package sim

import (
	"fmt"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
)

// checkValues requires every value a plain read returns to be one a client
// wrote: the value of a write to that key (whatever its outcome: an
// unknown or failed write may still have landed), and, when the read's
// version is the stamp of an acknowledged write, that write's value. The
// other cluster checkers compare versions only, so without it a replica
// that keeps a value nobody wrote under a right stamp passes (the
// canary-corrupt-writes mutant showed it). Values are unique in a run, so
// a value names its write.
func (w *world) checkValues() (Verdict, string) {
	written := map[string]map[string]bool{}                   // key → values written
	stamped := map[string]map[clock.Timestamp]*linearize.Op{} // key → acknowledged sets by stamp
	for i := range w.history {
		op := &w.history[i]
		for _, k := range writtenKeys(op) {
			if written[k] == nil {
				written[k] = map[string]bool{}
				stamped[k] = map[clock.Timestamp]*linearize.Op{}
			}
			written[k][op.Value] = true
			if op.Kind != linearize.Cas && op.Outcome == linearize.OK && !op.Version.IsZero() {
				stamped[k][op.Version] = op
			}
		}
	}
	for i := range w.history {
		r := &w.history[i]
		if r.Kind != linearize.Get || r.Outcome != linearize.OK || !r.Found {
			continue
		}
		if !written[r.Key][r.Output] {
			return Safety, fmt.Sprintf("values: %v read a value no client wrote to %q", *r, r.Key)
		}
		if wr, ok := stamped[r.Key][r.Version]; ok && wr.Value != r.Output {
			return Safety, fmt.Sprintf("values: %v read version %v with value %q, but %v wrote %q at that version",
				*r, r.Version, r.Output, *wr, wr.Value)
		}
	}
	return Pass, ""
}

// writtenKeys are the keys op writes a value to: a set's or cas's key, a
// batch's keys it does not delete.
func writtenKeys(op *linearize.Op) []string {
	switch op.Kind {
	case linearize.Set, linearize.Cas:
		return []string{op.Key}
	case linearize.Batch:
		var ks []string
		for _, k := range op.Keys() {
			if !slices.Contains(op.Deleted, k) {
				ks = append(ks, k)
			}
		}
		return ks
	}
	return nil
}
