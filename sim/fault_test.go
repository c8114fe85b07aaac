package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// TestFaultKindNames: every kind's name parses back to the kind, and an
// unknown name is refused with the list of the known ones.
func TestFaultKindNames(t *testing.T) {
	names := FaultKinds()
	for _, want := range []string{"crash", "skew", "pause", "jump", "clog"} {
		if !slices.Contains(names, want) {
			t.Errorf("FaultKinds() = %v lacks %q", names, want)
		}
	}
	for _, n := range names {
		k, err := ParseFaultKind(n)
		if err != nil || k.String() != n {
			t.Errorf("ParseFaultKind(%q) = %v, %v", n, k, err)
		}
	}
	_, err := ParseFaultKind("stall")
	if !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), "pause, jump, clog") {
		t.Errorf("ParseFaultKind(\"stall\"): %v, want ErrParams listing the kinds", err)
	}
}

// TestNewFaultsValidate: pauses, jumps and clogs name nodes that exist,
// jumps go forward, and a clog joins two distinct nodes.
func TestNewFaultsValidate(t *testing.T) {
	for name, f := range map[string]Fault{
		"pause of node 0":    {At: 1, Kind: Pause, Node: 0, For: 1},
		"pause of node 4":    {At: 1, Kind: Pause, Node: 4, For: 1},
		"pause for -1ns":     {At: 1, Kind: Pause, Node: 1, For: -1},
		"jump of node 4":     {At: 1, Kind: Jump, Node: 4, By: time.Second},
		"jump by nothing":    {At: 1, Kind: Jump, Node: 1},
		"jump backward":      {At: 1, Kind: Jump, Node: 1, By: -time.Second},
		"jump by a day":      {At: 1, Kind: Jump, Node: 1, By: 24 * time.Hour},
		"clog of a self":     {At: 1, Kind: Clog, Node: 2, To: 2, For: 1},
		"clog to no node":    {At: 1, Kind: Clog, Node: 2, For: 1},
		"clog from node 4":   {At: 1, Kind: Clog, Node: 4, To: 1, For: 1},
		"unknown fault kind": {At: 1, Kind: 200},
	} {
		p := base(1)
		p.Nodes = 3
		p.Faults = []Fault{f}
		if err := p.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%s: %v, want ErrParams", name, err)
		}
	}
	p := base(1)
	p.Nodes = 3
	p.Faults = []Fault{
		{At: 1, Kind: Pause, Node: 3, For: time.Second},
		{At: 2, Kind: Jump, Node: 1, By: time.Hour},
		{At: 3, Kind: Clog, Node: 3, To: 1, OneWay: true, For: time.Second},
	}
	if err := p.Validate(); err != nil {
		t.Errorf("valid schedule refused: %v", err)
	}
}

// TestScheduleNewKinds is a property: a swarm with pauses, jumps and clogs
// draws a valid schedule with the drawn parameters in range (one pause at
// a time per node), and appending kinds to a swarm's list leaves what the
// kinds before them draw exactly as it was — which keeps existing
// scenarios' seeds drawing what they drew.
func TestScheduleNewKinds(t *testing.T) {
	old := []FaultKind{Crash, Break, Slow, Partition, Disk, Join, Leave, Skew}
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		s := Swarm{Nodes: 4, MaxNodes: 7, MaxClients: 8, MaxKeys: 8, Duration: 20 * time.Second, Liveness: 15 * time.Second, Faults: old}
		before, _ := s.Draw(seed)
		s.Faults = append(slices.Clone(old), Pause, Jump, Clog)
		after, notes := s.Draw(seed)
		if err := after.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var kept []Fault
		pausedUntil := map[int]time.Duration{}
		for _, f := range after.Faults {
			switch f.Kind {
			case Pause:
				if f.For < time.Millisecond || f.For > 10*time.Second || f.At < pausedUntil[f.Node] {
					t.Fatalf("seed %d: pause %v (node %d paused until %v)", seed, f, f.Node, pausedUntil[f.Node])
				}
				pausedUntil[f.Node] = f.At + f.For
			case Jump:
				if f.By < time.Millisecond || f.By > 30*time.Second {
					t.Fatalf("seed %d: jump %v", seed, f)
				}
			case Clog:
				if f.For < 10*time.Millisecond || f.For > 5*time.Second {
					t.Fatalf("seed %d: clog %v", seed, f)
				}
			default:
				kept = append(kept, f)
			}
		}
		if diff := cmp.Diff(before.Faults, kept); diff != "" {
			t.Fatalf("seed %d: appending kinds changed the others' schedule (-before +after):\n%s", seed, diff)
		}
		if len(notes) != len(s.Faults) {
			t.Fatalf("seed %d: %d notes for %d kinds: %v", seed, len(notes), len(s.Faults), notes)
		}
	})
}

