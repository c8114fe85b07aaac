package counter

import (
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
)

var t0 = time.Unix(1000, 0)

func TestJudge(t *testing.T) {
	tb := New(50)
	a := Applied{Key: "k", Value: 7, Version: 60, At: t0}
	tb.Record(OpID{1, 1}, a)
	tb.Forwarded(OpID{2, 1}, 3, 100, t0, time.Hour)
	if to, ok := tb.ForwardedTo(OpID{2, 1}); !ok || to != 3 {
		t.Errorf("forwarded to %d %v, want 3", to, ok)
	}
	at := func(c uint64) clock.Timestamp { return clock.Timestamp{Counter: c, Node: 9} }
	for _, tt := range []struct {
		name    string
		op      OpID
		attempt uint32
		first   uint64
		want    Verdict
	}{
		{"applied: answered again, whatever else", OpID{1, 1}, 3, 0, Again},
		{"a first attempt is applied", OpID{1, 2}, 0, 0, Apply},
		{"a retry the table covers is applied", OpID{1, 2}, 1, 50, Apply},
		{"a retry older than the horizon is unknown", OpID{1, 2}, 1, 49, Unknown},
		{"a retry of one forwarded goes where it went", OpID{2, 1}, 1, 99, Forwarded},
		{"a first attempt forwarded (a duplicate) goes where it went", OpID{2, 1}, 0, 99, Forwarded},
	} {
		v, got := tb.Judge(tt.op, tt.attempt, at(tt.first))
		if v != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, v, tt.want)
		}
		if v == Again && got != a {
			t.Errorf("%s: answered %v, want %v", tt.name, got, a)
		}
	}
}

// Forgetting never turns a retry of an applied increment into Apply: the
// horizon rises past what was forgotten, and a forwarded id goes where it
// went.
func TestPruneRaisesHorizon(t *testing.T) {
	tb := New(0)
	first := clock.Timestamp{Counter: 40}
	// Stamped after its first clock, as the node stamps.
	tb.Record(OpID{1, 1}, Applied{Key: "k", Version: 41, At: t0})
	tb.Record(OpID{1, 2}, Applied{Key: "k", Version: 90, At: t0.Add(time.Hour)})
	tb.Forwarded(OpID{2, 1}, 5, 120, t0, time.Hour)
	if v, _ := tb.Judge(OpID{2, 1}, 0, first); v != Forwarded {
		t.Errorf("a forwarded id judged %v here", v)
	}
	if n := tb.Prune(t0.Add(time.Minute)); n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	if tb.Horizon() != 120 {
		t.Errorf("horizon %d, want 120", tb.Horizon())
	}
	if v, _ := tb.Judge(OpID{1, 1}, 1, first); v != Unknown {
		t.Errorf("a forgotten increment's retry judged %v", v)
	}
	if v, _ := tb.Judge(OpID{1, 2}, 1, first); v != Again {
		t.Errorf("a kept increment judged %v", v)
	}
	tb.Boot(200)
	if v, _ := tb.Judge(OpID{3, 1}, 1, clock.Timestamp{Counter: 150}); v != Unknown {
		t.Errorf("a retry from before the boot judged %v", v)
	}
}

func TestTagRoundTrip(t *testing.T) {
	a := Applied{Key: "key", Value: -5, Version: 77, At: time.Unix(0, 123456789)}
	op, got, err := ParseTag(Tag(OpID{3, 4}, a), []byte("key"))
	if err != nil || op != (OpID{3, 4}) || !got.At.Equal(a.At) || got.Value != a.Value || got.Version != a.Version || got.Key != a.Key {
		t.Errorf("round trip: %v %v %v", op, got, err)
	}
	if _, _, err := ParseTag([]byte{1, 2}, nil); err == nil {
		t.Error("a short tag parsed")
	}
}

// A node that only forwards keeps a bounded set of ids: past the bound it
// forgets the old ones, then all, and the horizon rises past each.
func TestForwardedBounded(t *testing.T) {
	tb := New(0)
	for i := range maxForwarded {
		tb.Forwarded(OpID{1, uint64(i)}, 2, uint64(10+i), t0, time.Minute)
	}
	if len(tb.forwarded) != maxForwarded || tb.Horizon() != 0 {
		t.Fatalf("%d kept, horizon %d", len(tb.forwarded), tb.Horizon())
	}
	// All are recent: the next one makes the table forget them all.
	tb.Forwarded(OpID{2, 1}, 2, 999999, t0.Add(time.Second), time.Minute)
	if len(tb.forwarded) != 1 || tb.Horizon() != uint64(10+maxForwarded-1) {
		t.Fatalf("%d kept, horizon %d", len(tb.forwarded), tb.Horizon())
	}
	if v, _ := tb.Judge(OpID{1, 5}, 1, clock.Timestamp{Counter: 12}); v != Unknown {
		t.Errorf("a retry of a forgotten forward judged %v", v)
	}
}
