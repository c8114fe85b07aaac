package sim

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"pgregory.net/rapid"
)

func TestFailureKind(t *testing.T) {
	tests := []struct {
		v      Verdict
		reason string
		want   string
	}{
		{Pass, "", "pass"},
		{Safety, `linearizability: the history of key "k1" is not linearizable; the shortest illegal prefix has 54 ops`, "safety/linearizability"},
		{Safety, "quorum visibility: get(k0) read version 3.1, but ...", "safety/quorum visibility"},
		{Safety, "mutual exclusion: client 1 held the lock from 2s (x) and client 2 from 3s (y), at once", "safety/mutual exclusion"},
		{Safety, "protocol: node 3 answered get with a done frame", "safety/protocol"},
		{Liveness, "client 3 completed no operation in the 15s after the heal at 20s: issued nothing", "liveness/progress"},
		{Liveness, `convergence: replicas [1 2] of "k0" differ 15s after the heal: ...`, "liveness/convergence"},
		{Liveness, "convergence: node 2 is at ring epoch 4, node 1 at 5, 15s after the heal", "liveness/convergence"},
		{Liveness, "node 4 is down at the end of the run", "liveness/node down"},
		{Panic, "panic in node 1 at 1.2s handling request: planted panic", "panic/planted panic"},
		{Panic, "panic in node 2 at 3s handling deliver: runtime error: index out of range [7] with length 3", "panic/runtime error: index out of range [#] with length #"},
		{Panic, "panic in the simulator at 0s handling fault: sim: building node 12: bad", "panic/sim: building node #: bad"},
	}
	for _, tc := range tests {
		if got := FailureKind(tc.v, tc.reason); got != tc.want {
			t.Errorf("FailureKind(%s, %q) = %q, want %q", tc.v, tc.reason, got, tc.want)
		}
	}
}

func TestDropNodes(t *testing.T) {
	in := []Fault{
		{At: 1, Kind: Crash, Node: 2},
		{At: 2, Kind: Crash, Node: 4},
		{At: 3, Kind: Disk, Node: 5},
		{At: 4, Kind: Partition, Side: []int{1, 4}},
		{At: 5, Kind: Partition, Side: []int{4, 5}},
		{At: 6, Kind: Partition, Side: []int{1, 2, 4}},
		{At: 7, Kind: Break, Client: 6},
		{At: 8, Kind: Slow, Factor: 2},
	}
	want := []Fault{
		{At: 1, Kind: Crash, Node: 2},
		{At: 4, Kind: Partition, Side: []int{1}},
		{At: 7, Kind: Break, Client: 6},
		{At: 8, Kind: Slow, Factor: 2},
	}
	if diff := cmp.Diff(want, dropNodes(in, 2)); diff != "" {
		t.Errorf("dropNodes(…, 2) (-want +got):\n%s", diff)
	}
	if in[3].Side[1] != 4 {
		t.Errorf("dropNodes changed its input: %v", in[3])
	}
}

// TestDropNodesValid: whatever the schedule, dropping the nodes above n
// leaves a schedule valid for n nodes, and keeps every fault that does not
// mention them as it was.
func TestDropNodesValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := base(1)
		p.Nodes = rapid.IntRange(3, 7).Draw(t, "nodes")
		n := rapid.IntRange(2, p.Nodes-1).Draw(t, "n")
		for i := range rapid.IntRange(0, 12).Draw(t, "faults") {
			f := Fault{At: time.Duration(i) * time.Millisecond, For: time.Millisecond}
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 0:
				f.Kind, f.Node = Crash, rapid.IntRange(1, p.Nodes).Draw(t, "node")
			case 1:
				f.Kind, f.Node = Disk, rapid.IntRange(1, p.Nodes).Draw(t, "node")
			case 2:
				f.Kind, f.Node = rapid.SampledFrom([]FaultKind{Join, Leave}).Draw(t, "member"), rapid.IntRange(2, p.Nodes).Draw(t, "node")
			default:
				f.Kind = Partition
				perm := rapid.Permutation([]int{1, 2, 3, 4, 5, 6, 7}[:p.Nodes]).Draw(t, "perm")
				f.Side = perm[:rapid.IntRange(1, p.Nodes-1).Draw(t, "side")]
			}
			p.Faults = append(p.Faults, f)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("the drawn schedule is invalid: %v", err)
		}
		q := p
		q.Nodes, q.Faults = n, dropNodes(p.Faults, n)
		if err := q.Validate(); err != nil {
			t.Fatalf("dropNodes(%v, %d) = %v: %v", p.Faults, n, q.Faults, err)
		}
		var untouched []Fault
		for _, f := range p.Faults {
			// A partition of every node left is no partition: it goes too.
			if f.Node <= n && !slices.ContainsFunc(f.Side, func(id int) bool { return id > n }) && len(f.Side) < n {
				untouched = append(untouched, f)
			}
		}
		var kept []Fault
		for _, f := range q.Faults {
			if f.Kind != Partition || slices.ContainsFunc(untouched, func(u Fault) bool { return u.At == f.At }) {
				kept = append(kept, f)
			}
		}
		if diff := cmp.Diff(untouched, kept); diff != "" {
			t.Fatalf("dropNodes(…, %d) changed faults it had no reason to (-want +got):\n%s", n, diff)
		}
	})
}

