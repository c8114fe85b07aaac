package oplog

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/disk"
)

// The Coalesce contract (Config.Coalesce, Flush): appends are buffered,
// nothing is in the file and nothing is acknowledged until Flush, which
// writes them all in one write and then acknowledges; a failed write fails
// exactly the commits that waited for it and leaves the log usable.

// segBytes is the bytes of the log's segment files (not the manifest).
func segBytes(w *world) int64 {
	names, _ := w.mem.List()
	var n int64
	for _, name := range names {
		if name != manifestName {
			b, _ := w.mem.ReadFile(name)
			n += int64(len(b))
		}
	}
	return n
}

func TestCoalesceWritesOnFlush(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{Mode: None, Coalesce: true})
	w.drain()
	size, writes := segBytes(w), w.mem.Stats().Writes
	acked := 0
	for i := range 16 {
		if err := l.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
		l.Commit(func(err error) {
			if err != nil {
				t.Fatalf("commit %d: %v", i, err)
			}
			if acked != i {
				t.Fatalf("commit %d acknowledged after %d others: out of order", i, acked)
			}
			// Acknowledged ⇒ written: the record is in the file already.
			if segBytes(w) == size {
				t.Fatalf("commit %d acknowledged before its record was written", i)
			}
			acked++
		})
	}
	if acked != 0 || segBytes(w) != size {
		t.Fatalf("before Flush: %d commits acknowledged, %d bytes written; want none", acked, segBytes(w)-size)
	}
	w.crash() // what a kill -9 now would leave: none of the 16
	_, got, _ := w.open(t, Config{})
	if len(got) != 0 {
		t.Fatalf("unflushed records survived a crash: %d", len(got))
	}

	w = newWorld(1)
	l, _, _ = w.open(t, Config{Mode: None, Coalesce: true})
	w.drain()
	size, writes = segBytes(w), w.mem.Stats().Writes
	acked = 0
	for i := range 16 {
		l.Append(rec(i))
		l.Commit(func(err error) {
			if err == nil {
				acked++
			}
		})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if acked != 16 {
		t.Fatalf("Flush acknowledged %d of 16 commits", acked)
	}
	if n := w.mem.Stats().Writes - writes; n != 1 {
		t.Fatalf("16 appends took %d writes, want 1", n)
	}
	if l.Stats().Records != 16 {
		t.Fatalf("stats count %d records, want 16", l.Stats().Records)
	}
	w.crash() // under None a crash may keep the unsynced tail or not; Sync keeps it
	w = newWorld(1)
	l, _, _ = w.open(t, Config{Mode: None, Coalesce: true})
	l.Append(recs(0, 3)...)
	synced := false
	l.Sync(func(err error) { synced = err == nil }) // Sync flushes first
	w.drain()
	if !synced {
		t.Fatal("Sync of buffered records did not complete")
	}
	w.crash()
	if _, got, _ := w.open(t, Config{}); !cmp.Equal(got, recs(0, 3)) {
		t.Fatalf("after Sync and a crash: %d records, want 3", len(got))
	}
}

// TestCoalesceCallbacksAppend: a commit's callback that appends (a
// command that waited for the one acknowledged) is written by the same
// Flush.
func TestCoalesceCallbacksAppend(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{Mode: None, Coalesce: true})
	w.drain()
	second := false
	l.Append(rec(0))
	l.Commit(func(error) {
		l.Append(rec(1))
		l.Commit(func(err error) { second = err == nil })
	})
	l.Flush()
	if !second {
		t.Fatal("the record appended by a callback was not flushed")
	}
	l.Sync(func(error) {})
	w.drain()
	w.crash()
	if _, got, _ := w.open(t, Config{}); len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
}

