package oplog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/memdb/memdb/disk"
)

// A base in format baseFrames (doc.go draws it) is its header, a zstd
// frame per chunk of the payload, and a frame table at the end that gives
// each frame's length before and after compression and the checksum of
// its compressed bytes. A frame holds whole records, so frames are
// independent: replay decompresses the next few, through Config.Async,
// while it applies the current one, into buffers of a frame's size rather
// than through a stream decoder's window. The table is at the end because
// the frames' compressed lengths are known only once written, and the
// writer drops each chunk as soon as it is compressed.

// Frame table layout: an entry per frame, then the trailer.
const (
	frameEntryLen   = 12 // raw length 4, compressed length 4, crc 4
	frameTrailerLen = 8  // frame count 4, crc of the entries and count 4
)

// maxFrameRaw bounds a frame's decompressed length: Add starts a chunk
// once the last one reaches chunkSize, so a chunk is shorter than that
// before its last record. A table entry above it is damage, not an
// allocation to make.
const maxFrameRaw = chunkSize + recPrefix + maxRecLen

// decodeAhead is how many frames replay decompresses beyond the one it is
// applying; each holds a buffer of a frame's size.
const decodeAhead = 3

// newEncoder returns the one zstd configuration bases use: a fixed level
// and a single goroutine, so the same state gives the same bytes.
func newEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
}

