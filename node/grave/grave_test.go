package grave

import (
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/stream"
)

func ts(c uint64) clock.Timestamp { return clock.Timestamp{Counter: c, Node: 1} }

// A peer is seen clean of a tombstone only by a comparison on the same
// ring, begun no earlier than the tombstone came, at a horizon that
// covers its stamp, of the arc or of a sub-span holding the key's
// position — not of a sibling sub-span.
func TestSeen(t *testing.T) {
	arc := net.Span{Start: 1000, End: 1000 + 1<<40}
	subs := stream.Split(arc, 16)
	subsubs := stream.Split(subs[3], 16)
	h := subsubs[5].Start + 1 // in subs[3], subsubs[5]
	const epoch = 7
	tests := []struct {
		name  string
		span  net.Span
		epoch uint64
		c     Clean
		seen  bool
	}{
		{"the arc", arc, epoch, Clean{At: 10 * time.Second, Horizon: ts(50)}, true},
		{"a sub-span holding the key", subs[3], epoch, Clean{At: 10 * time.Second, Horizon: ts(50)}, true},
		{"two levels down", subsubs[5], epoch, Clean{At: 10 * time.Second, Horizon: ts(50)}, true},
		{"a sibling sub-span", subs[4], epoch, Clean{At: 10 * time.Second, Horizon: ts(50)}, false},
		{"begun before the tombstone came", arc, epoch, Clean{At: 9 * time.Second, Horizon: ts(50)}, false},
		{"a horizon short of the stamp", arc, epoch, Clean{At: 10 * time.Second, Horizon: ts(39)}, false},
		{"another ring", arc, epoch + 1, Clean{At: 10 * time.Second, Horizon: ts(50)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := &Cleans{Fanout: 16, Depth: 2}
			cs.Note(tt.epoch, 2, tt.span, tt.c)
			if got := cs.Seen(epoch, 2, arc, h, ts(40), 10*time.Second); got != tt.seen {
				t.Errorf("Seen = %v, want %v", got, tt.seen)
			}
			if cs.Seen(epoch, 3, arc, h, ts(40), 10*time.Second) {
				t.Error("another peer is seen clean by peer 2's comparison")
			}
		})
	}
}

// A record of a new epoch forgets the old epoch's.
func TestNoteNewEpochForgets(t *testing.T) {
	arc := net.Span{Start: 0, End: 1 << 50}
	cs := &Cleans{Fanout: 16, Depth: 2}
	cs.Note(1, 2, arc, Clean{At: time.Second, Horizon: ts(9)})
	cs.Note(2, 3, arc, Clean{At: time.Second, Horizon: ts(9)})
	if cs.Seen(2, 2, arc, 5, ts(1), 0) {
		t.Error("peer 2's record of epoch 1 counts on epoch 2")
	}
	if !cs.Seen(2, 3, arc, 5, ts(1), 0) {
		t.Error("peer 3's record of epoch 2 does not count")
	}
}
