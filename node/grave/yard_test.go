package grave

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/view"
)

// The rule's verdict on one grave, from what its key holds, its age, its
// stamp against the clock the grace ago, and whether the other replicas
// of its arc were seen clean.
func TestJudge(t *testing.T) {
	const key = "k"
	whole := net.Span{Start: 0, End: math.MaxUint64}
	arcs := []view.Arc{{Span: whole, Read: []uint16{1, 2, 3}, Write: []uint16{1, 2, 3}}}
	g := Grave{Key: key, Stamp: ts(40), At: 10 * time.Second}
	tomb := store.RegisterAt(nil, true, ts(40))
	seen := func(peers ...uint16) *Cleans {
		cs := &Cleans{Fanout: 16, Depth: 2}
		for _, p := range peers {
			cs.Note(7, p, whole, Clean{At: 10 * time.Second, Horizon: ts(50)})
		}
		return cs
	}
	// earlyFor3: 2 seen clean, 3 by a comparison begun before the
	// tombstone came.
	earlyFor3 := func() *Cleans {
		cs := seen(2)
		cs.Note(7, 3, whole, Clean{At: 9 * time.Second, Horizon: ts(50)})
		return cs
	}
	rule := func(edit func(*Rule)) *Rule {
		ru := &Rule{Grace: 5 * time.Second, Now: 15 * time.Second, Expired: ts(40), Epoch: 7, Arcs: arcs, Self: 1, Cleans: seen(2, 3)}
		if edit != nil {
			edit(ru)
		}
		return ru
	}
	tests := []struct {
		name string
		ru   *Rule
		v    store.Version
		held bool
		want Verdict
	}{
		{"dropped", rule(nil), store.Version{}, false, Gone},
		{"replaced by a value", rule(nil), store.RegisterAt([]byte("v"), false, ts(41)), true, Gone},
		{"replaced by a newer tombstone", rule(nil), store.RegisterAt(nil, true, ts(41)), true, Gone},
		{"here less than the grace", rule(func(r *Rule) { r.Now = 15*time.Second - 1 }), tomb, true, Young},
		{"not expired", rule(func(r *Rule) { r.Expired = ts(39) }), tomb, true, Keep},
		{"a replica not seen clean", rule(func(r *Rule) { r.Cleans = seen(2) }), tomb, true, Keep},
		{"seen clean on another ring", rule(func(r *Rule) { r.Epoch = 8 }), tomb, true, Keep},
		{"this node no replica", rule(func(r *Rule) { r.Self = 4 }), tomb, true, Keep},
		{"no ring", rule(func(r *Rule) { r.Arcs = nil }), tomb, true, Keep},
		{"every other replica clean", rule(nil), tomb, true, Drop},
		{"unverified (mutant): no replica asked", rule(func(r *Rule) { r.Cleans, r.Unverified = seen(), true }), tomb, true, Drop},
		{"a comparison begun before the tombstone came", rule(func(r *Rule) { r.Cleans = earlyFor3() }), tomb, true, Keep},
		{"stale clean (mutant): that one counts", rule(func(r *Rule) { r.Cleans, r.StaleClean = earlyFor3(), true }), tomb, true, Drop},
	}
	for _, tt := range tests {
		if got := tt.ru.Judge(g, tt.v, tt.held); got != tt.want {
			t.Errorf("%s: Judge(%+v, %+v, %v) = %v, want %v", tt.name, g, tt.v, tt.held, got, tt.want)
		}
	}
}

// A sweep over a yard: turns of a bounded size, a stop at the first young
// grave, graves that come meanwhile kept after the rest, in order.
func TestYardSweep(t *testing.T) {
	var y Yard
	// k: kept, d: dropped, g: gone, Y: young.
	for i, v := range "kdgkdYkk" {
		y.Add(Grave{Key: fmt.Sprintf("%c%d", v, i), Stamp: ts(uint64(i))})
	}
	judge := func(g Grave) Verdict {
		switch g.Key[0] {
		case 'k':
			return Keep
		case 'd':
			return Drop
		case 'Y':
			return Young
		}
		return Gone
	}
	keys := func() string {
		var b []string
		for _, g := range y.graves {
			b = append(b, g.Key)
		}
		return strings.Join(b, " ")
	}
	if !y.Due(0, time.Second) || y.Due(time.Second-1, time.Second) {
		t.Fatal("Due: want a first sweep at once and the next a second later")
	}
	y.Begin()
	if y.Due(time.Hour, time.Second) {
		t.Fatal("Due during a sweep")
	}
	if more := y.Turn(3, judge); !more || y.w != 1 || y.r != 3 {
		t.Fatalf("first turn of 3: more %v, kept %d, looked at %d; want true, 1, 3", more, y.w, y.r)
	}
	y.Add(Grave{Key: "n8"}) // comes between turns
	if more := y.Turn(3, judge); more || y.w != 2 || y.r != 5 {
		t.Fatalf("second turn: more %v, kept %d, looked at %d; want false (young), 2, 5", more, y.w, y.r)
	}
	y.End()
	if diff := cmp.Diff("k0 k3 Y5 k6 k7 n8", keys()); diff != "" {
		t.Errorf("after the sweep (-want +got):\n%s", diff)
	}
	if y.Len() != 6 || !y.Due(time.Second, time.Second) {
		t.Errorf("after the sweep: Len %d, want 6; and a sweep due a second after the last", y.Len())
	}

	// A sweep cut short (the ring moved) keeps what it kept and the rest.
	y.Begin()
	y.Turn(2, func(g Grave) Verdict {
		if g.Key == "k0" {
			return Drop
		}
		return Keep
	})
	y.End()
	if diff := cmp.Diff("k3 Y5 k6 k7 n8", keys()); diff != "" {
		t.Errorf("after a sweep cut short (-want +got):\n%s", diff)
	}
}
