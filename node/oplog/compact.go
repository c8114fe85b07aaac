package oplog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/klauspost/compress/zstd"
	"github.com/memdb/memdb/disk"
)

// Compact replaces every segment so far with a base segment holding state:
// the live state as of now (the latest version of each key, and the
// tombstones that must still be kept), in the order state yields it, which
// should be sorted so that the file is deterministic. It is
// BeginCompaction, Add of each record of state, and Finish, in one call.
func (l *Log) Compact(state iter.Seq[Record], done func(error)) error {
	c, err := l.BeginCompaction()
	if err != nil {
		return err
	}
	for r := range state {
		if err := c.Add(r); err != nil {
			c.Abort()
			return err
		}
	}
	c.Finish(done)
	return nil
}

// A Compaction is a base being built: BeginCompaction starts it, Add
// appends the live state's records to it — all at once, or a slice at a
// time across many events of the node's loop, while appends to the log go
// on — and Finish writes it and swaps it in (or Abort drops it).
//
// The state must cover every record appended before BeginCompaction,
// committed or not: the segments holding them, up to the one
// BeginCompaction closes, are the ones the base replaces. A record
// appended later is in a segment the base does not replace, so a state
// read later than BeginCompaction (a newer version of a key) is fine:
// replay applies the base, then those segments, and merges are idempotent.
// The base also keeps the log's high-water marks (Lamport counter,
// sequence per origin) as of BeginCompaction, so Open's report does not go
// backward.
type Compaction struct {
	l       *Log
	base    segment
	keepNum uint64
	// chunks hold the base's bytes before compression, in order, each
	// about chunkSize: one growing slice would be copied whole, on the
	// loop, every time it doubled.
	chunks  [][]byte
	size    int
	records uint64
	over    bool
}

// chunkSize is the size past which Add starts a new chunk.
const chunkSize = 1 << 20

// BeginCompaction starts a compaction: it starts a new log segment, into
// which appends go from now on. ErrBusy if another compaction runs.
func (l *Log) BeginCompaction() (*Compaction, error) {
	if err := l.usable(); err != nil {
		return nil, err
	}
	if l.compacting {
		return nil, ErrBusy
	}
	payload := binary.BigEndian.AppendUint64(nil, l.maxCounter)
	origins := make([]uint16, 0, len(l.maxSeq))
	for o := range l.maxSeq {
		origins = append(origins, o)
	}
	slices.Sort(origins)
	payload = binary.BigEndian.AppendUint32(payload, uint32(len(origins)))
	for _, o := range origins {
		payload = binary.BigEndian.AppendUint16(payload, o)
		payload = binary.BigEndian.AppendUint64(payload, l.maxSeq[o])
	}
	// The base takes a number below the new log segment's, so the manifest
	// stays in rising order. Every record appended so far goes into
	// segments before the new one: after the swap, the base covers them.
	base := segment{num: l.next, kind: kindBase}
	l.next++
	if err := l.roll(); err != nil {
		return nil, err
	}
	l.compacting = true
	return &Compaction{l: l, base: base, keepNum: l.segs[len(l.segs)-1].num, chunks: [][]byte{payload}, size: len(payload)}, nil
}

// Add appends record r to the base; an error (a record that is not
// valid) leaves the base as it was.
func (c *Compaction) Add(r Record) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("oplog: compact: %w", err)
	}
	last := &c.chunks[len(c.chunks)-1]
	if len(*last) >= chunkSize {
		c.chunks = append(c.chunks, make([]byte, 0, chunkSize+chunkSize/8))
		last = &c.chunks[len(c.chunks)-1]
	}
	n := len(*last)
	*last = appendRecord(*last, &r)
	c.size += len(*last) - n
	c.records++
	return nil
}

// Bytes is the size of the base so far, before compression.
func (c *Compaction) Bytes() int { return c.size }

// Abort drops the compaction: the log goes on as if it had not begun
// (apart from the segment it started).
func (c *Compaction) Abort() {
	if !c.over {
		c.over = true
		c.l.compacting = false
	}
}

// Finish compresses the base through Config.Offload, off the node's loop,
// then writes and fsyncs it and swaps it in through the manifest; the old
// segments are removed once the new manifest is durable, and done is
// called. A crash at any point leaves either the old log or the new one.
func (c *Compaction) Finish(done func(error)) {
	if c.over {
		done(fmt.Errorf("oplog: compact: the compaction was aborted"))
		return
	}
	c.over = true
	l, chunks := c.l, c.chunks
	// Joining the chunks, compressing them and writing the base's file
	// are the heavy part: they run off the loop, on bytes and a file the
	// loop does not touch. Appends go on meanwhile, into the new segment.
	var f disk.File
	var err error
	l.cfg.Offload(c.size, func() { f, err = l.writeBase(c.base, c.records, chunks) }, func() {
		if err == nil {
			if err = l.usable(); err != nil {
				f.Close()
				l.fs.Remove(c.base.name())
			}
		}
		if err != nil {
			l.compacting = false
			done(fmt.Errorf("oplog: compact: %w", err))
			return
		}
		l.installBase(c.base, c.keepNum, f, done)
	})
}

