package sim

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Every sum of distinct ±5^i, i < maxIncrs, decodes to its own digits.
func TestDigitsDecodeEverySubset(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		var want [maxIncrs]int8
		var v int64
		for i := range want {
			want[i] = int8(r.IntN(3) - 1)
			v += int64(want[i]) * pow5(i)
		}
		got, ok := digits(v)
		if !ok || got != want {
			t.Fatalf("digits(%d) = %v, %t; want %v", v, got, ok, want)
		}
	}
	if _, ok := digits(pow5(maxIncrs-1)*3 + pow5(maxIncrs-1)); ok {
		t.Error("a value past 27 digits decoded")
	}
}

// checkCounters on hand-made histories of one key on three replicas: inc 0
// (+1) acknowledged at quorum, inc 1 (−5) failed, inc 2 (+25) unknown, then
// one counter read.
func TestCheckCounters(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		level net.Consistency // the read's
		call  time.Duration   // the read's
		value int64
		want  string // in the reason; "" passes
	}{
		{"acknowledged and unknown", net.Quorum, 40 * ms, 1 + 25, ""},
		{"acknowledged alone", net.Quorum, 40 * ms, 1, ""},
		{"before the acknowledgement, nothing", net.Quorum, 5 * ms, 0, ""},
		{"quorum read misses a quorum increment", net.Quorum, 40 * ms, 25, "lacks increment 0"},
		{"level one may miss it", net.One, 40 * ms, 25, ""},
		{"counted twice", net.Quorum, 40 * ms, 2, "counted twice"},
		{"the failed one counted", net.Quorum, 40 * ms, 1 - 5, "which failed"},
		{"an increment never issued", net.Quorum, 40 * ms, 1 + 125, "no client issued"},
		{"the unknown one twice", net.Quorum, 40 * ms, 1 + 50, "counted twice"},
		{"the wrong sign", net.Quorum, 40 * ms, 1 - 25, "want 0 or 1"},
		{"past every digit", net.Quorum, 40 * ms, 1 << 62, "no sum of distinct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := linearize.History{
				{Kind: linearize.Incr, Key: "c0", Delta: 1, Call: 0, Return: 10 * ms, Outcome: linearize.OK, Count: 1},
				{Kind: linearize.Incr, Key: "c0", Delta: -5, Call: 0, Return: 10 * ms, Outcome: linearize.Failed},
				{Kind: linearize.Incr, Key: "c0", Delta: 25, Call: 0, Return: 30 * ms, Outcome: linearize.Unknown},
				{Kind: linearize.Counter, Key: "c0", Call: tc.call, Return: 50 * ms, Outcome: linearize.OK, Count: tc.value},
			}
			w := &world{p: Params{Nodes: 3, RF: 3}, history: h, ctr: &counters{
				keys:  []*counterKey{{name: "c0", incrs: []int{0, 1, 2}}},
				level: map[int]net.Consistency{0: net.Quorum, 1: net.Quorum, 2: net.Quorum, 3: tc.level},
			}}
			v, why := w.checkCounters()
			switch {
			case tc.want == "" && v != Pass:
				t.Errorf("%s: %s", v, why)
			case tc.want != "" && (v != Safety || !strings.Contains(why, tc.want)):
				t.Errorf("got %s %q, want safety with %q", v, why, tc.want)
			}
		})
	}
}
