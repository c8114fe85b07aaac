package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/memdb/memdb/node/quorum"
)

// FaultKind names a fault the simulator can inject.
type FaultKind uint8

const (
	// Crash powers a node off for For, then restarts it: its memory is
	// lost, its client connections break, its disk keeps what was synced.
	Crash FaultKind = iota + 1
	// Break breaks one client's connection; the client sees its in-flight
	// request as an unknown outcome and reconnects.
	Break
	// Slow multiplies every network latency by Factor for For.
	Slow
	// Partition cuts the nodes in Side off from the rest for For (one way,
	// Side cannot send to the rest, if OneWay).
	Partition
	// Disk makes a node's disk fail for For: each sync fails with
	// probability Rate (an fsync error, after which the node must restart
	// and replay), and, if Room > 0, the disk is full once Room more bytes
	// are written.
	Disk
	// Join boots Node, which has not run before (it is not started with
	// the others), and it joins the cluster through node 1.
	Join
	// Leave decommissions Node: it hands its ranges off and stops for
	// good. If it is not a normal member then (it is down, or has not
	// joined), the fault is skipped.
	Leave
	// Skew makes Node's clock run at Factor times the true rate for For:
	// its timers (timeouts, probe intervals, backoffs) fire early or late
	// by that factor, as on a machine whose clock drifts or whose VM is
	// starved. A timer set before the skew keeps the time it was set for;
	// one set during it runs at Factor until the skew ends, then at the
	// true rate.
	Skew
	// Wipe powers Node off, replaces its disk with an empty one (a new
	// drive, or an operator who cleared the data directory) and restarts
	// it after For. The cluster still has it on the ring: it must rebuild
	// its data and its Paxos state from its replicas before it serves. A
	// run wipes at most one node, and only where every acknowledged write
	// is on two replicas or more (replication factor 3 and up, writes
	// above level one), so what it lost is somewhere else.
	Wipe
	// Pause stops Node's process for For (a GC pause, SIGSTOP, a stalled
	// VM): it runs nothing meanwhile — no deliveries, timer callbacks, disk
	// completions or client requests — and what arrives for it waits, in
	// order, its connections open; at the end it handles all of it, its
	// overdue timers included (its clock kept running). It loses nothing.
	// A node that is not up is skipped (pause.go).
	Pause
	// Jump moves Node's clock forward by By at once, as a host suspend
	// does: every timer whose time passed fires now. There are no
	// backward jumps (jump.go says why).
	Jump
	// Clog holds every peer message on the link from Node to To (and back,
	// unless OneWay) for For, then delivers what it held, in order, as a
	// full TCP window or a congested switch port does; unlike a partition
	// it loses nothing (clog.go).
	Clog
	// Remove powers Node off for good, as a machine that dies, and has
	// an operator remove it through another node (retried each second
	// while the failure detector does not hold it dead, into the liveness
	// phase if need be): the others take its ranges from the remaining
	// replicas. Once it is removed it is started again, finds itself
	// removed, and stops. At most one a run, where a write acknowledged
	// by the dead node is on another replica too (as for Wipe).
	Remove
	// Corrupt powers Node off, flips one bit in the first half of one of
	// its log segments (a synced byte: media corruption) and restarts it
	// after For. Replay finds the damage; the host then does what memdbd
	// does with -on-corrupt rebuild: it sets the data aside (here: wipes
	// the disk) and starts the node again, which rebuilds from its
	// replicas. Where a wipe may run, and not with a removal.
	Corrupt
	// Majorities cuts the network into a ring of overlapping majorities
	// for For (Jepsen's majorities ring): with the nodes in the order Side
	// lists them, each can reach itself and the nearest on either side
	// that make a majority, and no one else — every node sees a majority,
	// no two the same one. Four nodes or more.
	Majorities
	// A new kind goes at the end, with a faultNames entry and cases in
	// String, validate, schedule, inject (and heal, if it lasts) and
	// dropNodes (shrink.go). Numbers are not stored anywhere; names are.
)

var faultNames = [...]string{
	Crash: "crash", Break: "break", Slow: "slow", Partition: "partition", Disk: "disk", Join: "join", Leave: "leave", Skew: "skew", Wipe: "wipe",
	Pause: "pause", Jump: "jump", Clog: "clog", Remove: "remove", Corrupt: "corrupt", Majorities: "majorities",
}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) && faultNames[k] != "" {
		return faultNames[k]
	}
	return fmt.Sprintf("fault(%d)", uint8(k))
}

