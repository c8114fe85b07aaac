package disk

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// fileModel is what a test knows about one Mem file: everything written,
// and the longest prefix a completed Sync covered.
type fileModel struct {
	written []byte
	synced  int
}

// TestMemCrashProperty: after Crash, every file's content is its synced
// prefix, then a prefix of what was written after it whose last maxTorn bytes
// at most may be garbage. Syncs complete in any order, or never.
func TestMemCrashProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := &queue{}
		m := NewMem(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)), q.schedule)
		names := []string{"a", "b", "c"}
		files := make([]File, len(names))
		models := make([]*fileModel, len(names))
		for i, n := range names {
			files[i], _ = m.Create(n)
			models[i] = &fileModel{}
		}
		dirDone := false
		m.SyncDir(func(err error) { dirDone = err == nil })
		q.drain()
		if !dirDone {
			t.Fatal("SyncDir did not complete")
		}

		steps := rapid.IntRange(0, 40).Draw(t, "steps")
		for range steps {
			i := rapid.IntRange(0, len(names)-1).Draw(t, "file")
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				p := rapid.SliceOfN(rapid.Byte(), 1, 200).Draw(t, "bytes")
				if err := files[i].Write(p); err != nil {
					t.Fatal(err)
				}
				models[i].written = append(models[i].written, p...)
			case 1:
				md, snap := models[i], len(models[i].written)
				files[i].Sync(func(err error) {
					if err != nil {
						t.Fatalf("sync: %v", err)
					}
					md.synced = max(md.synced, snap)
				})
			case 2:
				if len(q.fs) > 0 {
					q.runOne(rapid.IntRange(0, len(q.fs)-1).Draw(t, "callback"))
				}
			}
		}
		m.Crash()
		q.drain() // callbacks from before the crash must not run
		for i, n := range names {
			got, err := m.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			checkCrashed(t, n, got, models[i])
		}
		if err := files[0].Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("write through a handle opened before the crash: %v, want ErrClosed", err)
		}
	})
}

func checkCrashed(t interface{ Fatalf(string, ...any) }, name string, got []byte, md *fileModel) {
	synced := md.written[:md.synced]
	if !bytes.HasPrefix(got, synced) {
		t.Fatalf("%s lost synced bytes:\n got  %x\n want prefix %x", name, got, synced)
	}
	extra, tail := got[len(synced):], md.written[md.synced:]
	if len(extra) > len(tail) {
		t.Fatalf("%s grew beyond what was written: %d bytes after the synced %d, only %d written", name, len(extra), md.synced, len(tail))
	}
	clean := max(len(extra)-maxTorn, 0)
	if !bytes.Equal(extra[:clean], tail[:clean]) {
		t.Fatalf("%s: unsynced bytes before the torn end differ:\n got  %x\n want %x", name, extra[:clean], tail[:clean])
	}
}

// TestMemDirectory checks which directory changes survive a crash.
func TestMemDirectory(t *testing.T) {
	cases := []struct {
		name string
		// run acts on the disk; durable is a function that completes a SyncDir.
		run  func(m *Mem, q *queue)
		want []string
	}{
		{"created and synced without SyncDir is lost", func(m *Mem, q *queue) {
			f, _ := m.Create("a")
			f.Write([]byte("x"))
			f.Sync(func(error) {})
			q.drain()
		}, nil},
		{"SyncDir makes creates durable", func(m *Mem, q *queue) {
			m.Create("a")
			m.SyncDir(func(error) {})
			q.drain()
		}, []string{"a"}},
		{"SyncDir whose callback never ran", func(m *Mem, q *queue) {
			m.Create("a")
			m.SyncDir(func(error) {})
		}, nil},
		{"rename undone", func(m *Mem, q *queue) {
			m.Create("a")
			m.SyncDir(func(error) {})
			q.drain()
			m.Rename("a", "b")
		}, []string{"a"}},
		{"remove undone", func(m *Mem, q *queue) {
			m.Create("a")
			m.SyncDir(func(error) {})
			q.drain()
			m.Remove("a")
		}, []string{"a"}},
		{"rename made durable", func(m *Mem, q *queue) {
			m.Create("a")
			m.Create("b")
			m.SyncDir(func(error) {})
			q.drain()
			m.Rename("a", "b")
			m.SyncDir(func(error) {})
			q.drain()
		}, []string{"b"}},
		{"SyncDir covers only what came before it", func(m *Mem, q *queue) {
			m.Create("a")
			m.SyncDir(func(error) {})
			m.Create("b")
			q.drain()
		}, []string{"a"}},
		{"an older SyncDir completing last does not undo a newer", func(m *Mem, q *queue) {
			m.Create("a")
			m.SyncDir(func(error) {})
			m.Create("b")
			m.SyncDir(func(error) {})
			q.runOne(1)
			q.runOne(0)
		}, []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := &queue{}
			m := NewMem(rand.New(rand.NewPCG(1, 2)), q.schedule)
			c.run(m, q)
			m.Crash()
			got, _ := m.List()
			if !slices.Equal(got, c.want) {
				t.Fatalf("after crash List = %q, want %q", got, c.want)
			}
		})
	}
}

