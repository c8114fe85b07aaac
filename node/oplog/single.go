package oplog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// replayBase replays a base segment, of either format version: its
// high-water marks, then its records.
func (l *Log) replayBase(s segment, data []byte, apply func(Record) error, rep *Report) error {
	corrupt := func(off int, format string, args ...any) error {
		return fmt.Errorf("%w: %s offset %d: %s", ErrCorrupt, s.name(), off, fmt.Sprintf(format, args...))
	}
	h, err := decodeBaseHeader(data)
	if err != nil {
		return corrupt(0, "%v", err)
	}
	if h.num != s.num {
		return corrupt(0, "header says segment %d", h.num)
	}
	if h.rawLen > 1<<40 {
		return corrupt(0, "implausible payload length %d", h.rawLen)
	}
	if h.hversion == baseSingle {
		return l.replaySingle(s, h, data, apply, rep, corrupt)
	}
	return l.replayFrames(s, h, data, apply, rep, corrupt)
}

// replaySingle replays a base of format baseSingle, the first: the whole
// payload in one zstd frame. Bases are no longer written so, but a data
// directory from before may hold one.
func (l *Log) replaySingle(s segment, h baseHeader, data []byte, apply func(Record) error, rep *Report, corrupt corruptFunc) error {
	z := data[baseHeaderLen:]
	if uint64(len(z)) != h.zLen || crc(z) != h.zCRC {
		return corrupt(baseHeaderLen, "compressed payload of %d bytes fails its checksum (header says %d bytes)", len(z), h.zLen)
	}
	// The payload is decompressed a window at a time, not into one
	// buffer as large as it (a gigabyte, for ten million keys): the
	// records' slices are the window's, which apply may not keep.
	dec, err := zstd.NewReader(bytes.NewReader(z), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(max(h.rawLen, 1<<20)))
	if err != nil {
		return fmt.Errorf("oplog: replay %s: %w", s.name(), err)
	}
	defer dec.Close()
	w := window{r: dec, buf: make([]byte, min(windowSize, max(h.rawLen, 64)))}
	// failed is the error of a stream that ended before its end.
	failed := func() error {
		if w.err != nil && w.err != io.EOF {
			return corrupt(baseHeaderLen, "payload does not decompress to %d bytes: %v", h.rawLen, w.err)
		}
		return nil
	}
	// Offsets below are in the decompressed payload.
	if b := w.fill(12); len(b) < 12 {
		if err := failed(); err != nil {
			return err
		}
		return corrupt(baseHeaderLen, "payload of %d bytes", len(b))
	}
	n := marksLen(w.unread())
	if uint64(n) > h.rawLen {
		return corrupt(baseHeaderLen, "payload too short for %d origins", (n-12)/10)
	}
	if b := w.fill(n); len(b) < n {
		if err := failed(); err != nil {
			return err
		}
		return corrupt(baseHeaderLen, "payload too short for %d origins", (n-12)/10)
	}
	l.observeMarks(w.unread())
	w.consume(n)
	if l.cfg.Reserve != nil {
		// A record takes recHeader bytes at least: a damaged header's
		// count cannot make the caller reserve more than the payload holds.
		l.cfg.Reserve(int(min(h.records, (h.rawLen-uint64(w.off))/recHeader)))
	}
	var count uint64
	prefetched := 0 // the payload offset the keys were prefetched up to
	var keys [][]byte
	for {
		b := w.unread()
		r, size, st := decodeRecord(b)
		if st == decodeShort {
			// The window ends inside the record: read on, at least to
			// its end if its length is known.
			need := recPrefix
			if len(b) >= recPrefix {
				need += int(binary.BigEndian.Uint32(b[4:]))
			}
			if b = w.fill(need); len(b) == 0 {
				break
			}
			r, size, st = decodeRecord(b)
		}
		if st != decodeOK {
			if err := failed(); err != nil {
				return err
			}
			return corrupt(baseHeaderLen, "payload offset %d: %s", w.off, describe(st))
		}
		if l.cfg.Prefetch != nil && w.off >= prefetched {
			var n int
			keys, n = nextKeys(keys[:0], w.unread())
			l.cfg.Prefetch(keys)
			prefetched = w.off + n
		}
		if err := l.replayRecord(r, apply, rep); err != nil {
			return fmt.Errorf("oplog: replay %s payload offset %d: %w", s.name(), w.off, err)
		}
		w.consume(size)
		count++
	}
	if err := failed(); err != nil {
		return err
	}
	if uint64(w.off) != h.rawLen {
		return corrupt(baseHeaderLen, "payload does not decompress to %d bytes: %d", h.rawLen, w.off)
	}
	if count != h.records {
		return corrupt(baseHeaderLen, "%d records, header says %d", count, h.records)
	}
	return nil
}

// windowSize is the size of the window a base's payload is read through:
// a record larger than it gets a larger one.
const windowSize = 1 << 20

// A window reads a stream a piece at a time into one buffer, reused:
// buf[lo:hi] is read and not yet consumed, and starts at offset off of
// the stream.
type window struct {
	r      io.Reader
	buf    []byte
	lo, hi int
	off    int
	// err is what ended the stream (io.EOF at its end), once it ended.
	err error
}

// unread returns the bytes read and not consumed.
func (w *window) unread() []byte { return w.buf[w.lo:w.hi] }

// consume drops the first n unread bytes.
func (w *window) consume(n int) { w.lo, w.off = w.lo+n, w.off+n }

// fill reads until at least n bytes are unread, or the stream ends, and
// returns the unread bytes: fewer than n only at the end. The slices
// returned before are overwritten.
func (w *window) fill(n int) []byte {
	if w.hi-w.lo >= n || w.err != nil {
		return w.unread()
	}
	if n > len(w.buf) {
		buf := make([]byte, max(n, 2*len(w.buf)))
		w.buf, w.lo, w.hi = buf, 0, copy(buf, w.unread())
	} else {
		w.lo, w.hi = 0, copy(w.buf, w.unread())
	}
	for w.hi-w.lo < n && w.err == nil {
		k, err := w.r.Read(w.buf[w.hi:])
		w.hi += k
		w.err = err
	}
	return w.unread()
}
