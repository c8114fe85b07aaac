package quorum

import (
	"fmt"
	"slices"
	"testing"

	"github.com/memdb/memdb/net"
	"pgregory.net/rapid"
)

func TestNeed(t *testing.T) {
	tests := []struct {
		level net.Consistency
		n     int
		want  int
	}{
		{net.One, 3, 1}, {net.All, 3, 3}, {net.Quorum, 3, 2}, {net.Default, 3, 2},
		{net.Serial, 5, 3}, {net.Quorum, 4, 3}, {net.Quorum, 1, 1}, {net.All, 1, 1}, {net.Quorum, 2, 2},
	}
	for _, tt := range tests {
		if got := Need(tt.level, tt.n); got != tt.want {
			t.Errorf("Need(%v, %d) = %d, want %d", tt.level, tt.n, got, tt.want)
		}
	}
}

func TestResult(t *testing.T) {
	ids := func(xs ...uint16) []uint16 { return xs }
	one := Joint{ids(1, 2, 3)}
	// Node 4 joins: it takes 3's place on the write ring.
	joint := Joint{ids(1, 2, 3), ids(1, 2, 4)}
	tests := []struct {
		name  string
		j     Joint
		level net.Consistency
		asked []uint16
		yes   []uint16
		no    []uint16
		want  Result
	}{
		{"nothing yet", one, net.Quorum, ids(1, 2, 3), nil, nil, Pending},
		{"a majority", one, net.Quorum, ids(1, 2, 3), ids(1, 3), nil, Won},
		{"one yes is not a majority", one, net.Quorum, ids(1, 2, 3), ids(2), ids(1), Pending},
		{"two no", one, net.Quorum, ids(1, 2, 3), nil, ids(1, 2), Lost},
		{"level one", one, net.One, ids(1, 2, 3), ids(3), nil, Won},
		{"level all waits", one, net.All, ids(1, 2, 3), ids(1, 2), nil, Pending},
		{"level all loses on one no", one, net.All, ids(1, 2, 3), ids(1, 2), ids(3), Lost},
		{"not asked counts as no", one, net.Quorum, ids(1), ids(1), nil, Lost},
		{"joint: both groups", joint, net.Quorum, ids(1, 2, 3, 4), ids(1, 2), nil, Won},
		{"joint: the read group only", joint, net.Quorum, ids(1, 2, 3, 4), ids(1, 3), ids(2), Pending},
		{"joint: the write group cannot", joint, net.Quorum, ids(1, 2, 3, 4), ids(1, 3), ids(2, 4), Lost},
		{"joint: yes in one group, no in the other", joint, net.Quorum, ids(1, 2, 3, 4), ids(3), ids(2, 4), Lost},
		{"no groups", nil, net.One, ids(1), ids(1), nil, Lost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.j.Result(tt.level, tt.asked, tt.yes, tt.no); got != tt.want {
				t.Errorf("%v.Result(%v, asked %v, yes %v, no %v) = %v, want %v", tt.j, tt.level, tt.asked, tt.yes, tt.no, got, tt.want)
			}
		})
	}
}

func TestAll(t *testing.T) {
	if got, want := (Joint{{3, 1, 2}, {1, 4, 2}}).All(), []uint16{3, 1, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("All() = %v, want %v", got, want)
	}
}

// drawJoint draws one or two groups of distinct replicas from ids 1..7.
func drawJoint(t *rapid.T) Joint {
	// Groups of one to five of replicas 1..7. rapid leans to small draws,
	// so the draw is how many fewer than five: every size comes up.
	group := func(label string) []uint16 {
		ids := rapid.Permutation([]uint16{1, 2, 3, 4, 5, 6, 7}).Draw(t, label)
		return ids[:5-rapid.IntRange(0, 4).Draw(t, label+" fewer")]
	}
	j := Joint{group("read")}
	if rapid.Bool().Draw(t, "moving") {
		j = append(j, group("write"))
	}
	return j
}

var levels = []net.Consistency{net.One, net.Quorum, net.All, net.Default, net.Serial}

// Answers only add to what is known: a yes never undoes a win, a no never
// undoes a loss, and once every replica asked answered the request is
// decided.
func TestResultMonotonic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := drawJoint(t)
		level := rapid.SampledFrom(levels).Draw(t, "level")
		asked := j.All()
		order := rapid.Permutation(asked).Draw(t, "order")
		var yes, no []uint16
		prev := Pending
		for i, id := range order {
			if rapid.Bool().Draw(t, "yes") {
				yes = append(yes, id)
			} else {
				no = append(no, id)
			}
			got := j.Result(level, asked, yes, no)
			if prev != Pending && got != prev {
				t.Fatalf("%v at %v: %v after %v (yes %v, no %v)", j, level, got, prev, yes, no)
			}
			if i == len(order)-1 && got == Pending {
				t.Fatalf("%v at %v: every replica answered (yes %v, no %v) and the result is pending", j, level, yes, no)
			}
			prev = got
		}
	})
}

// Two requests at quorum that won on joints sharing a group meet in a
// replica: what makes a quorum read see a quorum write made on either side
// of a ring change.
func TestQuorumsIntersect(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := drawJoint(t)
		b := Joint{a[len(a)-1]}
		if rapid.Bool().Draw(t, "b moving") {
			b = append(b, drawJoint(t)[0])
		}
		ya, yb := drawWinning(t, a, "a"), drawWinning(t, b, "b")
		if !a.Met(net.Quorum, ya) || !b.Met(net.Quorum, yb) {
			t.Fatalf("drawWinning gave %v for %v and %v for %v, short of a quorum", ya, a, yb, b)
		}
		for _, id := range ya {
			if slices.Contains(yb, id) {
				return
			}
		}
		t.Fatalf("quorums %v of %v and %v of %v share no replica", ya, a, yb, b)
	})
}

// drawWinning draws the yes of a request that won at quorum over j: a
// quorum of each group, chosen at random, plus any other replicas.
func drawWinning(t *rapid.T, j Joint, label string) []uint16 {
	var yes []uint16
	for i, g := range j {
		perm := rapid.Permutation(g).Draw(t, fmt.Sprintf("%s group %d", label, i))
		for _, id := range perm[:Need(net.Quorum, len(g))] {
			if !slices.Contains(yes, id) {
				yes = append(yes, id)
			}
		}
	}
	for _, id := range j.All() {
		if !slices.Contains(yes, id) && rapid.Bool().Draw(t, label+" extra") {
			yes = append(yes, id)
		}
	}
	return yes
}
