package ring

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

var balanceKeys = flag.Int("balance.keys", 100_000,
	"keys TestBalance places on each ring; -balance.keys=1000000 -v prints the full table")

// maxBalance is the gross imbalance TestBalance fails on: a node holding
// more than twice its fair share of keys.
const maxBalance = 2.0

// load is how evenly a ring spreads keys over its nodes.
type load struct {
	exact   float64 // max/mean share of the ring's positions each node owns (rf 1)
	primary float64 // max/mean keys per node, counting each key's owner
	replica float64 // max/mean keys per node at rf 3, counting every replica
}

// measure places keys (as hashes) on r and computes its load.
func measure(r Ring, hashes []uint64) load {
	share := make(map[uint16]float64, r.Len())
	n := len(r.tokens)
	for i, t := range r.tokens {
		// The range ending at token i starts at the token before, wrapping;
		// with one token it is the whole ring, which the uint64 difference
		// (0) cannot say.
		size := float64(t - r.tokens[(i+n-1)%n])
		if n == 1 {
			size = math.Exp2(64)
		}
		share[r.owners[i]] += size
	}
	primary := make(map[uint16]float64, r.Len())
	replica := make(map[uint16]float64, r.Len())
	buf := make([]uint16, 0, 3)
	for _, h := range hashes {
		list := r.AppendReplicasOf(buf[:0], h, 3)
		primary[list[0]]++
		for _, id := range list {
			replica[id]++
		}
	}
	return load{maxOverMean(r, share), maxOverMean(r, primary), maxOverMean(r, replica)}
}

// maxOverMean is the largest of per's values over their mean across r's
// members (a member missing from per counts as 0).
func maxOverMean(r Ring, per map[uint16]float64) float64 {
	var sum, most float64
	for _, id := range r.IDs() {
		sum += per[id]
		most = max(most, per[id])
	}
	return most / (sum / float64(r.Len()))
}

func keyHashes(n int) []uint64 {
	hs := make([]uint64, n)
	var buf []byte
	for i := range hs {
		buf = strconv.AppendInt(append(buf[:0], "key-"...), int64(i), 10)
		hs[i] = Hash(buf)
	}
	return hs
}

// TestBalance measures how evenly virtual nodes spread keys, for the ring
// sizes a cluster has, and fails only on gross imbalance. Each cell of the
// table it logs is max/mean for "exact ring share / sampled keys as owner /
// sampled keys as one of 3 replicas".
func TestBalance(t *testing.T) {
	if *balanceKeys < 1 {
		t.Fatalf("-balance.keys=%d: need at least 1", *balanceKeys)
	}
	hashes := keyHashes(*balanceKeys)
	sizes := []int{3, 5, 10, 20, 64}
	vnodes := []int{64, 128, 256}

	var table strings.Builder
	fmt.Fprintf(&table, "max/mean over %d keys: exact share / owner / rf3 replica\n", len(hashes))
	fmt.Fprintf(&table, "%6s", "nodes")
	for _, v := range vnodes {
		fmt.Fprintf(&table, " | %-21s", fmt.Sprintf("vnodes=%d", v))
	}
	table.WriteByte('\n')
	for _, n := range sizes {
		fmt.Fprintf(&table, "%6d", n)
		for _, v := range vnodes {
			l := measure(virtualRing(t, n, v), hashes)
			fmt.Fprintf(&table, " | %.3f / %.3f / %.3f", l.exact, l.primary, l.replica)
			if worst := max(l.exact, l.primary, l.replica); worst > maxBalance {
				t.Errorf("%d nodes x %d vnodes: max/mean %.3f exceeds %.1f (%+v)", n, v, worst, maxBalance, l)
			}
		}
		table.WriteByte('\n')
	}
	t.Log("\n" + table.String())
}

// TestBalanceCatchesSkew proves TestBalance can fail: a ring where one node
// has 32 times the tokens of the others is grossly unbalanced.
func TestBalanceCatchesSkew(t *testing.T) {
	skewed := mustNew(t, 1, []Member{
		{1, VirtualTokens(1, 256)}, {2, VirtualTokens(2, 8)}, {3, VirtualTokens(3, 8)},
	})
	l := measure(skewed, keyHashes(10_000))
	if worst := max(l.exact, l.primary); worst <= maxBalance {
		t.Errorf("skewed ring measured max/mean %.3f (%+v), want above %.1f", worst, l, maxBalance)
	}
	if l.replica != 1 {
		// With 3 nodes at rf 3 every node holds every key, however skewed.
		t.Errorf("3 nodes at rf 3: replica max/mean %.3f, want 1", l.replica)
	}
}
