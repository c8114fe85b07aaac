package oplog

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
)

// image is a log's files, to rebuild on a fresh disk with changes.
type image map[string][]byte

func snapshot(t *testing.T, w *world) image {
	t.Helper()
	names, _ := w.mem.List()
	img := image{}
	for _, n := range names {
		b, err := w.mem.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		img[n] = b
	}
	return img
}

// restore writes img to a new disk, every file synced and named durably.
func restore(img image) *world {
	w := newWorld(9)
	for n, b := range img {
		f, _ := w.mem.Create(n)
		f.Write(b)
		f.Sync(func(error) {})
	}
	w.mem.SyncDir(func(error) {})
	w.drain()
	return w
}

// TestTornTailEveryOffset cuts the last record at every byte, plain and
// with the last byte garbled: Open must keep the records before it, report
// the cut, and append cleanly after it.
func TestTornTailEveryOffset(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	want := recs(0, 5)
	commitAll(t, w, l, want...)
	img := snapshot(t, w)
	seg := (segment{num: 1, kind: kindLog}).name()
	full := img[seg]
	lastStart := len(full) - len(appendRecord(nil, &want[4]))

	for cut := lastStart; cut < len(full); cut++ {
		for _, garble := range []bool{false, true} {
			if garble && cut == lastStart {
				continue
			}
			name := fmt.Sprintf("cut=%d garble=%v", cut, garble)
			mod := image{}
			for n, b := range img {
				mod[n] = b
			}
			b := append([]byte(nil), full[:cut]...)
			if garble {
				b[len(b)-1] ^= 0x5a
			}
			mod[seg] = b
			w := restore(mod)
			l, got, rep := w.open(t, Config{})
			if diff := cmp.Diff(want[:4], got); diff != "" {
				t.Fatalf("%s: replay (-want +got):\n%s", name, diff)
			}
			var wantTorn *Torn
			if cut > lastStart {
				wantTorn = &Torn{Segment: seg, Offset: int64(lastStart), Bytes: int64(cut - lastStart)}
			}
			if diff := cmp.Diff(wantTorn, rep.Torn); diff != "" {
				t.Fatalf("%s: torn (-want +got):\n%s", name, diff)
			}
			commitAll(t, w, l, rec(99))
			w.crash()
			if _, got, _ := w.open(t, Config{}); !cmp.Equal(append(want[:4:4], rec(99)), got) {
				t.Fatalf("%s: after appending past the cut, replay gave %d records", name, len(got))
			}
		}
	}
}

