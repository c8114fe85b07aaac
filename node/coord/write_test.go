package coord

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"pgregory.net/rapid"
)

func ids(xs ...uint16) []uint16 { return xs }

var entry = net.Entry{Key: []byte("k"), Value: []byte("v"), Stamp: clock.Timestamp{Counter: 7, Node: 1}}

// An event on a write: an answer (ok or refused), a timeout, a fence.
type wev struct {
	kind string // "ack", "no", "timeout", "fenced"
	r    uint16
}

func (e wev) String() string { return fmt.Sprintf("%s %d", e.kind, e.r) }

func (e wev) apply(w *Write) Step {
	switch e.kind {
	case "ack":
		return w.Answer(e.r, true)
	case "no":
		return w.Answer(e.r, false)
	case "timeout":
		return w.TimedOut()
	case "fenced":
		return Step{Wait: w.Fenced(e.r)} // Wait stands for "schedule a resend"
	}
	panic(e.kind)
}

func TestWrite(t *testing.T) {
	one := quorum.Joint{ids(1, 2, 3)}
	joint := quorum.Joint{ids(1, 2, 3), ids(1, 2, 4)}
	tests := []struct {
		name   string
		groups quorum.Joint
		level  net.Consistency
		events []wev
		want   []Step // one per event
	}{
		{"quorum of three", one, net.Quorum,
			[]wev{{"ack", 1}, {"ack", 3}, {"ack", 2}},
			[]Step{{}, {Reply: Done}, {Finish: true}}},
		{"a duplicate or late answer is nothing", one, net.Quorum,
			[]wev{{"ack", 1}, {"ack", 1}, {"no", 1}, {"ack", 2}, {"ack", 3}, {"ack", 3}},
			[]Step{{}, {}, {}, {Reply: Done}, {Finish: true}, {}}},
		{"a refusal is hinted", one, net.Quorum,
			[]wev{{"no", 2}, {"ack", 1}, {"ack", 3}},
			[]Step{{Hint: ids(2)}, {}, {Reply: Done, Finish: true}}},
		{"two refusals lose a quorum: unknown", one, net.Quorum,
			[]wev{{"ack", 1}, {"no", 2}, {"no", 3}},
			[]Step{{}, {Hint: ids(2)}, {Hint: ids(3), Reply: Unknown, Finish: true}}},
		{"level all lost at the first refusal", one, net.All,
			[]wev{{"no", 2}, {"no", 1}, {"no", 3}},
			[]Step{{Hint: ids(2), Reply: Unknown}, {Hint: ids(1)}, {Hint: ids(3), Finish: true}}},
		{"every replica refused: unavailable", quorum.Joint{ids(5)}, net.Quorum,
			[]wev{{"no", 5}},
			[]Step{{Hint: ids(5), Reply: Unavailable, Finish: true}}},
		{"joint: both groups must reach quorum", joint, net.Quorum,
			[]wev{{"ack", 1}, {"ack", 3}, {"ack", 4}},
			[]Step{{}, {}, {Reply: Done}}},
		{"timeout hints the silent and says unknown", one, net.Quorum,
			[]wev{{"ack", 1}, {"no", 2}, {"timeout", 0}, {"ack", 3}},
			[]Step{{}, {Hint: ids(2)}, {Hint: ids(3), Reply: Unknown, Finish: true}, {}}},
		{"timeout after the reply only hints", one, net.Quorum,
			[]wev{{"ack", 1}, {"ack", 2}, {"timeout", 0}},
			[]Step{{}, {Reply: Done}, {Hint: ids(3), Finish: true}}},
		{"fenced schedules one resend", one, net.Quorum,
			[]wev{{"ack", 1}, {"fenced", 2}, {"fenced", 2}, {"fenced", 3}, {"fenced", 1}},
			[]Step{{}, {Wait: true}, {}, {}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWrite(entry, tt.level, tt.groups, tt.groups.All(), 1)
			var got []Step
			for _, e := range tt.events {
				got = append(got, e.apply(w))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%v at %v, events %v: steps (-want +got):\n%s", tt.groups, tt.level, tt.events, diff)
			}
		})
	}
}

