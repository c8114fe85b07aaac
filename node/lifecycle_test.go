package node

import (
	"slices"
	"testing"
)

// pending is a step whose answer the test gives when it likes.
type pending struct {
	name  string
	done  func(bool)
	calls int
}

func (p *pending) step() step {
	return step{p.name, func(done func(bool)) { p.calls++; p.done = done }}
}

func TestSequence(t *testing.T) {
	a, b := &pending{name: "a"}, &pending{name: "b"}
	valid, finished, failed := true, false, ""
	run := func() {
		sequence(func() bool { return valid }, func(f string) { failed = f }, func() { finished = true }, a.step(), b.step())
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
	all(nil, func(int, func(bool)) { t.Fatal("ran a step for no peer") }, func(ok bool) { got = append(got, ok) })
	if !slices.Equal(got, []bool{true}) {
		t.Fatalf("no peers: done %v, want once with true", got)
	}
	got = nil
	var dones []func(bool)
	var order []int
	all([]int{3, 1, 2}, func(p int, done func(bool)) {
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
