package oplog

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"pgregory.net/rapid"
)

// state is the LWW result of applying records: key → latest record.
type state map[string]Record

func (s state) apply(r Record) {
	if cur, ok := s[string(r.Key)]; !ok || cur.Stamp.Less(r.Stamp) {
		s[string(r.Key)] = r
	}
}

func lww(rs []Record) state {
	s := state{}
	for _, r := range rs {
		s.apply(r)
	}
	return s
}

// live yields the state sorted by key, as a node would compact it.
func (s state) live() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for _, k := range slices.Sorted(maps.Keys(s)) {
			if !yield(s[k]) {
				return
			}
		}
	}
}

func sameState(a, b state) bool {
	return cmp.Equal(a, b, cmp.Comparer(func(x, y Record) bool {
		return x.Type == y.Type && string(x.Key) == string(y.Key) && string(x.Value) == string(y.Value) &&
			x.Stamp == y.Stamp && x.Origin == y.Origin && x.Seq == y.Seq
	}))
}

// TestCompactionCrashAtEveryStep crashes after each callback of a
// compaction and checks the reopened log holds the same state, old or new.
func TestCompactionCrashAtEveryStep(t *testing.T) {
	history := recs(0, 30)
	build := func() (*world, *Log) {
		w := newWorld(5)
		l, _, _ := w.open(t, Config{SegmentSize: 256})
		for _, r := range history {
			commitAll(t, w, l, r)
		}
		return w, l
	}
	want := lww(history)

	w, l := build()
	var result error
	finished := false
	if err := l.Compact(want.live(), func(err error) { result, finished = err, true }); err != nil {
		t.Fatal(err)
	}
	steps := 0
	for w.step() {
		steps++
	}
	if !finished || result != nil {
		t.Fatalf("compaction: finished %v, %v", finished, result)
	}
	_, got, rep := w.open(t, Config{})
	if !sameState(want, lww(got)) || len(got) != len(want) || rep.Segments[0] == "000001.log" {
		t.Fatalf("after compaction: %d records from %v, want the %d of the live state from a base", len(got), rep.Segments, len(want))
	}

	outcomes := map[bool]int{}
	for k := 0; k <= steps; k++ {
		w, l := build()
		l.Compact(want.live(), func(error) {})
		for range k {
			w.step()
		}
		w.crash()
		_, got, rep := w.open(t, Config{})
		if !sameState(want, lww(got)) {
			t.Fatalf("crash after step %d of %d: state differs", k, steps)
		}
		if rep.MaxCounter != history[len(history)-1].Stamp.Counter {
			t.Fatalf("crash after step %d: MaxCounter %d, want %d", k, rep.MaxCounter, history[len(history)-1].Stamp.Counter)
		}
		outcomes[len(rep.Segments) > 0 && rep.Segments[0] != "000001.log"]++
	}
	if outcomes[true] == 0 || outcomes[false] == 0 {
		t.Fatalf("crashes gave only one outcome (new log: %d, old: %d): the steps do not cover the swap", outcomes[true], outcomes[false])
	}
}

// TestCrashRestartProperty: whatever is appended, committed, compacted and
// crashed, a reopened log holds the state of a prefix of what was appended,
// one at least as long as every acknowledged commit.
func TestCrashRestartProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		w := newWorld(seed)
		cfg := Config{SegmentSize: int64(rapid.IntRange(100, 2000).Draw(t, "segment"))}
		l, _, _ := w.open(t, cfg)
		var history []Record // every record that may be in the log, in order
		acked := 0           // how many of them a commit acknowledged
		counter := uint64(0)
		check := func() {
			w.crash()
			var got []Record
			nl, rep, err := Open(w.mem, cfg, func(r Record) error { got = append(got, r.clone()); return nil })
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			s := lww(got)
			p := -1
			for n := acked; n <= len(history); n++ {
				if sameState(s, lww(history[:n])) {
					p = n
					break
				}
			}
			if p < 0 {
				t.Fatalf("replayed state (%d records) is no prefix of the %d appended with at least the %d acknowledged", len(got), len(history), acked)
			}
			if p > 0 && rep.MaxCounter != history[p-1].Stamp.Counter {
				t.Fatalf("MaxCounter %d, want %d", rep.MaxCounter, history[p-1].Stamp.Counter)
			}
			history, acked, l = history[:p], p, nl
		}
		compacting := false
		for range rapid.IntRange(0, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1, 2, 3:
				var batch []Record
				for range rapid.IntRange(1, 3).Draw(t, "batch") {
					counter++
					typ := TypeSet
					if rapid.IntRange(0, 4).Draw(t, "del") == 0 {
						typ = TypeDelete
					}
					r := Record{Type: typ, Key: fmt.Appendf(nil, "k%d", rapid.IntRange(0, 4).Draw(t, "key")),
						Stamp: clock.Timestamp{Counter: counter, Node: 1}, Origin: 1, Seq: counter}
					if typ == TypeSet {
						r.Value = fmt.Appendf(nil, "v%d", counter)
					}
					batch = append(batch, r)
				}
				if err := l.Append(batch...); err != nil {
					t.Fatal(err)
				}
				history = append(history, batch...)
				n := len(history)
				l.Commit(func(err error) {
					if err != nil {
						t.Fatalf("commit: %v", err)
					}
					acked = max(acked, n)
				})
			case 4, 5, 6:
				for range rapid.IntRange(1, 5).Draw(t, "callbacks") {
					w.step()
				}
			case 7:
				if !compacting {
					compacting = true
					if err := l.Compact(lww(history).live(), func(error) { compacting = false }); err != nil {
						t.Fatal(err)
					}
				}
			case 8:
				check()
				compacting = false
			case 9:
				w.drain()
			}
		}
		check()
	})
}