// amnesiac is a node that, once restarted after a crash, acknowledges
// writes without applying them: a bug only a crash fault can show.
type amnesiac struct {
	*node.Node
	tr net.Transport
}

func (n *amnesiac) Request(c net.ConnID, f net.Frame) {
	if _, ok := f.Msg.(*net.Set); ok {
		n.tr.Reply(c, net.Frame{ID: f.ID, Msg: &net.Done{}})
		return
	}
	n.Node.Request(c, f)
}

// amnesiacAfterRestart builds nodes that turn amnesiac from their second
// boot on. A restart reuses the machine's disk, and every run has disks
// of its own, so counting boots per disk tells a restart from a new run.
func amnesiacAfterRestart() Options {
	boots := map[disk.FS]int{}
	return Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		if boots[env.Disk]++; boots[env.Disk] > 1 {
			return &amnesiac{Node: n, tr: env.Transport}, err
		}
		return n, err
	}}
}

// noisy is base(seed) with a schedule of faults around two crashes, most
// of which the amnesiac bug does not need.
func noisy(seed uint64) Params {
	p := base(seed)
	p.Clients, p.Keys = 4, 3
	p.Client.ThinkMax = 50 * time.Millisecond
	ms := time.Millisecond
	p.Faults = []Fault{
		{At: 100 * ms, Kind: Break, Client: 1},
		{At: 200 * ms, Kind: Slow, For: 100 * ms, Factor: 3},
		{At: 300 * ms, Kind: Break, Client: 4},
		{At: 400 * ms, Kind: Break, Client: 2},
		{At: 500 * ms, Kind: Slow, For: 200 * ms, Factor: 5},
		{At: 700 * ms, Kind: Crash, Node: 1, For: 50 * ms},
		{At: 900 * ms, Kind: Break, Client: 3},
		{At: 1100 * ms, Kind: Slow, For: 50 * ms, Factor: 2},
		{At: 1300 * ms, Kind: Break, Client: 1},
		{At: 1500 * ms, Kind: Crash, Node: 1, For: 100 * ms},
		{At: 1700 * ms, Kind: Break, Client: 2},
		{At: 1900 * ms, Kind: Slow, For: 300 * ms, Factor: 4},
	}
	return p
}