// TestNewFaultsTraceRoundTrip: a trace with every new kind reads back as
// written, and replays to its event hash.
func TestNewFaultsTraceRoundTrip(t *testing.T) {
	p := base(2)
	p.Nodes = 3
	p.Faults = []Fault{
		{At: 100 * time.Millisecond, Kind: Pause, Node: 2, For: 400 * time.Millisecond},
		{At: 200 * time.Millisecond, Kind: Jump, Node: 3, By: 7 * time.Second},
		{At: 300 * time.Millisecond, Kind: Clog, Node: 1, To: 3, OneWay: true, For: 250 * time.Millisecond},
		{At: 400 * time.Millisecond, Kind: Clog, Node: 2, To: 1, For: 50 * time.Millisecond},
	}
	res, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteArtifacts(dir, NewTrace("test", nil, res), res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind": "pause"`, `"kind": "jump"`, `"by_ns": 7000000000`, `"kind": "clog"`, `"to": 3`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("trace.json lacks %s", want)
		}
	}
	tr, err := ReadTrace(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p.Faults, tr.Faults); diff != "" {
		t.Errorf("faults after a round trip (-written +read):\n%s", diff)
	}
	again, err := Run(tr.RunParams(), Options{})
	if err != nil || again.EventHash != res.EventHash {
		t.Errorf("replay: hash %s, %v; recorded %s", again.EventHash, err, res.EventHash)
	}
	var f Fault
	if err := json.Unmarshal([]byte(`{"at_ns":1,"kind":"stall"}`), &f); !errors.Is(err, ErrParams) {
		t.Errorf("unknown kind in a trace: %v, want ErrParams", err)
	}
}

// TestDropNodesNewKinds: taking nodes away takes their pauses, jumps and
// clogs of their links with them.
func TestDropNodesNewKinds(t *testing.T) {
	in := []Fault{
		{At: 1, Kind: Pause, Node: 2},
		{At: 2, Kind: Pause, Node: 3},
		{At: 3, Kind: Jump, Node: 1, By: 1},
		{At: 4, Kind: Jump, Node: 4, By: 1},
		{At: 5, Kind: Clog, Node: 1, To: 2},
		{At: 6, Kind: Clog, Node: 3, To: 1},
		{At: 7, Kind: Clog, Node: 2, To: 4},
		{At: 8, Kind: Skew, Node: 3, Factor: 2},
	}
	want := []Fault{in[0], in[2], in[4]}
	if diff := cmp.Diff(want, dropNodes(in, 2)); diff != "" {
		t.Errorf("dropNodes(…, 2) (-want +got):\n%s", diff)
	}
}

// TestShrinkRemovesNewFaults: pauses and jumps the failure does not need
// go, like any other fault.
func TestShrinkRemovesNewFaults(t *testing.T) {
	o := amnesiacAfterRestart()
	p := noisy(1)
	ms := time.Millisecond
	p.Faults = append(p.Faults,
		Fault{At: 150 * ms, Kind: Pause, Node: 1, For: 30 * ms},
		Fault{At: 1200 * ms, Kind: Jump, Node: 1, By: 3 * time.Second},
		Fault{At: 1800 * ms, Kind: Pause, Node: 1, For: 5 * ms},
	)
	slices.SortStableFunc(p.Faults, func(a, b Fault) int { return int(a.At - b.At) })
	in, err := Run(p, o)
	if err != nil || in.Verdict != Safety {
		t.Fatalf("the amnesiac run gave %s %q, %v; want a safety violation", in.Verdict, in.Reason, err)
	}
	if in.Stats.Pauses != 2 || in.Stats.Jumps != 1 {
		t.Fatalf("the new faults did not fire: %+v", in.Stats)
	}
	out, st, err := Shrink(NewTrace("test", nil, in), ShrinkOptions{MaxRuns: 100, Run: o})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(out.Faults, func(f Fault) bool { return f.Kind == Pause || f.Kind == Jump }) {
		t.Errorf("shrunk schedule %v keeps a pause or a jump the bug does not need (steps %+v)", out.Faults, st.Steps)
	}
}

// In a majorities ring of 4 to 16 nodes every node reaches a majority
// (itself included), none reaches everyone, no two reach the same set,
// and the cut is symmetric.
func TestMajoritiesRing(t *testing.T) {
	for n := 4; n <= 16; n++ {
		sets := map[string]bool{}
		for i := range n {
			reach := 0
			key := ""
			for j := range n {
				if ringCut(i, j, n) != ringCut(j, i, n) {
					t.Fatalf("n=%d: the cut between %d and %d is one-way", n, i, j)
				}
				if !ringCut(i, j, n) {
					reach++
					key += fmt.Sprintf("%d,", j)
				}
			}
			if reach < n/2+1 || reach == n {
				t.Errorf("n=%d: position %d reaches %d nodes, want a majority (%d) but not all", n, i, reach, n/2+1)
			}
			if sets[key] {
				t.Errorf("n=%d: two nodes reach the same set %s", n, key)
			}
			sets[key] = true
		}
	}
}
