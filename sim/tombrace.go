package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
)

// The tombstone races (Swarm.TombRace, the tomb-race scenario). The
// tombstone rule (node/grave.go, PAPER §2) closes each path by which a
// value older than a dropped tombstone could come back, and three of
// those paths are opened, one at a time, by planted bugs that no random
// tombstone run exercises in hundreds of seeds: each needs a node to be
// away (paused, cut off) for about a grace across a delete, with a
// particular operation waiting on one side of it. A tomb-race seed plays
// one of four plots, deterministically lined up, on one key k of three
// nodes with replication factor 2: replicas A and B (nodes 1 and 2 in a
// drawn order) and node 3, which holds no copy of k (the key is chosen
// so, from the ring every node derives from its id). Two random clients,
// on nodes 1 and 2, keep every other key but one busy throughout (writes
// at level one, reads at one or quorum), scripted clients (script.go) do
// k's operations and the pace writes below, and the only faults are the
// plot's: a pause of node 3 and, in two plots, a partition of B.
//
// The grace is 8-10 s and anti-entropy runs every 0.5-1 s: a contrived
// setting, but one a deployment may choose (the rule is the same at any
// grace); a pause of a grace and a half is then a VM stalled or suspended
// for 13-16 s, and the same plots run at the default 10 min grace with a
// host suspended for a quarter of an hour. The faults are the simulator's
// ordinary ones: a paused process handles what arrived meanwhile in the
// order it arrived (pause.go), a partition loses what crosses it. t0 is 8
// s, once the cluster has formed; G is the grace.
//
//   - hints (seed ≡ 1 mod 4; node.MutantTombstoneHintsKept): the random
//     clients only read, so no clock moves but by the plot. B is cut off
//     from t0 for G+7 s, its clock still; at t0+0.2 s node 3 sets k at
//     level one (A acknowledges) and, a request timeout later, hints the
//     write for B; at t0+2.6 s node 3 pauses, its hint undelivered, for
//     G+7.4 s. At t0+4 s A deletes k at level one, and at t0+5 s A crashes
//     for a second, which takes its hint of the delete for B (hints live
//     in memory), so B never holds the tombstone. Once B is back, A
//     compares with it past the tombstone's expiry, finds it clean (it
//     holds nothing of k), and drops the tombstone — unless B pulled the
//     tombstone first (its own comparison, with a floor still below it),
//     which some seeds do. B never dropped a tombstone and its clock a
//     grace ago is the one it had when cut off, below the write's stamp,
//     so its floor does not cover the write (bug 74's check cannot): only
//     the hint rule does. A hint kept past half a grace lands on B after A
//     dropped the tombstone, B takes the value, and A takes it back from
//     B (the take-back checker).
//   - stale clean (seed ≡ 2 mod 4; node.MutantTombstoneStaleClean): at t0
//     node 3 sets k at level all; at t0+1 s node 3 pauses for 6.5 s, and
//     from t0+1.1 s its client's delete of k (level one, a 15 s timeout)
//     waits in its queue, ahead of every later message. A writes another
//     key three times at t0+1.2-1.4 s, which moves its clock past the one
//     node 3 will stamp the delete with, and goes on comparing k's arc
//     with B, at horizons (its clock two request timeouts before) past
//     that stamp from t0+5.4 s. At t0+7 s B is cut off for G+3.5 s; at
//     t0+7.5 s node 3 wakes and stamps the delete below those horizons,
//     and A takes it (B does not). A comparison begun before the tombstone
//     came must not count as seeing B clean of the value under it: if it
//     does, A drops the tombstone a grace later, and takes the value back
//     from B when B returns (the take-back checker).
//   - floor (seed ≡ 0 mod 4; node.MutantTombstoneFloorForgotten): at t0 A
//     sets k at level all; at t0+1 s node 3 pauses for G+5.5 s, its
//     client's compare-and-set of k from absent waiting in its queue from
//     t0+1.1 s; A writes another key three times at t0+1.2-1.4 s, so that
//     its clock is ahead of node 3's, and at t0+2 s deletes k at level
//     all; A and B drop the tombstone a grace later. Node 3 wakes and
//     draws its ballot from a clock that has not heard of the delete: an
//     acceptor that forgot the dropped tombstone's floor accepts it, and
//     the value chosen is stamped below the acknowledged delete (quorum
//     visibility sees the final read return it; at rest it is "the
//     deleted value brought back"). One that kept the floor refuses, and
//     the proposer tries again above it.
//   - lagging write (seed ≡ 3 mod 4; node.MutantTombstoneStaleTaken): the
//     floor plot with a plain set at level one queued on node 3 in place
//     of the compare-and-set. Node 3 wakes and stamps it from a clock that
//     has not heard of the delete; a replica that dropped the tombstone
//     and took the write as it takes any other would hold a value stamped
//     below the acknowledged delete (quorum visibility, at rest). One that
//     refuses it as stamped at or below its floor makes node 3 stamp it
//     again, above the delete (PAPER §2 (e), bug 74).
//
// Every scripted client ends with a read of k at quorum 4 s after the
// heal (at t0+G+12 s). The draws take from the seed the grace, the
// anti-entropy interval, which replica is A, how many keys, the random
// clients' mix and read level, and the usual network and disk draws, but
// no loss and no duplication (a lost digest or hint would move a plot off
// its mark).
func drawTombRace(seed uint64, p *Params) []string {
	x := Stream(seed, "tombrace")
	p.Nodes, p.RF, p.Clients = 3, 2, 2
	p.Net.Loss, p.Net.Dup = 0, 0
	p.TombstoneGrace = time.Duration(between(x, 8, 10) * float64(time.Second)).Round(time.Millisecond)
	p.AntiEntropy = time.Duration(between(x, 0.5, 1) * float64(time.Second)).Round(time.Millisecond)
	p.Keys = 4 + x.IntN(9)
	p.Client.Mix = [4]int{1 + x.IntN(4), 2 + x.IntN(5), 1 + x.IntN(4), x.IntN(2)}
	p.Client.CAS = x.IntN(2)
	// Writes at level one: while node 3 is paused, a write at quorum of a
	// key it replicates waits out its timeout, the clocks all but stop, and
	// the stale-clean plot's horizons never pass the delete's stamp (seed 5
	// of a first version). Reads at quorum or one.
	p.Client.ReadLevel, p.Client.WriteLevel = net.Quorum, net.One
	if x.IntN(2) == 0 {
		p.Client.ReadLevel = net.One
	}
	a, b := 1, 2
	if x.IntN(2) == 0 {
		a, b = 2, 1
	}
	const outsider = 3
	t0 := 8 * time.Second
	key := outsiderKey(p.Keys, outsider)
	if key < 0 {
		// No key of the set is off node 3 (none in practice: about a third
		// of keys are): one more key, which is.
		for key < 0 {
			p.Keys++
			key = outsiderKey(p.Keys, outsider)
		}
	}
	// Pace: three writes of another key through A right after node 3's
	// operation is queued, so that A's clock is past the stamp node 3 will
	// give it, whatever the random clients manage meanwhile (a paused node
	// stalls their reads and Paxos rounds: in stale-clean seed 8 and floor
	// seed 6 of a first version A's clock moved by 3, and tied).
	pace := []Step{}
	for i := range 3 {
		pace = append(pace, Step{At: t0 + time.Duration(1200+100*i)*time.Millisecond, Node: a, Op: StepSet, Key: (key + 1) % p.Keys, Level: net.One})
	}
	g := p.TombstoneGrace
	ms := func(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }
	var plot string
	switch seed % 4 {
	case 1:
		plot = "hints"
		p.Client.Mix[1], p.Client.Mix[2], p.Client.CAS = 0, 0, 0
		p.Faults = []Fault{
			{At: t0, Kind: Partition, Side: []int{b}, For: g + 7*time.Second},
			{At: t0 + ms(2.6), Kind: Pause, Node: outsider, For: g + ms(7.4)},
			{At: t0 + 5*time.Second, Kind: Crash, Node: a, For: time.Second},
		}
		p.Script = []Step{
			{At: t0 + ms(0.2), Node: outsider, Op: StepSet, Key: key, Level: net.One},
			{At: t0 + 4*time.Second, Node: a, Op: StepDelete, Key: key, Level: net.One},
		}
	case 2:
		plot = "stale clean"
		p.Faults = []Fault{
			{At: t0 + time.Second, Kind: Pause, Node: outsider, For: ms(6.5)},
			{At: t0 + 7*time.Second, Kind: Partition, Side: []int{b}, For: g + ms(3.5)},
		}
		p.Script = []Step{
			{At: t0, Node: outsider, Op: StepSet, Key: key, Level: net.All},
			{At: t0 + ms(1.1), Node: outsider, Op: StepDelete, Key: key, Level: net.One, Timeout: 15 * time.Second},
		}
		p.Script = append(p.Script, pace...)
	default:
		// floor (seed ≡ 0 mod 4) queues a compare-and-set on the paused
		// node, lagging write (≡ 3) a plain set at level one.
		plot = "floor"
		op := Step{At: t0 + ms(1.1), Node: outsider, Op: StepCAS, Key: key}
		if seed%4 == 3 {
			plot, op.Op, op.Level = "lagging write", StepSet, net.One
		}
		p.Faults = []Fault{
			{At: t0 + time.Second, Kind: Pause, Node: outsider, For: g + ms(5.5)},
		}
		p.Script = []Step{
			{At: t0, Node: a, Op: StepSet, Key: key, Level: net.All},
			op,
			{At: t0 + 2*time.Second, Node: a, Op: StepDelete, Key: key, Level: net.All},
		}
		p.Script = append(p.Script, pace...)
	}
	end := t0 + g + 12*time.Second
	p.Duration, p.Liveness = end, 10*time.Second
	for _, n := range []int{a, outsider} {
		if slices.ContainsFunc(p.Script, func(s Step) bool { return s.Node == n }) {
			// Late enough that every node sees every other up again.
			p.Script = append(p.Script, Step{At: end + 4*time.Second, Node: n, Op: StepGet, Key: key, Level: net.Quorum})
		}
	}
	return []string{fmt.Sprintf("tomb-race: plot %s on k%d (replicas A=%d, B=%d; node %d holds no copy), grace %v, anti-entropy every %v, %d keys, mix %v, cas %d, reads at %v",
		plot, key, a, b, outsider, g, p.AntiEntropy, p.Keys, p.Client.Mix, p.Client.CAS, p.Client.ReadLevel)}
}

// outsiderKey is the first of keys k0..k<keys-1> that node outsider holds
// no copy of on the ring of nodes 1..3 at replication factor 2 (every
// node with the default virtual tokens), or -1 if none.
func outsiderKey(keys, outsider int) int {
	r, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3}, node.DefaultConfig(1).Vnodes))
	if err != nil {
		panic(err)
	}
	for k := range keys {
		if !slices.Contains(r.Replicas([]byte(fmt.Sprintf("k%d", k)), 2), uint16(outsider)) {
			return k
		}
	}
	return -1
}
