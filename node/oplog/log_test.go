package oplog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
)

func TestRoundTrip(t *testing.T) {
	w := newWorld(1)
	l, got, rep := w.open(t, Config{SegmentSize: 300})
	if !rep.Fresh || len(got) != 0 {
		t.Fatalf("fresh open: report %+v, %d records", rep, len(got))
	}
	want := recs(0, 20)
	want = append(want,
		Record{Type: TypeDelete, Key: []byte("key-1"), Stamp: clock.Timestamp{Counter: 500, Node: 2}, Origin: 2, Seq: 99},
		Record{Type: TypeSet, Key: nil, Value: nil, Stamp: clock.Timestamp{Counter: 7}, Origin: 9, Seq: 1},
		Record{Type: TypeSet, Key: make([]byte, MaxKey), Value: make([]byte, 1000), Origin: 3, Seq: 5},
	)
	for _, r := range want {
		commitAll(t, w, l, r)
	}
	if l.Stats().Rolls == 0 {
		t.Fatal("no segment rolled: the test does not cover rolling")
	}
	l.Close()

	_, got, rep = w.open(t, Config{})
	if diff := cmp.Diff(normalize(want), normalize(got)); diff != "" {
		t.Fatalf("replay (-want +got):\n%s", diff)
	}
	if rep.MaxCounter != 500 || rep.MaxSeq[2] != 99 || rep.MaxSeq[9] != 1 || rep.MaxSeq[1] != 19 {
		t.Fatalf("report %+v: want MaxCounter 500, MaxSeq[2] 99, [9] 1, [1] 19", rep)
	}
	if rep.Torn != nil || len(rep.Removed) != 0 || rep.Records != len(want) {
		t.Fatalf("report %+v: want no torn tail, nothing removed, %d records", rep, len(want))
	}
}

func TestAppendRejects(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	for _, r := range []Record{
		{Type: 0},
		{Type: typeEnd},
		{Type: TypeSet, Key: make([]byte, MaxKey+1)},
		{Type: TypeSet, Value: make([]byte, MaxValue+1)},
	} {
		if err := l.Append(rec(0), r); !errors.Is(err, ErrInvalid) {
			t.Errorf("Append(%v, key %d, value %d bytes): %v, want ErrInvalid", r.Type, len(r.Key), len(r.Value), err)
		}
	}
	if l.appended != 0 {
		t.Fatalf("a refused batch appended %d records", l.appended)
	}
}

// TestGroupCommit: commits made while an fsync is in flight share the next.
func TestGroupCommit(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	w.drain()
	before := l.Stats()
	acked := 0
	for i := range 100 {
		if err := l.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
		l.Commit(func(err error) {
			if err != nil {
				t.Fatal(err)
			}
			acked++
		})
	}
	if acked != 0 {
		t.Fatalf("%d commits acknowledged before any fsync completed", acked)
	}
	w.drain()
	after := l.Stats()
	if acked != 100 {
		t.Fatalf("%d of 100 commits acknowledged", acked)
	}
	if rounds := after.Rounds - before.Rounds; rounds > 2 {
		t.Fatalf("100 commits took %d rounds, want at most 2", rounds)
	}
}

// TestAlwaysIsDurable: under Always, a commit's callback runs only after
// its record is durable: a crash right after keeps it, for any seed.
func TestAlwaysIsDurable(t *testing.T) {
	for seed := range uint64(30) {
		w := newWorld(seed)
		l, _, _ := w.open(t, Config{Mode: Always})
		acked := 0
		for i := range 10 {
			l.Append(rec(i))
			l.Commit(func(err error) {
				if err == nil {
					acked = i + 1
				}
			})
			for range int(seed % 3) {
				w.step()
			}
		}
		w.crash()
		_, got, _ := w.open(t, Config{})
		if len(got) < acked {
			t.Fatalf("seed %d: %d commits acknowledged, %d records survived", seed, acked, len(got))
		}
	}
}

