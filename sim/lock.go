package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/memdb/memdb/linearize"
)

// checkMutex checks a Lock workload's mutual exclusion: no two clients hold
// the lock at once. A client holds it from the return of the cas that took
// it (or of the serial read that showed an unknown take happened) until the
// call of its next release: inside that interval the take has certainly
// happened and the release certainly not, so two overlapping intervals are
// two holders. Linearizability of the lock key implies this; the check
// says it in the lock's own terms.
func (w *world) checkMutex() (Verdict, string) {
	type hold struct {
		client     int
		start, end time.Duration
		take       *linearize.Op
	}
	var holds []hold
	open := map[int]*hold{}
	for i := range w.history {
		op := &w.history[i]
		if op.Key != lockKey || op.Outcome != linearize.OK {
			if op.Key == lockKey && op.Kind == linearize.Cas && strings.HasPrefix(op.Value, "free/") {
				if h := open[op.Client]; h != nil {
					h.end = op.Call
					holds = append(holds, *h)
					delete(open, op.Client)
				}
			}
			continue
		}
		took := op.Kind == linearize.Cas && op.Found && strings.HasPrefix(op.Value, "held/") ||
			op.Kind == linearize.Get && op.Found && ownValue(op)
		switch {
		case took && open[op.Client] == nil:
			open[op.Client] = &hold{client: op.Client, start: op.Return, end: -1, take: op}
		case op.Kind == linearize.Cas && strings.HasPrefix(op.Value, "free/"):
			if h := open[op.Client]; h != nil {
				h.end = op.Call
				holds = append(holds, *h)
				delete(open, op.Client)
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(open)) {
		holds = append(holds, *open[c]) // held to the end of the run
	}
	for i, a := range holds {
		for _, b := range holds[i+1:] {
			if a.client == b.client {
				continue
			}
			if overlap(a.start, a.end, b.start, b.end) {
				return Safety, fmt.Sprintf("mutual exclusion: client %d held the lock from %v (%v) and client %d from %v (%v), at once",
					a.client, a.start, *a.take, b.client, b.start, *b.take)
			}
		}
	}
	return Pass, ""
}

// overlap reports whether [s1, e1] and [s2, e2] intersect; an end of -1 is
// the end of the run.
func overlap(s1, e1, s2, e2 time.Duration) bool {
	if e1 < 0 {
		e1 = 1<<63 - 1
	}
	if e2 < 0 {
		e2 = 1<<63 - 1
	}
	return s1 < e2 && s2 < e1
}