// TestCorruption: damage anywhere but a torn tail stops Open with
// ErrCorrupt naming the file and offset.
func TestCorruption(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{SegmentSize: 200})
	for _, r := range recs(0, 12) {
		commitAll(t, w, l, r)
	}
	img := snapshot(t, w)
	seg1 := (segment{num: 1, kind: kindLog}).name()
	man, _ := decodeManifest(img[manifestName])
	if len(man.segs) < 3 {
		t.Fatalf("want at least 3 segments, got %v", man.segs)
	}
	last := man.segs[len(man.segs)-1].name()
	r0 := len(appendRecord(nil, ptr(rec(0))))

	cases := []struct {
		name   string
		file   string
		offset int
		want   string // in the error
	}{
		{"record crc in an earlier segment", seg1, logHeaderLen, seg1 + " offset 24"},
		{"record body in an earlier segment", seg1, logHeaderLen + r0 + 20, fmt.Sprintf("%s offset %d", seg1, logHeaderLen+r0)},
		{"length field in an earlier segment", seg1, logHeaderLen + 6, seg1 + " offset 24"},
		{"segment header", seg1, 3, seg1 + " offset 0"},
		{"the last segment's header", last, 10, last + " offset 0"},
		{"mid last segment, valid records after", last, logHeaderLen + 9, last + " offset 24"},
		{"manifest", manifestName, 17, manifestName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := restore(img)
			if err := w.mem.FlipBit(c.file, int64(c.offset)); err != nil {
				t.Fatal(err)
			}
			_, _, err := Open(w.mem, Config{}, func(Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open after a bit flip in %s at %d: %v, want ErrCorrupt mentioning %q", c.file, c.offset, err, c.want)
			}
		})
	}
	t.Run("missing segment", func(t *testing.T) {
		mod := image{}
		for n, b := range img {
			if n != seg1 {
				mod[n] = b
			}
		}
		_, _, err := Open(restore(mod).mem, Config{}, func(Record) error { return nil })
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), seg1) {
			t.Fatalf("Open without %s: %v, want ErrCorrupt naming it", seg1, err)
		}
	})
	t.Run("segments without a manifest", func(t *testing.T) {
		mod := image{}
		for n, b := range img {
			if n != manifestName {
				mod[n] = b
			}
		}
		_, _, err := Open(restore(mod).mem, Config{}, func(Record) error { return nil })
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open with segments but no MANIFEST: %v, want ErrCorrupt", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestLeftoversRemoved: files no manifest lists are deleted and reported.
func TestLeftoversRemoved(t *testing.T) {
	w := newWorld(1)
	l, _, _ := w.open(t, Config{})
	commitAll(t, w, l, rec(0))
	img := snapshot(t, w)
	img["000007.log"] = logHeader(7)
	img["000008.base"] = []byte("half a base")
	img[manifestTemp] = []byte("junk")
	img["unrelated.txt"] = []byte("not ours")
	w = restore(img)
	l, got, rep := w.open(t, Config{})
	if diff := cmp.Diff([]string{"000007.log", "000008.base", manifestTemp}, rep.Removed); diff != "" {
		t.Fatalf("removed (-want +got):\n%s", diff)
	}
	if len(got) != 1 {
		t.Fatalf("replayed %d records, want 1", len(got))
	}
	commitAll(t, w, l, rec(1))
	names, _ := w.mem.List()
	if diff := cmp.Diff([]string{"000001.log", manifestName, "unrelated.txt"}, names); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	if l.next <= 8 {
		t.Fatalf("next segment number %d would reuse a leftover's", l.next)
	}
}

func TestEmptyLeftoverWithoutManifest(t *testing.T) {
	w := restore(image{"000001.log": logHeader(1)})
	_, _, rep := w.open(t, Config{})
	if !rep.Fresh || len(rep.Removed) != 1 {
		t.Fatalf("report %+v: want a fresh log and the empty segment removed", rep)
	}
}

// Open tells Config.Reserve how many records a base holds before it
// replays any of them, and nothing of a log without a base.
func TestReserve(t *testing.T) {
	w := newWorld(3)
	type call struct{ n, replayedBefore int }
	reopen := func() []call {
		t.Helper()
		var calls []call
		replayed := 0
		cfg := Config{Reserve: func(n int) { calls = append(calls, call{n, replayed}) }}
		l, _, err := Open(w.mem, cfg, func(Record) error { replayed++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		l.Sync(func(error) {})
		w.drain()
		l.Close()
		return calls
	}
	l, _, _ := w.open(t, Config{})
	commitAll(t, w, l, recs(0, 20)...)
	l.Close()
	if got := reopen(); len(got) != 0 {
		t.Fatalf("a log without a base: Reserve told %v, want nothing", got)
	}
	l, got, _ := w.open(t, Config{})
	live := lww(got)
	if err := l.Compact(live.live(), func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	w.drain()
	commitAll(t, w, l, recs(20, 25)...)
	l.Close()
	if got, want := reopen(), []call{{len(live), 0}}; !slices.Equal(got, want) {
		t.Fatalf("a base of %d records: Reserve told (records, replayed before) %v, want %v", len(live), got, want)
	}
}

// A base read through its window: records that straddle the window's
// end, and records larger than the window, replay as they were written;
// the high-water marks come back too.
func TestBaseWindow(t *testing.T) {
	want := state{}
	for i := range 3000 {
		size := 1000 + i%700
		switch i {
		case 17, 2999:
			size = 3*windowSize + i // larger than the window, first or last
		case 1500:
			size = 0
		}
		r := Record{Type: TypeSet, Key: fmt.Appendf(nil, "key-%05d", i), Value: bytes.Repeat([]byte{byte(i)}, size),
			Stamp: clock.Timestamp{Counter: uint64(10 + i), Node: uint16(1 + i%5)}, Origin: uint16(1 + i%5), Seq: uint64(i + 1)}
		want.apply(r)
	}
	w := compacted(t, want)
	_, got, rep := w.open(t, Config{})
	if !strings.HasSuffix(rep.Segments[0], ".base") || len(got) != len(want) || !sameState(want, lww(got)) {
		t.Fatalf("replayed %d records from %v, want the %d written to a base", len(got), rep.Segments, len(want))
	}
	if rep.MaxCounter != 10+2999 || rep.MaxSeq[5] != 3000 {
		t.Fatalf("high-water marks: counter %d, origin 5's sequence %d; want %d and %d", rep.MaxCounter, rep.MaxSeq[5], 10+2999, 3000)
	}

	// Config.Prefetch is given every record's key, in order, before the
	// record is applied.
	var fetched []string
	applied := 0
	cfg := Config{Prefetch: func(keys [][]byte) {
		for _, k := range keys {
			fetched = append(fetched, string(k))
		}
	}}
	l, _, err := Open(w.mem, cfg, func(r Record) error {
		if applied >= len(fetched) || fetched[applied] != string(r.Key) {
			t.Fatalf("record %d (key %q) applied with keys %d to %d prefetched", applied, r.Key, applied, len(fetched))
		}
		applied++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if applied != len(want) || len(fetched) != len(want) {
		t.Fatalf("%d records applied, %d keys prefetched; want %d", applied, len(fetched), len(want))
	}
}

// compacted returns a world whose log is a base holding s.
func compacted(t *testing.T, s state) *world {
	t.Helper()
	w := newWorld(4)
	l, _, _ := w.open(t, Config{})
	if err := l.Compact(s.live(), func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	w.drain()
	l.Close()
	return w
}
