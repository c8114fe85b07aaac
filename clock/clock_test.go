package clock

import (
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestTimestampOrder(t *testing.T) {
	tests := []struct {
		a, b Timestamp
		want int
	}{
		{Timestamp{1, 1}, Timestamp{2, 1}, -1},
		{Timestamp{2, 1}, Timestamp{1, 9}, 1},
		{Timestamp{3, 1}, Timestamp{3, 2}, -1},
		{Timestamp{3, 2}, Timestamp{3, 2}, 0},
		{Timestamp{}, Timestamp{0, 1}, -1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Compare(tt.a); got != -tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// Every Tick is after every timestamp ticked or observed before it.
func TestLamportMonotonic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := NewLamport(rapid.Uint16Range(1, 5).Draw(t, "node"), rapid.Uint64Range(0, 100).Draw(t, "floor"))
		var latest Timestamp
		for i := range rapid.IntRange(1, 50).Draw(t, "steps") {
			if rapid.Bool().Draw(t, "observe") {
				o := Timestamp{rapid.Uint64Range(0, 500).Draw(t, "counter"), rapid.Uint16Range(1, 5).Draw(t, "from")}
				l.Observe(o)
				latest = latest.Max(o)
				continue
			}
			ts := l.Tick()
			if !latest.Less(ts) {
				t.Fatalf("step %d: tick %v is not after %v", i, ts, latest)
			}
			latest = ts
		}
	})
}

func TestLamportFloor(t *testing.T) {
	l := NewLamport(2, 41)
	if got := l.Tick(); got != (Timestamp{42, 2}) {
		t.Fatalf("first tick after floor 41 = %v, want 42.2", got)
	}
}

// Posting runs callbacks through Post, and a Stop after the callback was
// posted but before it ran still suppresses it.
func TestPostingStop(t *testing.T) {
	var mu sync.Mutex
	var queued []func()
	p := &Posting{Base: Real{}, Post: func(f func()) { mu.Lock(); queued = append(queued, f); mu.Unlock() }}
	ran := 0
	p.AfterFunc(time.Millisecond, func() { ran++ })
	stopped := p.AfterFunc(time.Millisecond, func() { ran += 100 })
	for {
		mu.Lock()
		n := len(queued)
		mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !stopped.Stop() {
		t.Fatal("Stop of a posted but not yet run timer returned false")
	}
	for _, f := range queued {
		f()
	}
	if ran != 1 {
		t.Fatalf("ran = %d, want 1 (only the unstopped timer)", ran)
	}
}

// With Soon set, a callback with no delay goes to Soon at once, not through
// a timer and Post; one with a delay still goes through both; Stop before
// the callback ran suppresses it.
func TestPostingSoon(t *testing.T) {
	var soon, posted []func()
	var mu sync.Mutex
	p := &Posting{Base: Real{}, Post: func(f func()) { mu.Lock(); posted = append(posted, f); mu.Unlock() }, Soon: func(f func()) { soon = append(soon, f) }}
	ran := 0
	p.AfterFunc(0, func() { ran++ })
	stopped := p.AfterFunc(0, func() { ran += 100 })
	p.AfterFunc(time.Millisecond, func() { ran += 10 })
	if len(soon) != 2 {
		t.Fatalf("Soon got %d callbacks, want the 2 with no delay", len(soon))
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("the first Stop of a callback not run yet must return true, the second false")
	}
	for _, f := range soon {
		f()
	}
	if ran != 1 {
		t.Fatalf("ran = %d, want 1 (the unstopped callback with no delay)", ran)
	}
	for {
		mu.Lock()
		n := len(posted)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	posted[0]()
	if ran != 11 {
		t.Fatalf("ran = %d, want 11 (the delayed callback posted)", ran)
	}
}