// TestCoalesceNoSpace: a deferred write past the disk's capacity fails the
// commits that waited for it (ErrNotLogged wrapping disk.ErrNoSpace), is
// cut off, and the log goes on; the high-water marks do not count it.
func TestCoalesceNoSpace(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{Mode: None, Coalesce: true})
	l.Append(rec(0))
	l.Sync(func(error) {})
	w.drain()
	w.mem.SetFaults(disk.Faults{Capacity: w.mem.Used() + 20})
	var errs []error
	big := rec(1)
	big.Seq = 1000
	for _, r := range []Record{big, rec(2)} {
		if err := l.Append(r); err != nil {
			t.Fatalf("Append buffers, it cannot fail for space: %v", err)
		}
		l.Commit(func(err error) { errs = append(errs, err) })
	}
	err := l.Flush()
	if !errors.Is(err, ErrNotLogged) || !errors.Is(err, disk.ErrNoSpace) || errors.Is(err, ErrBroken) {
		t.Fatalf("Flush past capacity: %v, want ErrNotLogged wrapping ErrNoSpace, not broken", err)
	}
	if len(errs) != 2 || !errors.Is(errs[0], disk.ErrNoSpace) || !errors.Is(errs[1], disk.ErrNoSpace) {
		t.Fatalf("commits after a failed write: %v, want both ErrNoSpace", errs)
	}
	if l.maxSeq[1] == 1000 {
		t.Fatal("a record that was not written raised the high-water marks")
	}
	w.mem.SetFaults(disk.Faults{})
	l.Append(rec(3))
	ok := false
	l.Commit(func(err error) { ok = err == nil })
	l.Flush()
	if !ok {
		t.Fatal("the log is not usable after a failed write")
	}
	l.Sync(func(error) {})
	w.drain()
	w.crash()
	_, got, rep := w.open(t, Config{})
	if diff := cmp.Diff([]Record{rec(0), rec(3)}, got); diff != "" || rep.Torn != nil {
		t.Fatalf("after a refused write (-want +got):\n%s\ntorn: %+v", diff, rep.Torn)
	}
}

// TestCoalesceBrokenFailsWaiters: a log that breaks while records wait for
// Flush fails their commits with ErrBroken and drops them.
func TestCoalesceBrokenFailsWaiters(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{Mode: Always, Coalesce: true})
	w.drain()
	w.mem.SetFaults(disk.Faults{SyncErrorRate: 1})
	l.Append(rec(0))
	l.Sync(func(error) {})
	l.Append(rec(1))
	var err error
	l.Written(func(e error) { err = e })
	w.drain() // the fsync fails: the log breaks
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("a Written waiter of a log that broke: %v, want ErrBroken", err)
	}
	if ferr := l.Flush(); ferr != nil {
		t.Fatalf("Flush with nothing left: %v", ferr)
	}
}

// TestCoalesceOffWritesAtOnce: without Coalesce, Append writes and Commit
// under None acknowledges at once, as before.
func TestCoalesceOffWritesAtOnce(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{Mode: None})
	w.drain()
	size := segBytes(w)
	l.Append(rec(0))
	acked := false
	l.Commit(func(err error) { acked = err == nil })
	if !acked || segBytes(w) == size {
		t.Fatalf("without Coalesce: acked %v, written %v; want both at once", acked, segBytes(w) != size)
	}
}

// TestCoalesceSyncLeavesCallbacksToFlush: Sync (and a compaction) writes
// what is buffered at once, but the commits that waited for it are
// acknowledged by Flush alone, in order, never from inside the caller's
// Sync.
func TestCoalesceSyncLeavesCallbacksToFlush(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{Mode: None, Coalesce: true})
	w.drain()
	var order []int
	l.Append(rec(0))
	l.Commit(func(err error) { order = append(order, 0) })
	size := segBytes(w)
	synced := false
	l.Sync(func(err error) { synced = err == nil })
	if segBytes(w) == size {
		t.Fatal("Sync did not write the buffered record")
	}
	if len(order) != 0 {
		t.Fatal("Sync ran a commit's callback: they run from Flush alone")
	}
	// Nothing is buffered now, but a commit made now comes after the one
	// that waits.
	l.Commit(func(err error) { order = append(order, 1) })
	if len(order) != 0 {
		t.Fatal("a later commit was acknowledged before an earlier one")
	}
	l.Flush()
	if !cmp.Equal(order, []int{0, 1}) {
		t.Fatalf("Flush acknowledged %v, want [0 1]", order)
	}
	w.drain()
	if !synced {
		t.Fatal("Sync did not complete")
	}
}