// TestMemSyncedDataSurvives: content made durable by a completed Sync is
// exactly what a crash keeps when nothing was written after it, and an older
// Sync completing after a newer one does not shrink it.
func TestMemSyncedDataSurvives(t *testing.T) {
	for seed := range uint64(20) {
		q := &queue{}
		m := NewMem(rand.New(rand.NewPCG(seed, 0)), q.schedule)
		f, _ := m.Create("a")
		m.SyncDir(func(error) {})
		f.Write([]byte("first"))
		f.Sync(func(error) {})
		f.Write([]byte("second"))
		f.Sync(func(error) {})
		q.runOne(0) // SyncDir
		q.runOne(1) // the second Sync
		q.runOne(0) // the first, late
		m.Crash()
		mustRead(t, m, "a", "firstsecond")
	}
}

// TestMemTruncate: a truncation not yet synced is either kept or undone by a
// crash; once synced it is kept.
func TestMemTruncate(t *testing.T) {
	outcomes := map[string]bool{}
	for seed := range uint64(40) {
		q := &queue{}
		m := NewMem(rand.New(rand.NewPCG(seed, 0)), q.schedule)
		f, _ := m.Create("a")
		f.Write([]byte("abcdef"))
		f.Sync(func(error) {})
		m.SyncDir(func(error) {})
		q.drain()
		f.Truncate(3)
		m.Crash()
		got, _ := m.ReadFile("a")
		if s := string(got); s != "abc" && s != "abcdef" {
			t.Fatalf("seed %d: after an unsynced truncate got %q, want abc or abcdef", seed, s)
		}
		outcomes[string(got)] = true

		g, _ := m.OpenAppend("a")
		g.Truncate(2)
		g.Write([]byte("Z"))
		g.Sync(func(error) {})
		q.drain()
		m.Crash()
		mustRead(t, m, "a", "abZ")
	}
	if len(outcomes) != 2 {
		t.Fatalf("40 seeds gave only outcomes %v, want both", outcomes)
	}
}

func TestMemCallbacksVoidAfterCrash(t *testing.T) {
	q := &queue{}
	m := NewMem(rand.New(rand.NewPCG(1, 1)), q.schedule)
	f, _ := m.Create("a")
	ran := false
	f.Sync(func(error) { ran = true })
	m.SyncDir(func(error) { ran = true })
	m.Crash()
	q2 := &queue{}
	m.SetSchedule(q2.schedule)
	q.drain()
	if ran {
		t.Fatal("a callback scheduled before the crash ran after it")
	}
	g, _ := m.Create("b")
	done := false
	g.Sync(func(err error) { done = err == nil })
	q2.drain()
	if !done || len(q.fs) != 0 {
		t.Fatal("after SetSchedule, callbacks do not go to the new schedule")
	}
}

func TestMemSyncErrors(t *testing.T) {
	q := &queue{}
	m := NewMem(rand.New(rand.NewPCG(3, 3)), q.schedule)
	f, _ := m.Create("a")
	m.SyncDir(func(error) {})
	q.drain()
	m.SetFaults(Faults{SyncErrorRate: 1})
	f.Write([]byte("data"))
	var errs []error
	f.Sync(func(err error) { errs = append(errs, err) })
	m.SyncDir(func(err error) { errs = append(errs, err) })
	q.drain()
	for _, err := range errs {
		if !errors.Is(err, ErrIO) {
			t.Fatalf("sync with SyncErrorRate 1: %v, want ErrIO", err)
		}
	}
	if st := m.Stats(); st.SyncErrors != 2 || st.Syncs != 0 {
		t.Fatalf("stats %+v, want 2 sync errors and no sync", st)
	}
	m.SetFaults(Faults{})
	f.Sync(func(error) {})
	q.drain()
	m.Crash()
	mustRead(t, m, "a", "data")
}