// writeBase compresses the base's chunks, each to a frame of its own, and
// writes the base's file, unsynced. Off the loop, it touches nothing the
// loop does (the file system is safe for that, and the file is new). It
// takes chunks and drops each once compressed, so a compaction's memory
// falls as it writes rather than growing by a copy of the payload.
func (l *Log) writeBase(base segment, records uint64, size int, chunks [][]byte) (disk.File, error) {
	f, err := l.fs.Create(base.name())
	if err == nil {
		if err = writeFrames(f, baseHeader{num: base.num, records: records, rawLen: uint64(size), frames: uint64(len(chunks))}, chunks); err != nil {
			f.Close()
			l.fs.Remove(base.name())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", base.name(), err)
	}
	return f, nil
}

// writeFrames writes header h, a frame per chunk, and the frame table.
func writeFrames(f disk.File, h baseHeader, chunks [][]byte) error {
	enc, err := newEncoder()
	if err != nil {
		return err
	}
	defer enc.Close()
	if err := f.Write(h.encode()); err != nil {
		return err
	}
	table := make([]byte, 0, len(chunks)*frameEntryLen+frameTrailerLen)
	var z []byte
	for i, c := range chunks {
		z = enc.EncodeAll(c, z[:0])
		table = binary.BigEndian.AppendUint32(table, uint32(len(c)))
		table = binary.BigEndian.AppendUint32(table, uint32(len(z)))
		table = binary.BigEndian.AppendUint32(table, crc(z))
		chunks[i] = nil
		if err := f.Write(z); err != nil {
			return err
		}
	}
	table = binary.BigEndian.AppendUint32(table, uint32(len(chunks)))
	return f.Write(binary.BigEndian.AppendUint32(table, crc(table)))
}

// frame is where one frame of a base is, and what it holds.
type frame struct {
	off int // of its compressed bytes, in the file
	z   int // compressed length
	at  int // of its first byte, in the payload
	raw int // decompressed length
	crc uint32
}

// corruptFunc reports damage at a file offset as ErrCorrupt.
type corruptFunc func(off int, format string, args ...any) error

// frameTable reads a baseFrames base's frame table and checks it against
// the header and the file.
func frameTable(h baseHeader, data []byte, corrupt corruptFunc) ([]frame, error) {
	end := len(data)
	if end < baseHeaderLen+frameTrailerLen {
		return nil, corrupt(baseHeaderLen, "no room for a frame table: %d bytes after the header", end-baseHeaderLen)
	}
	trailer := end - frameTrailerLen
	n := uint64(binary.BigEndian.Uint32(data[trailer:]))
	if n*frameEntryLen > uint64(trailer-baseHeaderLen) {
		return nil, corrupt(trailer, "a frame table of %d frames does not fit in the file", n)
	}
	at := trailer - int(n)*frameEntryLen
	if crc(data[at:end-4]) != binary.BigEndian.Uint32(data[end-4:]) {
		return nil, corrupt(at, "frame table checksum mismatch")
	}
	if n != h.frames {
		return nil, corrupt(at, "the frame table lists %d frames, the header says %d", n, h.frames)
	}
	if n == 0 {
		return nil, corrupt(at, "no frames")
	}
	frames := make([]frame, n)
	off, raw := baseHeaderLen, 0
	for i := range frames {
		e := data[at+i*frameEntryLen:]
		f := frame{off: off, at: raw, raw: int(binary.BigEndian.Uint32(e)), z: int(binary.BigEndian.Uint32(e[4:])), crc: binary.BigEndian.Uint32(e[8:])}
		if f.raw > maxFrameRaw {
			return nil, corrupt(at+i*frameEntryLen, "frame %d: implausible length %d", i, f.raw)
		}
		if f.z > at-off {
			return nil, corrupt(off, "frame %d: %d compressed bytes run into the frame table", i, f.z)
		}
		frames[i] = f
		off, raw = off+f.z, raw+f.raw
	}
	if off != at {
		return nil, corrupt(off, "the frames end %d bytes before the frame table", at-off)
	}
	if uint64(raw) != h.rawLen {
		return nil, corrupt(at, "frames of %d bytes in all, the header says %d", raw, h.rawLen)
	}
	return frames, nil
}

// replayFrames replays a baseFrames base: the high-water marks at the
// start of its first frame, then the records of each frame in order, the
// next frames decompressing meanwhile.
func (l *Log) replayFrames(s segment, h baseHeader, data []byte, apply func(Record) error, rep *Report, corrupt corruptFunc) error {
	frames, err := frameTable(h, data, corrupt)
	if err != nil {
		return err
	}
	a := &ahead{async: l.cfg.Async, data: data, frames: frames}
	defer a.close()
	var count uint64
	var keys [][]byte
	for i, f := range frames {
		b, err := a.frame(i)
		if err != nil {
			return corrupt(f.off, "frame %d: %v", i, err)
		}
		off := 0
		if i == 0 {
			if off = marksLen(b); off > len(b) {
				return corrupt(f.off, "frame 0 of %d bytes is too short for the high-water marks", len(b))
			}
			l.observeMarks(b)
			if l.cfg.Reserve != nil {
				// A record takes recHeader bytes at least: a damaged
				// header's count cannot make the caller reserve more
				// than the payload holds.
				l.cfg.Reserve(int(min(h.records, (h.rawLen-uint64(off))/recHeader)))
			}
		}
		prefetched := off // the frame offset the keys were prefetched up to
		for off < len(b) {
			r, size, st := decodeRecord(b[off:])
			switch st {
			case decodeOK:
			case decodeShort:
				return corrupt(f.off, "frame %d payload offset %d: record runs past the end of its frame", i, f.at+off)
			case decodeUnknown:
				return corrupt(f.off, "frame %d payload offset %d: record of unknown type %d (written by a newer version?)", i, f.at+off, r.Type)
			default:
				return corrupt(f.off, "frame %d payload offset %d: %s", i, f.at+off, describe(st))
			}
			if l.cfg.Prefetch != nil && off >= prefetched {
				var n int
				keys, n = nextKeys(keys[:0], b[off:])
				l.cfg.Prefetch(keys)
				prefetched = off + n
			}
			if err := l.replayRecord(r, apply, rep); err != nil {
				return fmt.Errorf("oplog: replay %s payload offset %d: %w", s.name(), f.at+off, err)
			}
			off += size
			count++
		}
	}
	if count != h.records {
		return corrupt(0, "%d records, header says %d", count, h.records)
	}
	return nil
}

// marksLen returns the length of the high-water marks at the start of a
// payload: a length past b's end if b is too short to hold them.
func marksLen(b []byte) int {
	if len(b) < 12 {
		return 12
	}
	return 12 + 10*int(binary.BigEndian.Uint32(b[8:]))
}

// observeMarks raises the log's high-water marks to those at the start of
// payload b, which holds marksLen(b) bytes at least.
func (l *Log) observeMarks(b []byte) {
	l.maxCounter = max(l.maxCounter, binary.BigEndian.Uint64(b))
	for i := range int(binary.BigEndian.Uint32(b[8:])) {
		o, seq := binary.BigEndian.Uint16(b[12+10*i:]), binary.BigEndian.Uint64(b[12+10*i+2:])
		l.maxSeq[o] = max(l.maxSeq[o], seq)
	}
}

// ahead decompresses a base's frames in order, each through Config.Async,
// up to decodeAhead frames beyond the one its caller is applying: a slot
// per frame in flight, each with its decoder and a buffer reused frame
// after frame, so replay's memory is bounded by a few frames whatever the
// base's size.
type ahead struct {
	async   func(work func()) (wait func())
	data    []byte
	frames  []frame
	slots   [decodeAhead + 1]slot
	started int // frames started so far
}

// slot is one frame in flight. Between start and its wait's return, only
// the work touches it.
type slot struct {
	dec  *zstd.Decoder
	out  []byte
	err  error
	wait func() // nil when no work is in flight
}

// frame waits for frame i, which it returns decompressed and checked
// against its table entry; frame i-1's bytes, which the caller is done
// with, are overwritten from then on. Frames are asked for in order.
func (a *ahead) frame(i int) ([]byte, error) {
	for a.started < min(i+len(a.slots), len(a.frames)) {
		a.start(a.started)
		a.started++
	}
	s := &a.slots[i%len(a.slots)]
	s.wait()
	s.wait = nil
	return s.out, s.err
}

// start starts decompressing frame i into its slot, which is free.
func (a *ahead) start(i int) {
	s, f := &a.slots[i%len(a.slots)], a.frames[i]
	z := a.data[f.off : f.off+f.z]
	if s.dec == nil {
		// Concurrency 1: the decoder starts no goroutine of its own;
		// the memory bound refuses a frame header that claims more than
		// a frame may hold.
		s.dec, s.err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxFrameRaw))
		if s.err != nil {
			s.wait = func() {}
			return
		}
	}
	s.wait = a.async(func() { s.out, s.err = decodeFrame(s.dec, z, f, s.out) })
}