func TestModes(t *testing.T) {
	t.Run("everysec", func(t *testing.T) {
		w := newWorld(1)
		clk := &fakeClock{}
		l, _, _ := w.open(t, Config{Mode: EverySec, Clock: clk, SyncInterval: time.Second})
		w.drain()
		acked := false
		l.Append(rec(0))
		l.Commit(func(err error) { acked = err == nil })
		if !acked {
			t.Fatal("everysec: Commit did not call back at once")
		}
		fs := l.Stats().Fsyncs
		w.drain()
		if l.Stats().Fsyncs != fs {
			t.Fatal("everysec: fsync before the interval passed")
		}
		clk.advance(time.Second)
		w.drain()
		if l.Stats().Fsyncs == fs {
			t.Fatal("everysec: no fsync after the interval")
		}
		w.crash()
		if _, got, _ := w.open(t, Config{}); len(got) != 1 {
			t.Fatalf("everysec: %d records after the periodic fsync and a crash, want 1", len(got))
		}
	})
	t.Run("none", func(t *testing.T) {
		w := newWorld(1)
		l, _, _ := w.open(t, Config{Mode: None})
		w.drain()
		fs := l.Stats().Fsyncs
		acked := 0
		for i := range 5 {
			l.Append(rec(i))
			l.Commit(func(err error) { acked++ })
		}
		w.drain()
		if acked != 5 || l.Stats().Fsyncs != fs {
			t.Fatalf("none: %d acks, %d fsyncs; want 5 acks at once and no fsync", acked, l.Stats().Fsyncs-fs)
		}
		synced := false
		l.Sync(func(err error) { synced = err == nil })
		w.drain()
		if !synced {
			t.Fatal("none: Sync did not complete")
		}
		w.crash()
		if _, got, _ := w.open(t, Config{}); len(got) != 5 {
			t.Fatalf("none: %d records after Sync and a crash, want 5", len(got))
		}
	})
}

func TestSyncErrorBreaksTheLog(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	w.drain()
	w.mem.SetFaults(disk.Faults{SyncErrorRate: 1})
	l.Append(rec(0))
	var err error
	l.Commit(func(e error) { err = e })
	w.drain()
	if !errors.Is(err, ErrBroken) || !errors.Is(err, disk.ErrIO) {
		t.Fatalf("commit with a failing fsync: %v, want ErrBroken wrapping disk.ErrIO", err)
	}
	if err := l.Append(rec(1)); !errors.Is(err, ErrBroken) {
		t.Fatalf("append after a failed fsync: %v, want ErrBroken", err)
	}
	w.mem.SetFaults(disk.Faults{})
	l.Sync(func(e error) { err = e })
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("sync of a broken log: %v, want ErrBroken", err)
	}
}

func TestNoSpace(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	commitAll(t, w, l, rec(0))
	w.mem.SetFaults(disk.Faults{Capacity: w.mem.Used() + 20})
	if err := l.Append(rec(1)); !errors.Is(err, disk.ErrNoSpace) {
		t.Fatalf("append past capacity: %v, want ErrNoSpace", err)
	}
	w.mem.SetFaults(disk.Faults{})
	commitAll(t, w, l, rec(2)) // the log is still usable
	w.crash()
	_, got, rep := w.open(t, Config{})
	if diff := cmp.Diff([]Record{rec(0), rec(2)}, got); diff != "" || rep.Torn != nil {
		t.Fatalf("after a refused append (-want +got):\n%s\ntorn: %+v", diff, rep.Torn)
	}
}

func TestApplyError(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	commitAll(t, w, l, recs(0, 3)...)
	boom := errors.New("boom")
	_, _, err := Open(w.mem, Config{}, func(Record) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Open with a failing apply: %v, want it wrapped", err)
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string // substring of the error; "" for none
	}{
		{Config{}, ""},
		{Config{Mode: EverySec}, "needs a Clock"},
		{Config{Mode: 9}, "unknown mode"},
		{Config{SegmentSize: -1}, "negative SegmentSize"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
	for _, s := range []string{"always", "everysec", "none"} {
		if m, err := ParseMode(s); err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Error("ParseMode accepted sometimes")
	}
}