// A write fenced by replica 3 moves to the ring where 4 took 3's place:
// 3 is no longer waited for, 4 is asked, an acknowledged replica is not
// asked again, a refusing one is.
func TestWriteResend(t *testing.T) {
	w := NewWrite(entry, net.Quorum, quorum.Joint{ids(1, 2, 3)}, ids(1, 2, 3), 1)
	w.Answer(1, true)
	w.Answer(2, false)
	if !w.Fenced(3) {
		t.Fatal("the first fence did not schedule a resend")
	}
	w.Resend(quorum.Joint{ids(1, 2, 4)}, ids(1, 2, 4), 2)
	var again []uint16
	for _, r := range ids(1, 2, 4) {
		if w.Reask(r) {
			again = append(again, r)
		}
	}
	if s := w.Decide(); !cmp.Equal(s, Step{}) {
		t.Errorf("Decide() after the resend = %+v, want nothing", s)
	}
	if want := ids(2, 4); !slices.Equal(again, want) {
		t.Errorf("asked again %v, want %v", again, want)
	}
	if want := ids(1, 2, 4); !slices.Equal(w.Asked, want) || w.Epoch != 2 || w.Stale != nil || len(w.Failed) != 0 {
		t.Errorf("after the resend: asked %v epoch %d stale %v failed %v; want asked %v epoch 2, no stale or failed", w.Asked, w.Epoch, w.Stale, w.Failed, want)
	}
	if !w.Fenced(4) {
		t.Error("a fence after the resend did not schedule another")
	}
	if s := w.Answer(2, true); s.Reply != Done {
		t.Errorf("Answer(2) = %+v, want Done", s)
	}
}

// A restamped write forgets every answer to its old stamp: an
// acknowledgement of it counts for nothing toward the new one, and a
// replica hinted or refused before is asked and may be hinted again.
func TestWriteRestamp(t *testing.T) {
	w := NewWrite(entry, net.Quorum, quorum.Joint{ids(1, 2, 3)}, ids(1, 2, 3), 1)
	w.Answer(1, true)
	if s := w.Answer(2, false); !slices.Equal(s.Hint, ids(2)) {
		t.Fatalf("Answer(2, false) = %+v, want a hint for 2", s)
	}
	t2 := clock.Timestamp{Counter: 90, Node: 1}
	w.Restamp(t2)
	if w.Entry.Stamp != t2 || w.Acked != nil || w.Failed != nil || w.Hinted != nil || !slices.Equal(w.Asked, ids(1, 2, 3)) {
		t.Fatalf("after Restamp: stamp %v acked %v failed %v hinted %v asked %v; want stamp %v, no answers, asked 1 2 3", w.Entry.Stamp, w.Acked, w.Failed, w.Hinted, w.Asked, t2)
	}
	if s := w.Answer(1, true); s.Reply != Wait {
		t.Errorf("the first acknowledgement of the new stamp = %+v, want to wait for a second", s)
	}
	if s := w.Answer(2, false); !slices.Equal(s.Hint, ids(2)) {
		t.Errorf("a refusal of the new stamp = %+v, want a hint for 2 again", s)
	}
	if s := w.Answer(3, true); s.Reply != Done || !s.Finish {
		t.Errorf("Answer(3) = %+v, want Done and finished", s)
	}
}

var levels = []net.Consistency{net.One, net.Quorum, net.All, net.Default}

// drawJoint draws one or two groups of distinct replicas from ids 1..6.
func drawJoint(t *rapid.T) quorum.Joint {
	group := func(label string) []uint16 {
		return rapid.SliceOfNDistinct(rapid.Uint16Range(1, 6), 1, 5, rapid.ID).Draw(t, label)
	}
	j := quorum.Joint{group("read")}
	if rapid.Bool().Draw(t, "moving") {
		j = append(j, group("write"))
	}
	return j
}

