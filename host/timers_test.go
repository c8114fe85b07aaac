package host

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Every timer not stopped fires once, on the "loop", no earlier than its
// deadline, and timers that come due together fire in deadline order;
// every stopped one never fires, and Stop says whether it stopped it.
func TestTimersFireAndStop(t *testing.T) {
	events := make(chan func(), 1024)
	ts := newTimers(func(f func()) { events <- f })
	var mu sync.Mutex
	type fired struct {
		i  int
		at time.Time
	}
	var got []fired
	const n = 300
	deadline := make([]time.Time, n)
	stopped := make([]bool, n)
	r := rand.New(rand.NewPCG(1, 2))
	var handles []interface{ Stop() bool }
	for i := range n {
		d := time.Duration(r.IntN(40)) * time.Millisecond
		deadline[i] = time.Now().Add(d)
		handles = append(handles, ts.AfterFunc(d, func() {
			mu.Lock()
			got = append(got, fired{i, time.Now()})
			mu.Unlock()
		}))
	}
	for i := range n {
		if r.IntN(3) == 0 {
			// Run the loop's events posted so far first, as the loop would
			// have: a timer whose callback ran cannot be stopped.
			drain(events)
			mu.Lock()
			ran := false
			for _, f := range got {
				ran = ran || f.i == i
			}
			mu.Unlock()
			if ok := handles[i].Stop(); ok == ran {
				t.Fatalf("timer %d: Stop = %v, ran = %v", i, ok, ran)
			}
			stopped[i] = !ran
		}
	}
	time.Sleep(80 * time.Millisecond)
	drain(events)
	seen := map[int]bool{}
	for _, f := range got {
		if seen[f.i] {
			t.Fatalf("timer %d fired twice", f.i)
		}
		seen[f.i] = true
		if stopped[f.i] {
			t.Fatalf("stopped timer %d fired", f.i)
		}
		if f.at.Before(deadline[f.i]) {
			t.Fatalf("timer %d fired %v early", f.i, deadline[f.i].Sub(f.at))
		}
	}
	for i := range n {
		if !stopped[i] && !seen[i] {
			t.Fatalf("timer %d never fired", i)
		}
		if handles[i].Stop() {
			t.Fatalf("timer %d stopped after it fired or was stopped", i)
		}
	}
	if len(ts.heap) != 0 {
		t.Fatalf("%d timers left in the heap", len(ts.heap))
	}
}

func drain(events chan func()) {
	for {
		select {
		case f := <-events:
			f()
		default:
			return
		}
	}
}

// An earlier timer set after a later one re-arms the runtime timer; a
// timer stopped at once leaves nothing behind.
func TestTimersEarlierAfterLater(t *testing.T) {
	events := make(chan func(), 16)
	ts := newTimers(func(f func()) { events <- f })
	ts.AfterFunc(time.Hour, func() { t.Error("the hour timer fired") })
	done := make(chan struct{})
	ts.AfterFunc(time.Millisecond, func() { close(done) })
	ts.AfterFunc(time.Millisecond, func() {}).Stop()
	select {
	case f := <-events:
		f()
	case <-time.After(10 * time.Second):
		t.Fatal("the millisecond timer did not fire")
	}
	<-done
	if len(ts.heap) != 1 {
		t.Fatalf("%d timers in the heap, want the hour's", len(ts.heap))
	}
}
