package sim

import (
	"testing"
	"time"
)

// A slow link multiplies latency while it lasts, but a message sent during
// it arrives no later than the window's end plus a normal trip (seed 129 of
// single-node failed liveness when it did not).
func TestSlowWindowBoundsLatency(t *testing.T) {
	p := base(1)
	w := &world{p: p, net: Stream(p.Seed, "network")}
	w.slowFactor = 50
	w.slowUntil = 300 * time.Millisecond
	slowed := false
	for i := range 10000 {
		w.now = time.Duration(i%300) * time.Millisecond
		d := w.latency()
		if limit := w.slowUntil - w.now + p.Net.LatencyMax; d > limit {
			t.Fatalf("sent at %v during a slow window ending %v: latency %v, more than %v", w.now, w.slowUntil, d, limit)
		}
		slowed = slowed || d > p.Net.LatencyMax
	}
	if !slowed {
		t.Fatal("no message was slowed past the normal maximum: the window does nothing")
	}
}
