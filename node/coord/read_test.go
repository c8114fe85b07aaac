package coord

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
	"pgregory.net/rapid"
)

// at is a register written at counter c by node 9 (zero c: never written).
func at(c uint64) store.Version {
	if c == 0 {
		return store.Version{}
	}
	return store.RegisterAt([]byte(fmt.Sprint("v", c)), false, clock.Timestamp{Counter: c, Node: 9})
}

// An event on a read: an answer at version v, a repair acknowledged (ok)
// or refused, a timeout.
type rev struct {
	kind string // "answer", "repaired", "refused", "timeout"
	r    uint16
	v    uint64
}

func (e rev) String() string { return fmt.Sprintf("%s %d@%d", e.kind, e.r, e.v) }

func (e rev) apply(rd *Read) Step {
	switch e.kind {
	case "answer":
		return rd.Answer(e.r, at(e.v))
	case "repaired":
		return rd.Repaired(e.r, true)
	case "refused":
		return rd.Repaired(e.r, false)
	case "timeout":
		return rd.TimedOut()
	}
	panic(e.kind)
}

func TestRead(t *testing.T) {
	one := quorum.Joint{ids(1, 2, 3)}
	tests := []struct {
		name   string
		level  net.Consistency
		events []rev
		want   []Step
	}{
		{"agreeing quorum answers at once", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 5}, {kind: "answer", r: 3, v: 5}},
			[]Step{{}, {Reply: Answer}, {Finish: true}}},
		{"a stale answerer is repaired first", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 3}, {kind: "repaired", r: 2}, {kind: "answer", r: 3, v: 5}},
			[]Step{{}, {Repair: ids(2), Wait: true}, {Reply: Answer}, {Finish: true}}},
		{"a refused repair keeps the read waiting", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 3}, {kind: "refused", r: 2}, {kind: "answer", r: 3, v: 5}, {kind: "timeout"}},
			[]Step{{}, {Repair: ids(2), Wait: true}, {}, {}, {Reply: Unavailable, Finish: true}}},
		{"a repair from a replica not repairing is nothing", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 3}, {kind: "repaired", r: 1}, {kind: "repaired", r: 2}},
			[]Step{{}, {Repair: ids(2), Wait: true}, {}, {Reply: Answer}}},
		{"a late stale answer is repaired in the background", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 5}, {kind: "answer", r: 3}},
			[]Step{{}, {Reply: Answer}, {Repair: ids(3), Finish: true}}},
		{"level one answers the first, stale or not", net.One,
			[]rev{{kind: "answer", r: 2}, {kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 5}},
			[]Step{{Reply: Answer}, {}, {}}},
		{"timeout after the answer only finishes", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 5}, {kind: "timeout"}, {kind: "answer", r: 3}},
			[]Step{{}, {Reply: Answer}, {Finish: true}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := NewRead([]byte("k"), tt.level, one, false)
			for _, r := range one.All() {
				rd.Ask(r)
			}
			var got []Step
			for _, e := range tt.events {
				s := e.apply(rd)
				s.Repair = slices.Clone(s.Repair) // the read's own list, which Repaired shrinks
				got = append(got, s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%v at %v, events %v: steps (-want +got):\n%s", one, tt.level, tt.events, diff)
			}
		})
	}
}

// Whatever the answers, repairs and timeouts: a read answers once, with
// every answer so far merged; at quorum and above never before each
// stale answerer it waits for has taken the newest state; at one never
// waiting; and it finishes exactly once, once it has answered and every
// replica asked has answered, or it timed out.
func TestReadProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := drawJoint(t)
		level := rapid.SampledFrom(levels).Draw(t, "level")
		asked := rapid.SliceOfNDistinct(rapid.SampledFrom(j.All()), 1, len(j.All()), rapid.ID).Draw(t, "asked (up)")
		rd := NewRead([]byte("k"), level, j, false)
		for _, r := range asked {
			rd.Ask(r)
		}
		var waitFor, took []uint16
		var merged store.Version
		var answered []uint16
		replies, finished := 0, false
		n := rapid.IntRange(0, 4*len(asked)).Draw(t, "events")
		for i := 0; i < n && !finished; i++ {
			var e rev
			switch k := rapid.IntRange(0, 20).Draw(t, "kind"); {
			case k == 0:
				e = rev{kind: "timeout"}
			case k < 12:
				e = rev{kind: "answer", r: rapid.SampledFrom(asked).Draw(t, "from"), v: rapid.Uint64Range(0, 4).Draw(t, "version")}
			default:
				e = rev{kind: rapid.SampledFrom([]string{"repaired", "refused"}).Draw(t, "repair"), r: rapid.SampledFrom(asked).Draw(t, "from")}
			}
			if e.kind == "answer" && !slices.Contains(answered, e.r) {
				answered = append(answered, e.r)
				merged, _ = store.Merge(merged, at(e.v))
			}
			if e.kind == "repaired" && slices.Contains(rd.Repairing, e.r) {
				took = append(took, e.r)
			}
			s := e.apply(rd)
			if s.Wait {
				if level == net.One {
					t.Fatalf("%v: a read at one waits for repairs %v", e, s.Repair)
				}
				waitFor = slices.Clone(s.Repair)
			}
			switch s.Reply {
			case Answer:
				if !cmp.Equal(rd.Newest, merged) {
					t.Fatalf("%v: answers %v, want the merge of every answer %v", e, rd.Newest, merged)
				}
				if !met(j, level, answered) {
					t.Fatalf("%v: answers with %v of %v at %v", e, answered, j, level)
				}
				for _, r := range waitFor {
					if !slices.Contains(took, r) {
						t.Fatalf("%v: answers before stale replica %d took the repair (waited for %v, took %v)", e, r, waitFor, took)
					}
				}
			case Unavailable:
				if e.kind != "timeout" {
					t.Fatalf("%v: Unavailable before the timeout", e)
				}
			}
			if s.Reply != Wait {
				replies++
			}
			if replies > 1 {
				t.Fatalf("%v: a second reply, %v", e, s.Reply)
			}
			finished = s.Finish
			if finished != (e.kind == "timeout" || replies == 1 && len(answered) == len(asked) && (e.kind == "answer" || s.Reply == Answer)) {
				t.Fatalf("%v: finish %v, %d replies, %d of %d answered", e, finished, replies, len(answered), len(asked))
			}
		}
		if finished {
			if s := rd.Answer(asked[0], at(9)); !cmp.Equal(s, Step{}) || !rd.Over() {
				t.Fatalf("after the finish: %+v", s)
			}
		}
	})
}
