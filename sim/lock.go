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
//
// A read that shows the client's own value after an unknown *release* is
// no hold: the release may still be chosen later (a proposal accepted by a
// minority can be finished by the next proposer), so the client only
// releases again, and holds nothing meanwhile.
func (w *world) checkMutex() (Verdict, string) {
	type hold struct {
		client     int
		start, end time.Duration
		take       *linearize.Op
	}
	var holds []hold
	open := map[int]*hold{}
	releasing := map[int]bool{} // the client's latest cas was a release of unknown outcome
	for i := range w.history {
		op := &w.history[i]
		afterRelease := releasing[op.Client]
		if op.Key == lockKey && op.Kind == linearize.Cas {
			releasing[op.Client] = op.Outcome == linearize.Unknown && strings.HasPrefix(op.Value, "free/")
		}
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
			op.Kind == linearize.Get && op.Found && ownValue(op) && !afterRelease
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
