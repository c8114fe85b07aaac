package oplog

import (
	"encoding/binary"
	"fmt"
	"iter"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Compact replaces every segment so far with a base segment holding state:
// the live state as of now (the latest version of each key, and the
// tombstones that must still be kept), in the order state yields it, which
// should be sorted so that the file is deterministic. State must cover
// every record appended before the call, committed or not: the segments
// holding a record whose sync is still in flight are replaced too. The base also keeps
// the log's high-water marks (Lamport counter, sequence per origin), so
// Open's report does not go backward.
//
// Compact starts a new log segment, writes and fsyncs the base, then swaps
// it in through the manifest; the old segments are removed once the new
// manifest is durable, and done is called. A crash at any point leaves
// either the old log or the new one. Compact must not be called while
// another compaction runs (ErrBusy). State is read before Compact returns;
// the compression runs through Config.Offload, off the node's loop.
func (l *Log) Compact(state iter.Seq[Record], done func(error)) error {
	if err := l.usable(); err != nil {
		return err
	}
	if l.compacting {
		return ErrBusy
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
	var records uint64
	for r := range state {
		if err := r.validate(); err != nil {
			return fmt.Errorf("oplog: compact: %w", err)
		}
		payload = appendRecord(payload, &r)
		records++
	}
	// The base takes a number below the new log segment's, so the manifest
	// stays in rising order. Every record appended so far goes into
	// segments before the new one: after the swap, the base covers them.
	base := segment{num: l.next, kind: kindBase}
	l.next++
	if err := l.roll(); err != nil {
		return err
	}
	keepNum := l.segs[len(l.segs)-1].num
	l.compacting = true

	// Compression is the heavy part: it runs off the loop, on a payload
	// the loop no longer touches. Appends go on meanwhile, into the new
	// segment.
	var z []byte
	var zerr error
	l.cfg.Offload(len(payload), func() { z, zerr = compress(payload) }, func() {
		if zerr == nil {
			zerr = l.usable()
		}
		if zerr != nil {
			l.compacting = false
			done(fmt.Errorf("oplog: compact: %w", zerr))
			return
		}
		l.writeBase(base, keepNum, records, payload, z, done)
	})
	return nil
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

// writeBase writes and fsyncs the compressed base, then swaps it in for
// every segment before keepNum.
func (l *Log) writeBase(base segment, keepNum uint64, records uint64, payload, z []byte, done func(error)) {
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
		l.compacting = false
		done(fmt.Errorf("oplog: compact: write %s: %w", base.name(), err))
		return
	}
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
			if err == nil {
				l.stats.Compacts++
				for _, s := range old {
					// A file left behind is removed by the next Open.
					l.fs.Remove(s.name())
				}
			}
			done(err)
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
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(max(h.rawLen, 1<<20)))
	if err != nil {
		return fmt.Errorf("oplog: replay %s: %w", s.name(), err)
	}
	defer dec.Close()
	p, err := dec.DecodeAll(z, make([]byte, 0, h.rawLen))
	if err != nil || uint64(len(p)) != h.rawLen {
		return corrupt(baseHeaderLen, "payload does not decompress to %d bytes: %v", h.rawLen, err)
	}
	// Offsets below are in the decompressed payload.
	if len(p) < 12 {
		return corrupt(baseHeaderLen, "payload of %d bytes", len(p))
	}
	l.maxCounter = max(l.maxCounter, binary.BigEndian.Uint64(p))
	n := int(binary.BigEndian.Uint32(p[8:]))
	off := 12
	if len(p)-off < 10*n {
		return corrupt(baseHeaderLen, "payload too short for %d origins", n)
	}
	for range n {
		o, seq := binary.BigEndian.Uint16(p[off:]), binary.BigEndian.Uint64(p[off+2:])
		l.maxSeq[o] = max(l.maxSeq[o], seq)
		off += 10
	}
	var count uint64
	for off < len(p) {
		r, size, st := decodeRecord(p[off:])
		if st != decodeOK {
			return corrupt(baseHeaderLen, "payload offset %d: %s", off, describe(st))
		}
		if err := l.replayRecord(r, apply, rep); err != nil {
			return fmt.Errorf("oplog: replay %s payload offset %d: %w", s.name(), off, err)
		}
		off += size
		count++
	}
	if count != h.records {
		return corrupt(baseHeaderLen, "%d records, header says %d", count, h.records)
	}
	return nil
}
