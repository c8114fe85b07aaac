package oplog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/memdb/memdb/clock"
)

// framed is a base of the current version taken apart, to put back
// together with changes.
type framed struct {
	h      baseHeader
	z      [][]byte // each frame's compressed bytes
	raw    [][]byte // each frame's payload
	frames []frame
}

func takeApart(t *testing.T, base []byte) framed {
	t.Helper()
	h, err := decodeBaseHeader(base)
	if err != nil || h.hversion != baseFrames {
		t.Fatalf("header: version %d, %v", h.hversion, err)
	}
	frames, err := frameTable(h, base, func(off int, format string, args ...any) error {
		return fmt.Errorf("offset %d: %s", off, fmt.Sprintf(format, args...))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, payload := payloadOf(t, base)
	fr := framed{h: h, frames: frames}
	for _, f := range frames {
		fr.z = append(fr.z, slices.Clone(base[f.off:f.off+f.z]))
		fr.raw = append(fr.raw, slices.Clone(payload[f.at:f.at+f.raw]))
	}
	return fr
}

// assemble writes fr back: its header as it is, its frames' compressed
// bytes, and a frame table of their lengths and checksums.
func (fr framed) assemble() []byte {
	b := fr.h.encode()
	var table []byte
	for i, z := range fr.z {
		b = append(b, z...)
		table = binary.BigEndian.AppendUint32(table, uint32(len(fr.raw[i])))
		table = binary.BigEndian.AppendUint32(table, uint32(len(z)))
		table = binary.BigEndian.AppendUint32(table, crc(z))
	}
	table = binary.BigEndian.AppendUint32(table, uint32(len(fr.z)))
	return append(append(b, table...), binary.BigEndian.AppendUint32(nil, crc(table))...)
}

// recompress compresses frame i's payload again, after a change to it.
func (fr framed) recompress(t *testing.T, i int) {
	t.Helper()
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	fr.z[i] = enc.EncodeAll(fr.raw[i], nil)
}

// clone returns a copy of fr whose slices the caller may change.
func (fr framed) clone() framed {
	c := framed{h: fr.h, frames: fr.frames}
	for i := range fr.z {
		c.z = append(c.z, slices.Clone(fr.z[i]))
		c.raw = append(c.raw, slices.Clone(fr.raw[i]))
	}
	return c
}

// A base is a frame per chunk, each of whole records, and replays as the
// state it was given; the same state gives the same bytes.
func TestFramesWritten(t *testing.T) {
	want := v1State()
	img := snapshot(t, compacted(t, want))
	name := baseName(t, img)
	fr := takeApart(t, img[name])
	if len(fr.frames) < 4 {
		t.Fatalf("%d frames of a %d-byte payload, want a frame per %d-byte chunk", len(fr.frames), fr.h.rawLen, chunkSize)
	}
	for i, f := range fr.frames {
		if f.raw > chunkSize+3<<20+100 || (i < len(fr.frames)-1 && f.raw < chunkSize) {
			t.Errorf("frame %d holds %d bytes, want a chunk's: at least %d but the last", i, f.raw, chunkSize)
		}
	}
	_, got, _ := restore(img).open(t, Config{})
	if !sameState(want, lww(got)) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	again := snapshot(t, compacted(t, want))
	if !bytes.Equal(img[name], again[name]) {
		t.Fatal("the same state compacted twice gave different bases")
	}
}

// Damage to a base of frames — to a frame, the frame table, or what they
// say of each other or of the payload — is ErrCorrupt naming the base and
// the offset of what is damaged.
func TestFramesDamage(t *testing.T) {
	img := snapshot(t, compacted(t, v1State()))
	name := baseName(t, img)
	fr := takeApart(t, img[name])
	f1 := fr.frames[1]
	at := func(off int, msg string) string { return fmt.Sprintf("%s offset %d: %s", name, off, msg) }
	tableAt := len(img[name]) - frameTrailerLen - len(fr.frames)*frameEntryLen
	cases := []struct {
		name   string
		modify func(fr *framed) []byte
		want   string
	}{
		{"a frame's checksum", func(fr *framed) []byte {
			b := fr.assemble()
			b[f1.off+f1.z/2] ^= 0x10
			return b
		}, at(f1.off, "frame 1: frame checksum mismatch")},
		{"the frame table cut short", func(fr *framed) []byte {
			b := fr.assemble()
			return b[:len(b)-5]
		}, "frame table"},
		{"the frame table's checksum", func(fr *framed) []byte {
			b := fr.assemble()
			b[tableAt+3] ^= 1
			return b
		}, at(tableAt, "frame table checksum mismatch")},
		{"a frame count the table does not list", func(fr *framed) []byte {
			fr.h.frames++
			return fr.assemble()
		}, at(tableAt, fmt.Sprintf("the frame table lists %d frames, the header says %d", len(fr.frames), len(fr.frames)+1))},
		{"a frame missing, table and all", func(fr *framed) []byte {
			fr.z, fr.raw = fr.z[:len(fr.z)-1], fr.raw[:len(fr.raw)-1]
			return fr.assemble()
		}, "frames, the header says"},
		{"a frame's length before compression", func(fr *framed) []byte {
			fr.raw[2] = append(fr.raw[2], 0)
			return fr.assemble()
		}, fmt.Sprintf("frames of %d bytes in all, the header says %d", fr.h.rawLen+1, fr.h.rawLen)},
		{"a frame that does not decompress", func(fr *framed) []byte {
			for i := range fr.z[1] {
				fr.z[1][i] = byte(i)
			}
			return fr.assemble()
		}, at(f1.off, "frame 1: frame does not decompress")},
		{"a frame that decompresses short", func(fr *framed) []byte {
			fr.raw[1] = fr.raw[1][:len(fr.raw[1])-7]
			fr.recompress(t, 1)
			fr.raw[1] = append(fr.raw[1], make([]byte, 7)...)
			return fr.assemble()
		}, at(f1.off, fmt.Sprintf("frame 1: frame decompresses to %d bytes, the frame table says %d", f1.raw-7, f1.raw))},
		{"a record's checksum inside a frame", func(fr *framed) []byte {
			fr.raw[1][30] ^= 1
			fr.recompress(t, 1)
			return fr.assemble()
		}, at(f1.off, fmt.Sprintf("frame 1 payload offset %d: record checksum mismatch", f1.at))},
		{"a record split across frames", func(fr *framed) []byte {
			fr.raw[1] = append(slices.Clone(fr.raw[0][len(fr.raw[0])-10:]), fr.raw[1]...)
			fr.raw[0] = fr.raw[0][:len(fr.raw[0])-10]
			fr.recompress(t, 0)
			fr.recompress(t, 1)
			return fr.assemble()
		}, "record runs past the end of its frame"},
		{"records the header does not count", func(fr *framed) []byte {
			fr.h.records++
			return fr.assemble()
		}, "records, header says"},
		{"a first frame too short for the marks", func(fr *framed) []byte {
			fr.raw = [][]byte{fr.raw[0][:5]}
			fr.z = fr.z[:1]
			fr.h.frames, fr.h.rawLen = 1, 5
			fr.recompress(t, 0)
			return fr.assemble()
		}, "frame 0 of 5 bytes is too short for the high-water marks"},
		{"no frames", func(fr *framed) []byte {
			fr.z, fr.raw = nil, nil
			fr.h.frames, fr.h.rawLen = 0, 0
			return fr.assemble()
		}, "no frames"},
		{"an implausible frame length", func(fr *framed) []byte {
			fr.raw[0] = make([]byte, maxFrameRaw+1)
			return fr.assemble()
		}, "frame 0: implausible length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mod := maps.Clone(img)
			f := fr.clone()
			mod[name] = c.modify(&f)
			_, _, err := Open(restore(mod).mem, Config{}, func(Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want ErrCorrupt saying %q", err, c.want)
			}
		})
	}
}

// Every byte of a base of frames is under a checksum: a bit flipped
// anywhere, or the file cut anywhere, is ErrCorrupt, never a panic or a
// wrong state. Every byte of the header and the frame table is tried,
// and a spread of the frames'.
func TestFramesEveryByte(t *testing.T) {
	img := snapshot(t, compacted(t, v1State()))
	name := baseName(t, img)
	base := img[name]
	tableAt := len(base) - frameTrailerLen - int(takeApart(t, base).h.frames)*frameEntryLen
	var offs []int
	for off := range len(base) {
		if off < baseHeaderLen || off >= tableAt || off%97 == 0 {
			offs = append(offs, off)
		}
	}
	try := func(what string, b []byte) {
		t.Helper()
		mod := maps.Clone(img)
		mod[name] = b
		_, _, err := Open(restore(mod).mem, Config{}, func(Record) error { return nil })
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: Open: %v, want ErrCorrupt", what, err)
		}
	}
	for _, off := range offs {
		b := slices.Clone(base)
		b[off] ^= 1 << (off % 8)
		try(fmt.Sprintf("bit %d of byte %d flipped", off%8, off), b)
		try(fmt.Sprintf("cut at %d", off), base[:off])
	}
}

// Open decompresses frames ahead through Config.Async, at most
// decodeAhead beyond the one it applies, and waits for every one it
// started before it returns, whatever stopped the replay.
func TestFramesDecodeAhead(t *testing.T) {
	want := state{}
	for i := range 5000 {
		want.apply(Record{Type: TypeSet, Key: fmt.Appendf(nil, "key-%05d", i), Value: bytes.Repeat([]byte{byte(i)}, 2000),
			Stamp: clock.Timestamp{Counter: uint64(1 + i), Node: 1}, Origin: 1, Seq: uint64(i + 1)})
	}
	w := compacted(t, want)
	img := snapshot(t, w)
	frames := int(takeApart(t, img[baseName(t, img)]).h.frames)
	if frames < 2*(decodeAhead+1) {
		t.Fatalf("%d frames, want more than twice the %d in flight at once", frames, decodeAhead+1)
	}

	// Work runs only when waited for, so started minus waited is what
	// is in flight.
	var started, waited, most int
	lazy := func(work func()) func() {
		started++
		ran := false
		return func() {
			if !ran {
				ran = true
				work()
				waited++
			}
		}
	}
	check := func(Record) error {
		most = max(most, started-waited)
		return nil
	}
	l, _, err := Open(w.mem, Config{Async: lazy}, check)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if started != frames || waited != frames || most != decodeAhead {
		t.Fatalf("%d frames: %d started, %d waited for, at most %d in flight while applying; want all, all, %d",
			frames, started, waited, most, decodeAhead)
	}

	// On goroutines, as memdbd runs it: the same state, and nothing in
	// flight once Open returns, even when apply stops it early.
	var inFlight atomic.Int32
	async := func(work func()) func() {
		var wg sync.WaitGroup
		wg.Add(1)
		inFlight.Add(1)
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			work()
		}()
		return wg.Wait
	}
	got := state{}
	l, _, err = Open(w.mem, Config{Async: async}, func(r Record) error {
		got.apply(r.clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if n := inFlight.Load(); n != 0 || !sameState(want, got) {
		t.Fatalf("on goroutines: %d records (want %d), %d decodes in flight after Open", len(got), len(want), n)
	}
	stop := errors.New("stop")
	n := 0
	_, _, err = Open(w.mem, Config{Async: async}, func(Record) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || inFlight.Load() != 0 {
		t.Fatalf("apply failing: Open %v, %d decodes in flight after it; want %v and none", err, inFlight.Load(), stop)
	}
}
