package oplog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/memdb/memdb/clock"
)

// The first base format, baseSingle, is no longer written but must still
// replay: these tests read one written by the version-1 writer
// (testdata/base-v1) and ones this file's copy of that writer makes.

// v1State is the state testdata/base-v1 holds, written by the writer of
// format version 1 (one zstd frame of the whole payload, before the frame
// table) at 9cbd78f: 3,000 registers of 700 to 1,300 bytes, so its payload
// spans several of the version-1 reader's 1 MiB windows, one record larger
// than a window, and a tombstone.
func v1State() state {
	s := state{}
	for i := range 3000 {
		size := 700 + i*37%600
		if i == 1234 {
			size = 3 << 20
		}
		s.apply(Record{Type: TypeSet, Key: fmt.Appendf(nil, "key-%05d", i), Value: bytes.Repeat([]byte{byte(i)}, size),
			Stamp: clock.Timestamp{Counter: uint64(10 + i), Node: uint16(1 + i%5)}, Origin: uint16(1 + i%5), Seq: uint64(i + 1)})
	}
	s.apply(Record{Type: TypeDelete, Key: []byte("key-00007"), Stamp: clock.Timestamp{Counter: 5000, Node: 2}, Origin: 2, Seq: 5000})
	return s
}

// singleBase is the version-1 writer: header h and payload compressed
// whole, as one zstd frame.
func singleBase(t *testing.T, h baseHeader, payload []byte) []byte {
	t.Helper()
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	z := enc.EncodeAll(payload, nil)
	b := make([]byte, 0, baseHeaderLen+len(z))
	b = append(b, baseMagic...)
	b = binary.BigEndian.AppendUint16(b, baseSingle)
	b = binary.BigEndian.AppendUint16(b, codecZstd)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint64(b, h.num)
	b = binary.BigEndian.AppendUint64(b, h.records)
	b = binary.BigEndian.AppendUint64(b, h.rawLen)
	b = binary.BigEndian.AppendUint64(b, uint64(len(z)))
	b = binary.BigEndian.AppendUint32(b, crc(z))
	b = binary.BigEndian.AppendUint32(b, crc(b))
	return append(b, z...)
}

// payloadOf returns the header and the decompressed payload of a base of
// either version.
func payloadOf(t *testing.T, base []byte) (baseHeader, []byte) {
	t.Helper()
	h, err := decodeBaseHeader(base)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	if h.hversion == baseSingle {
		p, err := dec.DecodeAll(base[baseHeaderLen:], nil)
		if err != nil {
			t.Fatal(err)
		}
		return h, p
	}
	frames, err := frameTable(h, base, func(off int, format string, args ...any) error {
		return fmt.Errorf("offset %d: %s", off, fmt.Sprintf(format, args...))
	})
	if err != nil {
		t.Fatal(err)
	}
	var p []byte
	for _, f := range frames {
		if p, err = dec.DecodeAll(base[f.off:f.off+f.z], p); err != nil {
			t.Fatal(err)
		}
	}
	return h, p
}

// baseName returns the name of the base in img.
func baseName(t *testing.T, img image) string {
	t.Helper()
	for n := range img {
		if strings.HasSuffix(n, ".base") {
			return n
		}
	}
	t.Fatal("no base")
	return ""
}

// A data directory whose base the version-1 writer wrote replays, through
// the windowed stream reader, as the state it was given; a compaction then
// writes the current version, which replays the same.
func TestSingleBaseTestdata(t *testing.T) {
	img := image{}
	for _, n := range []string{"MANIFEST", "000002.base", "000003.log"} {
		b, err := os.ReadFile(filepath.Join("testdata/base-v1", n))
		if err != nil {
			t.Fatal(err)
		}
		img[n] = b
	}
	if h, _ := payloadOf(t, img["000002.base"]); h.hversion != baseSingle {
		t.Fatalf("testdata base in version %d, want %d", h.hversion, baseSingle)
	}
	want := v1State()
	w := restore(img)
	l, got, rep := w.open(t, Config{})
	if len(got) != len(want) || !sameState(want, lww(got)) {
		t.Fatalf("replayed %d records from %v, want the %d the version-1 base holds", len(got), rep.Segments, len(want))
	}
	if rep.MaxCounter != 5000 || rep.MaxSeq[5] != 3000 {
		t.Fatalf("high-water marks: counter %d, origin 5's sequence %d; want 5000 and 3000", rep.MaxCounter, rep.MaxSeq[5])
	}
	if err := l.Compact(lww(got).live(), func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	w.drain()
	l.Close()
	after := snapshot(t, w)
	if h, _ := payloadOf(t, after[baseName(t, after)]); h.hversion != baseFrames || h.frames < 3 {
		t.Fatalf("compacted again: version %d, %d frames; want version %d, several frames", h.hversion, h.frames, baseFrames)
	}
	_, got, _ = restore(after).open(t, Config{})
	if !sameState(want, lww(got)) {
		t.Fatal("the state changed when compacted into frames")
	}
}

// A version-1 base this file's writer makes from a current base's payload
// replays the same as the current one.
func TestSingleBaseRewritten(t *testing.T) {
	want := lww(recs(0, 40))
	img := snapshot(t, compacted(t, want))
	name := baseName(t, img)
	h, payload := payloadOf(t, img[name])
	img[name] = singleBase(t, h, payload)
	_, got, _ := restore(img).open(t, Config{})
	if !sameState(want, lww(got)) {
		t.Fatalf("a version-1 base replayed %d records, want %d", len(got), len(want))
	}
}

// Damage inside a version-1 base's payload that its checksum cannot see
// (a payload written wrong, and compressed and summed as it was) is
// reported with its offset in the payload.
func TestSingleBaseDamage(t *testing.T) {
	want := lww(recs(0, 7))
	img := snapshot(t, compacted(t, want))
	name := baseName(t, img)
	h, payload := payloadOf(t, img[name])
	first := 12 + 10*int(binary.BigEndian.Uint32(payload[8:]))
	second := first + len(appendRecord(nil, ptr(want["key-0"])))
	cases := []struct {
		name   string
		modify func(p []byte) []byte
		rawLen func(n int) int
		want   string
	}{
		{"a record's checksum", func(p []byte) []byte { p[second+30] ^= 1; return p }, nil,
			fmt.Sprintf("payload offset %d: record checksum mismatch", second)},
		{"the last record cut short", func(p []byte) []byte { return p[:len(p)-3] }, nil,
			"record runs past the end of the segment"},
		{"a length past the payload", nil, func(n int) int { return n + 5 }, "payload does not decompress to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := slices.Clone(payload)
			if c.modify != nil {
				p = c.modify(p)
			}
			h := h
			h.rawLen = uint64(len(p))
			if c.rawLen != nil {
				h.rawLen = uint64(c.rawLen(len(p)))
			}
			mod := maps.Clone(img)
			mod[name] = singleBase(t, h, p)
			_, _, err := Open(restore(mod).mem, Config{}, func(Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want ErrCorrupt saying %q", err, c.want)
			}
		})
	}
}