// met counts, without node/quorum, whether yes has level's count in every
// group.
func met(j quorum.Joint, level net.Consistency, yes []uint16) bool {
	for _, g := range j {
		need := len(g)/2 + 1
		switch level {
		case net.One:
			need = 1
		case net.All:
			need = len(g)
		}
		c := 0
		for _, r := range g {
			if slices.Contains(yes, r) {
				c++
			}
		}
		if c < need {
			return false
		}
	}
	return true
}

// Whatever the answers, duplicates and timeouts: a write is answered once;
// Done only once its level is met in every group, Unavailable only if no
// replica acknowledged it; a replica is hinted only if it did not
// acknowledge, and at most once (no resend here); it finishes exactly
// once, by the time every replica answered or it timed out, and nothing
// happens after.
func TestWriteProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := drawJoint(t)
		level := rapid.SampledFrom(levels).Draw(t, "level")
		asked := j.All()
		w := NewWrite(entry, level, j, asked, 1)
		var acked, hinted []uint16
		replies, finished := 0, false
		n := rapid.IntRange(0, 3*len(asked)).Draw(t, "events")
		for i := 0; i < n && !finished; i++ {
			var e wev
			switch {
			case rapid.IntRange(0, 20).Draw(t, "timeout?") == 0:
				e = wev{kind: "timeout"}
			default:
				e = wev{rapid.SampledFrom([]string{"ack", "no"}).Draw(t, "kind"), rapid.SampledFrom(asked).Draw(t, "replica")}
			}
			// An acknowledgement counts unless the replica acknowledged
			// already, even after its refusal (Answer).
			counts := e.kind == "ack" && !w.Over() && !slices.Contains(acked, e.r)
			s := e.apply(w)
			if counts {
				acked = append(acked, e.r)
			}
			for _, r := range s.Hint {
				if slices.Contains(acked, r) || slices.Contains(hinted, r) {
					t.Fatalf("%v: hinted %d (acked %v, hinted before %v)", e, r, acked, hinted)
				}
				hinted = append(hinted, r)
			}
			switch s.Reply {
			case Done:
				if !met(j, level, acked) {
					t.Fatalf("%v: Done with acks %v of %v at %v", e, acked, j, level)
				}
			case Unavailable:
				if len(acked) > 0 {
					t.Fatalf("%v: Unavailable, yet %v acknowledged", e, acked)
				}
			}
			if s.Reply != Wait {
				replies++
			}
			if replies > 1 {
				t.Fatalf("%v: a second reply, %v", e, s.Reply)
			}
			finished = s.Finish
			answered := len(acked) + len(w.Failed)
			if finished != (e.kind == "timeout" || answered == len(asked)) {
				t.Fatalf("%v: finish %v with %d of %d answered", e, finished, answered, len(asked))
			}
			if finished && replies != 1 {
				t.Fatalf("%v: finished without a reply", e)
			}
		}
		if finished {
			if s := w.Answer(asked[0], true); !cmp.Equal(s, Step{}) || !w.Over() {
				t.Fatalf("after the finish: %+v", s)
			}
		}
	})
}

// check is the invariant Write's fields document: Acked, Failed and Stale
// are disjoint, hold each replica once, and are within Asked.
func (w *Write) check() error {
	seen := map[uint16]string{}
	for _, s := range []struct {
		name string
		ids  []uint16
	}{{"acked", w.Acked}, {"failed", w.Failed}, {"stale", w.Stale}} {
		for _, r := range s.ids {
			if prev, ok := seen[r]; ok {
				return fmt.Errorf("replica %d is %s and %s (acked %v failed %v stale %v)", r, prev, s.name, w.Acked, w.Failed, w.Stale)
			}
			seen[r] = s.name
			if !slices.Contains(w.Asked, r) {
				return fmt.Errorf("replica %d is %s, not asked (asked %v)", r, s.name, w.Asked)
			}
		}
	}
	return nil
}