func TestShrinkKeepsTheFailure(t *testing.T) {
	const seed = 1
	o := amnesiacAfterRestart()
	in, err := Run(noisy(seed), o)
	if err != nil {
		t.Fatal(err)
	}
	if in.Verdict != Safety {
		t.Fatalf("seed %d: the amnesiac run gave %s %q, want a safety violation", seed, in.Verdict, in.Reason)
	}
	kind := FailureKind(in.Verdict, in.Reason)
	var steps []ShrinkStep
	out, st, err := Shrink(NewTrace("test", nil, in), ShrinkOptions{MaxRuns: 100, Run: o, Step: func(s ShrinkStep) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %s: faults %d→%d, ops %d→%d in %d runs; steps %+v", seed, kind, st.FaultsBefore, st.FaultsAfter, st.OpsBefore, st.OpsAfter, st.Runs, steps)
	switch {
	case !st.HashMatched:
		t.Errorf("the first run did not reproduce the trace's hash")
	case st.Kind != kind || FailureKind(out.Verdict, out.Reason) != kind:
		t.Errorf("shrunk trace fails as %q (stats %q), want %q", FailureKind(out.Verdict, out.Reason), st.Kind, kind)
	case len(out.Faults) > len(in.Params.Faults) || out.Stats.Ops > in.Stats.Ops:
		t.Errorf("shrunk trace has %d faults and %d ops, the input %d and %d", len(out.Faults), out.Stats.Ops, len(in.Params.Faults), in.Stats.Ops)
	case len(out.Faults) >= len(in.Params.Faults) || out.Stats.Ops >= in.Stats.Ops:
		t.Errorf("nothing shrunk: %d faults, %d ops", len(out.Faults), out.Stats.Ops)
	case len(steps) != len(st.Steps) || st.Runs > 100:
		t.Errorf("%d steps reported, %d in the stats; %d runs of at most 100", len(steps), len(st.Steps), st.Runs)
	}
	// The bug needs a restart: a crash must survive.
	if !slices.ContainsFunc(out.Faults, func(f Fault) bool { return f.Kind == Crash }) {
		t.Errorf("shrunk schedule %v has no crash, but the bug needs one", out.Faults)
	}
	if err := out.RunParams().Validate(); err != nil {
		t.Errorf("shrunk parameters are invalid: %v", err)
	}
	again, err := Run(out.RunParams(), o)
	if err != nil || again.EventHash != out.EventHash || again.Verdict != out.Verdict {
		t.Errorf("replay of the shrunk trace: %s %s, %v; want %s %s", again.Verdict, again.EventHash, err, out.Verdict, out.EventHash)
	}
	if again.Stats.Ops != st.OpsAfter || len(out.Faults) != st.FaultsAfter {
		t.Errorf("stats say %d faults %d ops after, the trace has %d and %d", st.FaultsAfter, st.OpsAfter, len(out.Faults), again.Stats.Ops)
	}
}

// mute answers nothing once restarted: after the heal its clients
// complete nothing, a liveness failure that needs a crash.
type muteAfterRestart struct{ *node.Node }

func (muteAfterRestart) Request(net.ConnID, net.Frame) {}

func TestShrinkLiveness(t *testing.T) {
	boots := map[disk.FS]int{}
	o := Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		if boots[env.Disk]++; boots[env.Disk] > 1 {
			return muteAfterRestart{n}, err
		}
		return n, err
	}}
	in, err := Run(noisy(1), o)
	if err != nil {
		t.Fatal(err)
	}
	if FailureKind(in.Verdict, in.Reason) != "liveness/progress" {
		t.Fatalf("the mute run gave %s %q, want a liveness failure", in.Verdict, in.Reason)
	}
	out, st, err := Shrink(NewTrace("test", nil, in), ShrinkOptions{MaxRuns: 60, Run: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("faults %d→%d, ops %d→%d in %d runs: %+v", st.FaultsBefore, st.FaultsAfter, st.OpsBefore, st.OpsAfter, st.Runs, st.Steps)
	switch {
	case FailureKind(out.Verdict, out.Reason) != "liveness/progress":
		t.Errorf("shrunk trace fails as %s %q, want liveness/progress", out.Verdict, out.Reason)
	case out.Params.Liveness != in.Params.Liveness:
		t.Errorf("the liveness bound shrank %v→%v: a shorter bound only makes a liveness failure easier", in.Params.Liveness, out.Params.Liveness)
	case len(out.Faults) >= len(in.Params.Faults):
		t.Errorf("no fault removed: %v", out.Faults)
	case !slices.ContainsFunc(out.Faults, func(f Fault) bool { return f.Kind == Crash }):
		t.Errorf("shrunk schedule %v has no crash, but the bug needs one", out.Faults)
	}
}

func TestShrinkBudget(t *testing.T) {
	o := amnesiacAfterRestart()
	in, err := Run(noisy(1), o)
	if err != nil || in.Verdict != Safety {
		t.Fatalf("the amnesiac run gave %s, %v; want a safety violation", in.Verdict, err)
	}
	_, st, err := Shrink(NewTrace("test", nil, in), ShrinkOptions{MaxRuns: 3, Run: o})
	if err != nil || st.Runs != 3 || !st.Exhausted {
		t.Errorf("with 3 runs allowed: %d runs, exhausted %v, %v", st.Runs, st.Exhausted, err)
	}
}

func TestShrinkPassing(t *testing.T) {
	res, err := Run(base(2), Options{})
	if err != nil || res.Verdict != Pass {
		t.Fatalf("base(2): %s %q, %v; want a pass", res.Verdict, res.Reason, err)
	}
	_, st, err := Shrink(NewTrace("test", nil, res), ShrinkOptions{})
	if !errors.Is(err, ErrNotFailing) || st.Runs != 1 {
		t.Errorf("shrinking a passing trace: %v after %d runs, want ErrNotFailing after 1", err, st.Runs)
	}
}

func TestShrinkBadParams(t *testing.T) {
	p := base(1)
	p.Keys = 0
	_, _, err := Shrink(NewTrace("test", nil, Result{Params: p, Verdict: Safety}), ShrinkOptions{})
	if !errors.Is(err, ErrParams) {
		t.Errorf("shrinking a trace with 0 keys: %v, want ErrParams", err)
	}
}

func ExampleFailureKind() {
	fmt.Println(FailureKind(Safety, `linearizability: the history of key "k1" is not linearizable`))
	// Output: safety/linearizability
}
