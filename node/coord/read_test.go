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
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 3}, {kind: "refused", r: 2}, {kind: "timeout"}},
			[]Step{{}, {Repair: ids(2), Wait: true}, {}, {Reply: Unavailable, Finish: true}}},
		{"a third answer holding the result ends the wait for a repair", net.Quorum,
			[]rev{{kind: "answer", r: 1, v: 5}, {kind: "answer", r: 2, v: 3}, {kind: "answer", r: 3, v: 5}, {kind: "repaired", r: 2}},
			[]Step{{}, {Repair: ids(2), Wait: true}, {Reply: Answer, Finish: true}, {}}},
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
// the merge of the answers that first met its level; at quorum and above
// only once that state (or a later one) is held by replicas that meet its
// level — answerers that had it, and stale ones that took it (PAPER bugs
// 32 and 38); at one never waiting; and it finishes exactly once, once it has
// answered and every replica asked has answered, or it timed out.
func TestReadProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Groups of five replicas or fewer; rapid leans to small draws,
		// so the draw is how many fewer: reads race among several.
		group := func(label string) []uint16 {
			ids := rapid.Permutation([]uint16{1, 2, 3, 4, 5, 6}).Draw(t, label)
			return ids[:5-rapid.IntRange(0, 4).Draw(t, label+" fewer")]
		}
		j := quorum.Joint{group("read")}
		if rapid.Bool().Draw(t, "moving") {
			j = append(j, group("write"))
		}
		// Levels and versions in an order that makes the first draws,
		// rapid's favourites, races: quorum, and answers that differ.
		level := rapid.SampledFrom([]net.Consistency{net.Quorum, net.All, net.One, net.Default}).Draw(t, "level")
		// Every replica is asked but those down (rapid leans to small
		// draws: few down, so reads have answers to race).
		asked := j.All()
		for range rapid.IntRange(0, len(asked)-1).Draw(t, "down") {
			down := rapid.SampledFrom(asked).Draw(t, "down id")
			asked = slices.DeleteFunc(asked, func(r uint16) bool { return r == down })
		}
		// Each replica holds its own version (a shuffle: rapid's other
		// draws lean to one value, and then no answer is stale).
		perm := rapid.Permutation([]uint64{0, 1, 2, 3, 4, 5}).Draw(t, "versions")
		versions := map[uint16]uint64{}
		for i, r := range j.All() {
			versions[r] = perm[i%len(perm)]
		}
		rd := NewRead([]byte("k"), level, j, false)
		for _, r := range asked {
			rd.Ask(r)
		}
		var took []uint16
		var merged, atLevel store.Version
		var answered, holders []uint16
		leveled := false
		held := map[uint16]store.Version{}
		replies, finished := 0, false
		for i := 0; i < 8*len(asked) && !finished; i++ {
			// rapid leans to small draws: a timeout (which ends the read)
			// only on the largest, and answers before repairs.
			e := rev{kind: rapid.SampledFrom([]string{"answer", "repaired", "answer", "refused"}).Draw(t, "kind")}
			if rapid.IntRange(0, 20).Draw(t, "timeout") == 20 {
				e = rev{kind: "timeout"}
			}
			switch e.kind {
			case "answer":
				// Mostly from a replica that has not answered yet;
				// sometimes a duplicate.
				from := asked
				if rest := slices.DeleteFunc(slices.Clone(asked), func(r uint16) bool { return slices.Contains(answered, r) }); len(rest) > 0 && rapid.IntRange(0, 3).Draw(t, "duplicate") > 0 {
					from = rest
				}
				e.r = rapid.SampledFrom(from).Draw(t, "from")
				e.v = versions[e.r]
			case "repaired", "refused":
				// Mostly from a replica the read repairs; sometimes from
				// any (a late or stray acknowledgement).
				from := asked
				if len(rd.Repairing) > 0 && rapid.IntRange(0, 3).Draw(t, "stray") > 0 {
					from = rd.Repairing
				}
				e.r = rapid.SampledFrom(from).Draw(t, "from")
			}
			if e.kind == "answer" && !slices.Contains(answered, e.r) {
				answered = append(answered, e.r)
				merged, _ = store.Merge(merged, at(e.v))
				held[e.r] = at(e.v)
			}
			if e.kind == "repaired" && slices.Contains(rd.Repairing, e.r) {
				took = append(took, e.r)
			}
			s := e.apply(rd)
			if !leveled && (s.Wait || s.Reply == Answer) {
				leveled, atLevel = true, merged
			}
			if s.Wait && level == net.One {
				t.Fatalf("%v: a read at one waits for repairs %v", e, s.Repair)
			}
			switch s.Reply {
			case Answer:
				if !cmp.Equal(rd.Result, atLevel) {
					t.Fatalf("%v: answers %v, want the merge %v of the answers that met the level", e, rd.Result, atLevel)
				}
				if !cmp.Equal(rd.Newest, merged) {
					t.Fatalf("%v: newest %v, want the merge of every answer %v", e, rd.Newest, merged)
				}
				holders = holders[:0]
				for _, r := range answered {
					if store.Covers(held[r], rd.Result) || slices.Contains(took, r) {
						holders = append(holders, r)
					}
				}
				if level != net.One && !met(j, level, holders) {
					t.Fatalf("%v: answers %v, held by %v only, short of %v in %v", e, rd.Result, holders, level, j)
				}
				if !met(j, level, answered) {
					t.Fatalf("%v: answers with %v of %v at %v", e, answered, j, level)
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