// MarshalText writes the fault's name.
func (k FaultKind) MarshalText() ([]byte, error) {
	if int(k) >= len(faultNames) || faultNames[k] == "" {
		return nil, fmt.Errorf("%w: fault kind %d", ErrParams, uint8(k))
	}
	return []byte(faultNames[k]), nil
}

// UnmarshalText parses what MarshalText writes.
func (k *FaultKind) UnmarshalText(b []byte) error {
	for i, n := range faultNames {
		if n != "" && n == string(b) {
			*k = FaultKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown fault %q (want one of %s)", ErrParams, b, strings.Join(FaultKinds(), ", "))
}

// FaultKinds lists the name of every fault kind, in the order of their
// numbers.
func FaultKinds() []string {
	var names []string
	for _, n := range faultNames {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// ParseFaultKind parses a fault kind's name.
func ParseFaultKind(s string) (FaultKind, error) {
	var k FaultKind
	return k, k.UnmarshalText([]byte(s))
}

// Fault is one scheduled fault.
type Fault struct {
	At     time.Duration `json:"at_ns"`
	Kind   FaultKind     `json:"kind"`
	For    time.Duration `json:"for_ns,omitempty"`  // Crash, Slow, Partition, Disk, Skew, Wipe, Pause, Clog: how long it lasts
	Node   int           `json:"node,omitempty"`    // Crash, Disk, Join, Leave, Skew, Pause, Jump: which node; Clog: from which
	To     int           `json:"to,omitempty"`      // Clog: to which node
	By     time.Duration `json:"by_ns,omitempty"`   // Jump: how far the clock jumps forward
	Client int           `json:"client,omitempty"`  // Break: which client
	Factor float64       `json:"factor,omitempty"`  // Slow: the latency multiplier
	Side   []int         `json:"side,omitempty"`    // Partition: the nodes cut off
	OneWay bool          `json:"one_way,omitempty"` // Partition: only Side→rest is cut; Clog: only Node→To is held
	Rate   float64       `json:"rate,omitempty"`    // Disk: the probability a sync fails
	Room   int64         `json:"room,omitempty"`    // Disk: bytes left before the disk is full (0: not full)
}

func (f Fault) String() string {
	s := fmt.Sprintf("%10.3fs %s", f.At.Seconds(), f.Kind)
	switch f.Kind {
	case Crash:
		s += fmt.Sprintf(" node %d for %v", f.Node, f.For)
	case Break:
		s += fmt.Sprintf(" client %d", f.Client)
	case Slow:
		s += fmt.Sprintf(" ×%.1f for %v", f.Factor, f.For)
	case Partition:
		dir := "both ways"
		if f.OneWay {
			dir = "outbound only"
		}
		s += fmt.Sprintf(" nodes %v from the rest (%s) for %v", f.Side, dir, f.For)
	case Majorities:
		s += fmt.Sprintf(" ring %v, each node reaching its %d nearest on either side, for %v", f.Side, ringReach(len(f.Side)), f.For)
	case Disk:
		s += fmt.Sprintf(" node %d: syncs fail at %.2f, room %d bytes, for %v", f.Node, f.Rate, f.Room, f.For)
	case Join, Leave:
		s += fmt.Sprintf(" node %d", f.Node)
	case Wipe, Corrupt:
		s += fmt.Sprintf(" node %d, down for %v", f.Node, f.For)
	case Remove:
		s += fmt.Sprintf(" node %d (dies, then an operator removes it)", f.Node)
	case Skew:
		s += fmt.Sprintf(" node %d: clock ×%.2f for %v", f.Node, f.Factor, f.For)
	case Pause:
		s += fmt.Sprintf(" node %d for %v", f.Node, f.For)
	case Jump:
		s += fmt.Sprintf(" node %d: clock +%v", f.Node, f.By)
	case Clog:
		arrow := "⇄"
		if f.OneWay {
			arrow = "→"
		}
		s += fmt.Sprintf(" link %d%s%d for %v", f.Node, arrow, f.To, f.For)
	}
	return s
}

func (f Fault) validate(p Params) error {
	switch {
	case f.At < 0 || f.At >= p.Duration:
		return fmt.Errorf("%s at %v is outside the fault phase [0, %v)", f.Kind, f.At, p.Duration)
	case f.For < 0:
		return fmt.Errorf("%s lasts a negative %v", f.Kind, f.For)
	}
	switch f.Kind {
	case Crash, Disk:
		if f.Node < 1 || f.Node > p.Nodes {
			return fmt.Errorf("%s of node %d, but nodes are 1..%d", f.Kind, f.Node, p.Nodes)
		}
		if f.Rate < 0 || f.Rate > 1 || math.IsNaN(f.Rate) || f.Room < 0 {
			return fmt.Errorf("disk fault rate %g must be in [0, 1] and room %d not negative", f.Rate, f.Room)
		}
	case Join, Leave, Wipe, Remove, Corrupt:
		if f.Node < 2 || f.Node > p.Nodes {
			return fmt.Errorf("%s of node %d, but only nodes 2..%d may (node 1 is everyone's seed)", f.Kind, f.Node, p.Nodes)
		}
	case Skew:
		if f.Node < 1 || f.Node > p.Nodes {
			return fmt.Errorf("skew of node %d, but nodes are 1..%d", f.Node, p.Nodes)
		}
		if f.Factor < 0.25 || f.Factor > 4 || math.IsNaN(f.Factor) {
			return fmt.Errorf("skew factor %g is not in [0.25, 4]", f.Factor)
		}
	case Pause:
		if f.Node < 1 || f.Node > p.Nodes {
			return fmt.Errorf("pause of node %d, but nodes are 1..%d", f.Node, p.Nodes)
		}
	case Jump:
		if f.Node < 1 || f.Node > p.Nodes {
			return fmt.Errorf("clock jump of node %d, but nodes are 1..%d", f.Node, p.Nodes)
		}
		if f.By <= 0 || f.By > time.Hour {
			return fmt.Errorf("clock jump by %v is not in (0, 1h] (clocks jump forward only)", f.By)
		}
	case Clog:
		if f.Node < 1 || f.Node > p.Nodes || f.To < 1 || f.To > p.Nodes || f.Node == f.To {
			return fmt.Errorf("clog of link %d→%d, but a link joins two distinct nodes of 1..%d", f.Node, f.To, p.Nodes)
		}
	case Break:
		if f.Client < 1 || f.Client > p.Clients {
			return fmt.Errorf("break of client %d, but clients are 1..%d", f.Client, p.Clients)
		}
	case Slow:
		if f.Factor < 1 || f.Factor > 1000 || math.IsNaN(f.Factor) {
			return fmt.Errorf("slow factor %g is not in [1, 1000]", f.Factor)
		}
	case Majorities:
		if len(f.Side) != p.Nodes || p.Nodes < 4 {
			return fmt.Errorf("majorities ring %v must order all %d nodes (four or more)", f.Side, p.Nodes)
		}
		seen := make([]bool, p.Nodes+1)
		for _, n := range f.Side {
			if n < 1 || n > p.Nodes || seen[n] {
				return fmt.Errorf("majorities ring %v is not an order of nodes 1..%d", f.Side, p.Nodes)
			}
			seen[n] = true
		}
	case Partition:
		if len(f.Side) == 0 || len(f.Side) >= p.Nodes {
			return fmt.Errorf("partition side %v must hold some but not all of the %d nodes", f.Side, p.Nodes)
		}
		for _, n := range f.Side {
			if n < 1 || n > p.Nodes {
				return fmt.Errorf("partition side names node %d, but nodes are 1..%d", n, p.Nodes)
			}
		}
	default:
		return fmt.Errorf("unknown fault kind %d", uint8(f.Kind))
	}
	return nil
}

// schedule draws a fault schedule for p from r: for each kind in kinds,
// this seed switches it on with probability 3/4 (swarm testing) and draws
// its rate, then faults arrive as a Poisson process over the fault phase.
// It returns the schedule sorted by time and a line per kind saying what
// was drawn.
func schedule(r *rand.Rand, p Params, kinds []FaultKind) ([]Fault, []string) {
	var faults []Fault
	var notes []string
	for _, k := range kinds {
		// Every draw happens whether or not the kind is on, so switching
		// one kind does not shift the others.
		on := r.IntN(4) != 0
		gap := time.Duration(uniform(r, int64(200*time.Millisecond), int64(10*time.Second)))
		kr := rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
		if (k == Partition || k == Clog) && p.Nodes < 2 || k == Majorities && p.Nodes < 4 || k == Join && p.Nodes < 3 || k == Leave && p.Nodes < 4 || (k == Wipe || k == Remove || k == Corrupt) && !wipeable(p) || k == Remove && p.Nodes < 4 {
			on = false
		}
		if !on {
			notes = append(notes, fmt.Sprintf("%s: off", k))
			continue
		}
		if k == Join || k == Leave || k == Wipe || k == Remove || k == Corrupt {
			fs := membership(kr, p, k)
			faults = append(faults, fs...)
			notes = append(notes, fmt.Sprintf("%s: on, %d", k, len(fs)))
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: on, mean gap %v", k, gap))
		downUntil := make([]time.Duration, p.Nodes+1)
		for at := expGap(kr, gap); at < p.Duration; at += expGap(kr, gap) {
			f := Fault{At: at, Kind: k}
			switch k {
			case Crash:
				f.Node = 1 + kr.IntN(p.Nodes)
				f.For = time.Duration(uniform(kr, int64(time.Millisecond), int64(3*time.Second)))
				if at < downUntil[f.Node] {
					continue
				}
				downUntil[f.Node] = at + f.For
			case Skew:
				f.Node = 1 + kr.IntN(p.Nodes)
				f.For = time.Duration(uniform(kr, int64(500*time.Millisecond), int64(5*time.Second)))
				// As often slow as fast: the factor's logarithm is uniform.
				f.Factor = math.Round(math.Exp(between(kr, math.Log(0.25), math.Log(4)))*100) / 100
				if at < downUntil[f.Node] {
					continue // one skew at a time per machine
				}
				downUntil[f.Node] = at + f.For
			case Pause:
				// From a GC pause to a stalled VM: log-uniform, 1 ms-10 s.
				f.Node = 1 + kr.IntN(p.Nodes)
				f.For = logUniform(kr, time.Millisecond, 10*time.Second)
				if at < downUntil[f.Node] {
					continue // one pause at a time per process
				}
				downUntil[f.Node] = at + f.For
			case Jump:
				// From a hiccup to a host suspend: log-uniform, 1 ms-30 s.
				f.Node = 1 + kr.IntN(p.Nodes)
				f.By = logUniform(kr, time.Millisecond, 30*time.Second)
			case Clog:
				f.Node = 1 + kr.IntN(p.Nodes)
				f.To = 1 + (f.Node+kr.IntN(p.Nodes-1))%p.Nodes // any node but Node
				f.For = logUniform(kr, 10*time.Millisecond, 5*time.Second)
				f.OneWay = kr.IntN(2) == 0
			case Break:
				f.Client = 1 + kr.IntN(p.Clients)
			case Slow:
				f.For = time.Duration(uniform(kr, int64(50*time.Millisecond), int64(2*time.Second)))
				f.Factor = math.Round(between(kr, 2, 50)*10) / 10
			case Partition:
				f.For = time.Duration(uniform(kr, int64(100*time.Millisecond), int64(5*time.Second)))
				perm := kr.Perm(p.Nodes)
				side := perm[:1+kr.IntN(p.Nodes-1)]
				for _, i := range side {
					f.Side = append(f.Side, i+1)
				}
				slices.Sort(f.Side)
				f.OneWay = kr.IntN(3) == 0
			case Majorities:
				f.For = time.Duration(uniform(kr, int64(100*time.Millisecond), int64(5*time.Second)))
				for _, i := range kr.Perm(p.Nodes) {
					f.Side = append(f.Side, i+1)
				}
			case Disk:
				f.Node = 1 + kr.IntN(p.Nodes)
				// Each failed sync restarts the node and turns every request
				// in flight into an unknown outcome; rates stay low enough
				// that histories remain checkable.
				f.For = time.Duration(uniform(kr, int64(10*time.Millisecond), int64(time.Second)))
				f.Rate = math.Round(between(kr, 0, 0.02)*1000) / 1000
				if kr.IntN(2) == 0 {
					f.Room = uniform(kr, 0, 4<<10)
				}
			}
			faults = append(faults, f)
		}
	}
	// Two nodes that lose their state for good (a wipe, a flipped bit, a
	// death and removal) may share a key's replicas: with rf 3 that is two
	// of three acceptors' state gone, and Paxos on the key rightly stops
	// for good (neither can rebuild without the other's state, nor a dead
	// one be removed without a quorum for the movement lock). A run keeps
	// one such kind, drawn last so that no other kind's draws move.
	var lossy []FaultKind
	for _, k := range []FaultKind{Wipe, Corrupt, Remove} {
		if has(faults, k) {
			lossy = append(lossy, k)
		}
	}
	if len(lossy) > 1 {
		keep := lossy[r.IntN(len(lossy))]
		faults = slices.DeleteFunc(faults, func(f Fault) bool { return f.Kind != keep && slices.Contains(lossy, f.Kind) })
		notes = append(notes, fmt.Sprintf("%v: only %s kept (one node loses its state in a run)", lossy, keep))
	}
	// And a join waits for every member to confirm its ring, a dead one
	// too, while it holds the movement lock that member's removal needs (an
	// operator would stop the joiner first), and a leave that began before
	// the member was held dead pushes to it forever: a run joins late
	// nodes, or has a node leave, or removes one.
	for _, other := range []FaultKind{Join, Leave} {
		if has(faults, other) && has(faults, Remove) {
			drop := other
			if r.IntN(2) == 0 {
				drop = Remove
			}
			faults = slices.DeleteFunc(faults, func(f Fault) bool { return f.Kind == drop })
			notes = append(notes, fmt.Sprintf("%s: dropped (a run removes a node, or has one %s, not both)", drop, other))
		}
	}
	slices.SortStableFunc(faults, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	return faults, notes
}

// has reports whether faults holds one of kind k.
func has(faults []Fault, k FaultKind) bool {
	return slices.ContainsFunc(faults, func(f Fault) bool { return f.Kind == k })
}

// membership draws the joins, the leave or the wipe of a run: one or two
// nodes (the highest numbered) that start late and join in the first two
// thirds of the fault phase, or one node that leaves in its last two
// thirds — never node 1 (everyone's seed) nor one of the two highest (which
// may join late) — or one node but node 1 (which has no seed to learn it
// lost its state from) wiped in the second half (once the cluster has
// likely formed), down for up to 2 s.
func membership(r *rand.Rand, p Params, k FaultKind) []Fault {
	if k == Remove {
		at := time.Duration(uniform(r, int64(p.Duration/4), int64(p.Duration/2))).Round(time.Microsecond)
		return []Fault{{At: at, Kind: Remove, Node: 2 + r.IntN(p.Nodes-3)}}
	}
	if k == Wipe || k == Corrupt {
		at := time.Duration(uniform(r, int64(p.Duration/2), int64(p.Duration*9/10))).Round(time.Microsecond)
		down := time.Duration(uniform(r, int64(time.Millisecond), int64(2*time.Second))).Round(time.Microsecond)
		return []Fault{{At: at, Kind: k, Node: 2 + r.IntN(p.Nodes-1), For: down}}
	}
	if k == Join {
		fs := make([]Fault, 1+r.IntN(min(2, p.Nodes-2)))
		for i := range fs {
			fs[i] = Fault{At: time.Duration(uniform(r, 0, int64(p.Duration*2/3))).Round(time.Microsecond), Kind: Join, Node: p.Nodes - i}
		}
		return fs
	}
	at := time.Duration(uniform(r, int64(p.Duration/3), int64(p.Duration))).Round(time.Microsecond)
	return []Fault{{At: at, Kind: Leave, Node: 2 + r.IntN(p.Nodes-3)}}
}

// ringReach is how many neighbors on either side a node of a majorities
// ring of n reaches: with itself, a majority (n/2+1) or the fewest more.
func ringReach(n int) int { return (n/2 + 1) / 2 }

// ringCut reports whether nodes a and b, at positions i and j of a
// majorities ring of n, cannot reach each other.
func ringCut(i, j, n int) bool {
	d := (i - j + n) % n
	return min(d, n-d) > ringReach(n)
}

// wipeable reports whether a run's shape lets a wipe lose nothing that
// was acknowledged: every write on two replicas or more, and, with Paxos,
// a quorum among the others (a replication factor of 3 at least).
func wipeable(p Params) bool {
	rf := min(max(p.RF, 1), p.Nodes)
	return p.Nodes >= 3 && rf >= 3 && quorum.Need(p.Client.WriteLevel, rf) >= 2
}

// lateNodes are the nodes a schedule has join later: they do not start
// with the others.
func lateNodes(faults []Fault) map[int]bool {
	late := map[int]bool{}
	for _, f := range faults {
		if f.Kind == Join {
			late[f.Node] = true
		}
	}
	return late
}

// logUniform draws a duration in [lo, hi] whose logarithm is uniform (as
// many in each decade), rounded to the microsecond.
func logUniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	d := time.Duration(math.Exp(between(r, math.Log(float64(lo)), math.Log(float64(hi)))))
	return min(max(d.Round(time.Microsecond), lo), hi)
}

// expGap draws an exponentially distributed gap with the given mean,
// rounded to the microsecond so schedules read well.
func expGap(r *rand.Rand, mean time.Duration) time.Duration {
	d := time.Duration(r.ExpFloat64() * float64(mean))
	return max(d.Round(time.Microsecond), time.Microsecond)
}
