package clock

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Ago is the latest reading at or before Window ago, by a model that keeps
// every reading, whatever the times and spacing drawn.
func TestHistoryAgo(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := History{Window: time.Duration(rapid.IntRange(1, 50).Draw(t, "window")), Every: time.Duration(rapid.IntRange(0, 10).Draw(t, "every"))}
		type r struct {
			at    time.Duration
			stamp Timestamp
		}
		var all []r
		now := time.Duration(0)
		for i := range rapid.IntRange(1, 80).Draw(t, "ticks") {
			now += time.Duration(rapid.IntRange(0, 7).Draw(t, "step"))
			stamp := Timestamp{Counter: uint64(i + 1)}
			if len(all) == 0 || now-all[len(all)-1].at >= h.Every {
				all = append(all, r{now, stamp})
			}
			h.Record(now, stamp)
			var want Timestamp
			for _, x := range all {
				if x.at <= now-h.Window {
					want = x.stamp
				}
			}
			if got := h.Ago(now); got != want {
				t.Fatalf("at %d (window %d, every %d): Ago = %v, want %v", now, h.Window, h.Every, got, want)
			}
		}
	})
}