// decodeFrame checks and decompresses frame f, whose compressed bytes are
// z, into buf's memory if it is large enough.
func decodeFrame(dec *zstd.Decoder, z []byte, f frame, buf []byte) ([]byte, error) {
	if crc(z) != f.crc {
		return buf, errors.New("frame checksum mismatch")
	}
	if cap(buf) < f.raw {
		buf = make([]byte, 0, f.raw)
	}
	out, err := dec.DecodeAll(z, buf[:0])
	if err != nil {
		return buf, fmt.Errorf("frame does not decompress: %v", err)
	}
	if len(out) != f.raw {
		return out, fmt.Errorf("frame decompresses to %d bytes, the frame table says %d", len(out), f.raw)
	}
	return out, nil
}

// close waits for the work still in flight (replay stopped early) and
// releases the decoders: no work outlives Open.
func (a *ahead) close() {
	for i := range a.slots {
		s := &a.slots[i]
		if s.wait != nil {
			s.wait()
			s.wait = nil
		}
		if s.dec != nil {
			s.dec.Close()
		}
	}
}

// prefetchAhead is how many records' keys replay prefetches at once.
const prefetchAhead = 16

// nextKeys appends to keys those of the first prefetchAhead whole records
// in b, unchecked (decodeRecord checks them when their turn comes), and
// returns them and the bytes they span.
func nextKeys(keys [][]byte, b []byte) ([][]byte, int) {
	off := 0
	for range prefetchAhead {
		if len(b)-off < recHeader {
			break
		}
		n := int(binary.BigEndian.Uint32(b[off+4:]))
		klen := int(binary.BigEndian.Uint16(b[off+recPrefix+21:]))
		if n < recFixed+klen || n > len(b)-off-recPrefix {
			break
		}
		keys = append(keys, b[off+recHeader:off+recHeader+klen])
		off += recPrefix + n
	}
	return keys, off
}