// compress is the one zstd configuration bases use: a fixed level and a
// single goroutine, so the same state gives the same bytes.
func compress(payload []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(payload, nil), nil
}

// writeBase joins the base's chunks, compresses them and writes the base's
// file, unsynced; off the loop, it touches nothing the loop does (the
// file system is safe for that, and the file is new).
func (l *Log) writeBase(base segment, records uint64, chunks [][]byte) (disk.File, error) {
	payload := slices.Concat(chunks...)
	z, err := compress(payload)
	if err != nil {
		return nil, err
	}
	h := baseHeader{num: base.num, records: records, rawLen: uint64(len(payload)), zLen: uint64(len(z)), zCRC: crc(z)}
	f, err := l.fs.Create(base.name())
	if err == nil {
		if err = f.Write(h.encode()); err == nil {
			err = f.Write(z)
		}
		if err != nil {
			f.Close()
			l.fs.Remove(base.name())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", base.name(), err)
	}
	return f, nil
}

// installBase fsyncs the written base, then swaps it in for every segment
// before keepNum.
func (l *Log) installBase(base segment, keepNum uint64, f disk.File, done func(error)) {
	l.stats.Fsyncs++
	f.Sync(func(err error) {
		f.Close()
		if err == nil {
			err = l.usable()
		}
		if err != nil {
			// The base is not live yet: the log itself is unharmed.
			l.fs.Remove(base.name())
			l.compacting = false
			done(fmt.Errorf("oplog: compact: fsync %s: %w", base.name(), err))
			return
		}
		i := slices.IndexFunc(l.segs, func(s segment) bool { return s.num == keepNum })
		old := slices.Clone(l.segs[:i])
		l.segs = append([]segment{base}, l.segs[i:]...)
		l.segsVer++
		l.onInstalled = append(l.onInstalled, installWaiter{ver: l.segsVer, done: func(err error) {
			l.compacting = false
			if err != nil {
				done(err)
				return
			}
			l.stats.Compacts++
			// Unlinking large files can hold the caller for a while
			// (seconds, for gigabytes): off the loop; the compaction is
			// done once they are gone, so its caller sees the space back.
			// A file left behind (a crash) is removed by the next Open.
			names := make([]string, len(old))
			for i, s := range old {
				names[i] = s.name()
			}
			l.cfg.Offload(0, func() {
				for _, name := range names {
					l.fs.Remove(name)
				}
			}, func() { done(nil) })
		}})
		l.kick()
	})
}

// replayBase replays a base segment: its high-water marks, then its records.
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
	z := data[baseHeaderLen:]
	if uint64(len(z)) != h.zLen || crc(z) != h.zCRC {
		return corrupt(baseHeaderLen, "compressed payload of %d bytes fails its checksum (header says %d bytes)", len(z), h.zLen)
	}
	if h.rawLen > 1<<40 {
		return corrupt(0, "implausible payload length %d", h.rawLen)
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
	b := w.unread()
	l.maxCounter = max(l.maxCounter, binary.BigEndian.Uint64(b))
	n := int(binary.BigEndian.Uint32(b[8:]))
	if uint64(12+10*n) > h.rawLen {
		return corrupt(baseHeaderLen, "payload too short for %d origins", n)
	}
	if b = w.fill(12 + 10*n); len(b) < 12+10*n {
		if err := failed(); err != nil {
			return err
		}
		return corrupt(baseHeaderLen, "payload too short for %d origins", n)
	}
	for i := range n {
		o, seq := binary.BigEndian.Uint16(b[12+10*i:]), binary.BigEndian.Uint64(b[12+10*i+2:])
		l.maxSeq[o] = max(l.maxSeq[o], seq)
	}
	w.consume(12 + 10*n)
	if l.cfg.Reserve != nil {
		// A record takes recHeader bytes at least: a damaged header's
		// count cannot make the caller reserve more than the payload holds.
		l.cfg.Reserve(int(min(h.records, (h.rawLen-uint64(w.off))/recHeader)))
	}
	var count uint64
	ahead := 0 // the payload offset the keys were prefetched up to
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
		if l.cfg.Prefetch != nil && w.off >= ahead {
			var n int
			keys, n = nextKeys(keys[:0], w.unread())
			l.cfg.Prefetch(keys)
			ahead = w.off + n
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

// prefetchAhead is how many records' keys replayBase prefetches at once.
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
