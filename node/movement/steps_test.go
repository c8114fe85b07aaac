package movement

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/view"
)

// pending is a step whose answer the test gives when it likes.
type pending struct {
	name  string
	done  func(bool)
	calls int
}

func (p *pending) step() Step {
	return Step{p.name, func(done func(bool)) { p.calls++; p.done = done }}
}

func TestSequence(t *testing.T) {
	a, b := &pending{name: "a"}, &pending{name: "b"}
	valid, finished, failed := true, false, ""
	run := func() {
		Sequence(func() bool { return valid }, func(f string) { failed = f }, func() { finished = true }, a.step(), b.step())
	}
	run()
	if a.calls != 1 || b.calls != 0 {
		t.Fatalf("steps ran %d and %d times, want 1 and 0", a.calls, b.calls)
	}
	a.done(true)
	if b.calls != 1 || finished {
		t.Fatalf("after a: b ran %d times, finished %v", b.calls, finished)
	}
	b.done(false)
	if failed != "b" || finished {
		t.Fatalf("b failed: retry told %q, finished %v", failed, finished)
	}
	failed = ""
	run()
	a.done(true)
	b.done(true)
	if !finished || failed != "" {
		t.Fatalf("every step succeeded: finished %v, retry told %q", finished, failed)
	}
	// A task the node moved past stops quietly, whatever its step said.
	finished = false
	run()
	valid = false
	a.done(true)
	if b.calls != 2 || finished || failed != "" {
		t.Fatalf("invalid mid-way: b ran %d times, finished %v, retry told %q", b.calls, finished, failed)
	}
	run()
	if a.calls != 3 {
		t.Fatalf("an invalid task started a step")
	}
}

func TestAll(t *testing.T) {
	var got []bool
	All(nil, func(int, func(bool)) { t.Fatal("ran a step for no peer") }, func(ok bool) { got = append(got, ok) })
	if !slices.Equal(got, []bool{true}) {
		t.Fatalf("no peers: done %v, want once with true", got)
	}
	got = nil
	var dones []func(bool)
	var order []int
	All([]int{3, 1, 2}, func(p int, done func(bool)) {
		order = append(order, p)
		if p == 1 {
			done(true) // answers at once
			return
		}
		dones = append(dones, done)
	}, func(ok bool) { got = append(got, ok) })
	if !slices.Equal(order, []int{3, 1, 2}) || got != nil {
		t.Fatalf("ran %v (want [3 1 2]); done %v before every answer", order, got)
	}
	dones[0](false)
	dones[1](true)
	if !slices.Equal(got, []bool{false}) {
		t.Fatalf("done %v, want once with false", got)
	}
}

// fake is a Node that records what the steps ask of it and answers each
// at once, with ok.
type fake struct {
	v        view.View
	removing map[uint16]bool
	shared   map[uint16][]net.Span
	owners   map[uint16][]net.Span
	ok       bool
	calls    []string
}

func (f *fake) View() view.View           { return f.v }
func (f *fake) Removing() map[uint16]bool { return f.removing }
func (f *fake) Stream(done func(bool))    { f.calls = append(f.calls, "stream"); done(f.ok) }
func (f *fake) ConfirmRing(done func(bool)) {
	f.calls = append(f.calls, "confirm")
	done(f.ok)
}
func (f *fake) Shared(taking bool) map[uint16][]net.Span {
	f.calls = append(f.calls, fmt.Sprintf("shared(%v)", taking))
	return f.shared
}
func (f *fake) Owners() map[uint16][]net.Span { f.calls = append(f.calls, "owners"); return f.owners }
func (f *fake) Compare(s map[uint16][]net.Span, done func(bool)) {
	f.calls = append(f.calls, fmt.Sprintf("compare %v", s))
	done(f.ok)
}
func (f *fake) PaxosRepair(s map[uint16][]net.Span, done func(bool)) {
	f.calls = append(f.calls, fmt.Sprintf("paxos repair %v", s))
	done(f.ok)
}
func (f *fake) CopyAcceptors(s map[uint16][]net.Span, done func(bool)) {
	f.calls = append(f.calls, fmt.Sprintf("copy acceptors %v", s))
	done(f.ok)
}
func (f *fake) Take(a TakeAsk, tries int, done func(bool)) {
	f.calls = append(f.calls, fmt.Sprintf("take %d %v from %v (tries %d)", a.Gainer, a.Take.Spans, a.Take.From, tries))
	done(f.ok)
}

var _ Node = (*fake)(nil)

// The steps of each task, in order, with what each is given.
func TestStepLists(t *testing.T) {
	shared := map[uint16][]net.Span{2: {{Start: 1, End: 2}}}
	owners := map[uint16][]net.Span{3: {{Start: 5, End: 6}}}
	ms := []gossip.Member{member(1, view.Normal, 0), member(2, view.Normal, 0), member(3, view.Leaving, 0)}
	ms[0].Tokens, ms[1].Tokens, ms[2].Tokens = []uint64{100}, []uint64{200}, []uint64{300}
	v := view.New(5, 2, ms)
	for _, c := range []struct {
		name  string
		steps func(Node) []Step
		want  []string
	}{
		{"join", JoinSteps, []string{"stream", "confirm", "shared(true)", "compare " + fmt.Sprint(shared), "shared(true)", "paxos repair " + fmt.Sprint(shared)}},
		{"rebuild", RebuildSteps, []string{"stream", "owners", "copy acceptors " + fmt.Sprint(owners), "compare " + fmt.Sprint(owners)}},
		// Node 3 (token 300) leaves a ring of three at two replicas: node
		// 1 gains (100, 200] from 2 (3 held it with 2), and node 2 gains
		// (200, 300] from 1; Paxos repair asks the remaining owners of 3's
		// arcs.
		{"removal", func(n Node) []Step { return RemovalSteps(n, 3, 2) }, []string{
			"confirm",
			"take 1 [{100 200}] from [2] (tries 2)",
			"take 2 [{200 300}] from [1] (tries 2)",
			"paxos repair map[1:[{200 300}] 2:[{100 200}]]",
		}},
	} {
		f := &fake{v: v, removing: map[uint16]bool{3: true}, shared: shared, owners: owners, ok: true}
		var names []string
		for _, s := range c.steps(f) {
			names = append(names, s.Name)
		}
		finished := false
		Sequence(func() bool { return true }, func(s string) { t.Errorf("%s: step %s failed", c.name, s) }, func() { finished = true }, c.steps(f)...)
		if diff := cmp.Diff(c.want, f.calls); diff != "" || !finished {
			t.Errorf("%s (steps %q): finished %v; calls (-want +got):\n%s", c.name, names, finished, diff)
		}
	}
}