func TestMemCapacity(t *testing.T) {
	m := NewMem(rand.New(rand.NewPCG(1, 1)), func(f func()) { f() })
	m.SetFaults(Faults{Capacity: 10})
	f, _ := m.Create("a")
	mustWrite(t, f, "123456")
	if err := f.Write([]byte("abcdef")); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("write past capacity: %v, want ErrNoSpace", err)
	}
	mustRead(t, m, "a", "123456abcd") // what fit was written
	if err := f.Truncate(6); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "ab") // truncating freed space
	if m.Stats().NoSpace != 1 {
		t.Fatalf("NoSpace = %d, want 1", m.Stats().NoSpace)
	}
}

func TestMemFlipBit(t *testing.T) {
	m := NewMem(rand.New(rand.NewPCG(1, 1)), func(f func()) { f() })
	f, _ := m.Create("a")
	mustWrite(t, f, "abcd")
	f.Sync(func(error) {})
	m.SyncDir(func(error) {})
	mustWrite(t, f, "ef")
	if err := m.FlipBit("a", 4); err == nil {
		t.Fatal("FlipBit of unsynced data succeeded")
	}
	if err := m.FlipBit("zz", 0); !errors.Is(err, ErrNotExist) {
		t.Fatalf("FlipBit of an absent file: %v, want ErrNotExist", err)
	}
	if err := m.FlipBit("a", 2); err != nil {
		t.Fatal(err)
	}
	m.Crash()
	got, _ := m.ReadFile("a")
	want := []byte("abcd")
	diff := 0
	for i := range want {
		diff += bitCount(got[i] ^ want[i])
	}
	if diff != 1 || got[2] == want[2] {
		t.Fatalf("after FlipBit(2): %q, want abcd with one bit of byte 2 flipped", got[:4])
	}
}

func bitCount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// TestMemDeterministic: the same seed and calls give the same disk.
func TestMemDeterministic(t *testing.T) {
	run := func(seed uint64) (map[string]string, Stats) {
		q := &queue{}
		m := NewMem(rand.New(rand.NewPCG(seed, 0)), q.schedule)
		ops := rand.New(rand.NewPCG(seed, 1))
		for round := range 5 {
			for i := range 3 {
				f, _ := m.OpenAppend(fmt.Sprint("f", i))
				for range ops.IntN(5) {
					f.Write(bytes.Repeat([]byte{byte(round)}, 1+ops.IntN(100)))
					if ops.IntN(2) == 0 {
						f.Sync(func(error) {})
					}
				}
			}
			m.SyncDir(func(error) {})
			for len(q.fs) > 0 && ops.IntN(4) != 0 {
				q.runOne(ops.IntN(len(q.fs)))
			}
			m.Crash()
		}
		out := map[string]string{}
		names, _ := m.List()
		for _, n := range names {
			b, _ := m.ReadFile(n)
			out[n] = string(b)
		}
		return out, m.Stats()
	}
	for seed := range uint64(5) {
		c1, s1 := run(seed)
		c2, s2 := run(seed)
		if diff := cmp.Diff(c1, c2); diff != "" {
			t.Fatalf("seed %d: contents differ between runs (-first +second):\n%s", seed, diff)
		}
		if s1 != s2 {
			t.Fatalf("seed %d: stats differ: %+v vs %+v", seed, s1, s2)
		}
	}
}

// TestMemCrashOutcomes: across seeds, every kind of crash outcome happens,
// so the property test above is not vacuous.
func TestMemCrashOutcomes(t *testing.T) {
	var total Stats
	for seed := range uint64(200) {
		m := NewMem(rand.New(rand.NewPCG(seed, 7)), func(f func()) { f() })
		f, _ := m.Create("a")
		m.SyncDir(func(error) {})
		f.Write(bytes.Repeat([]byte("z"), 100))
		m.Crash()
		s := m.Stats()
		total.TailsKept += s.TailsKept
		total.TailsDropped += s.TailsDropped
		total.TailsCut += s.TailsCut
		total.TailsTorn += s.TailsTorn
	}
	if total.TailsKept == 0 || total.TailsDropped == 0 || total.TailsCut == 0 || total.TailsTorn == 0 {
		t.Fatalf("200 crashes did not produce every outcome: %+v", total)
	}
}

func TestMemWipe(t *testing.T) {
	m := NewMem(rand.New(rand.NewPCG(1, 1)), func(f func()) { f() })
	f, _ := m.Create("a")
	m.SyncDir(func(error) {})
	m.Wipe()
	mustList(t, m)
	if err := f.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Wipe: %v, want ErrClosed", err)
	}
}
