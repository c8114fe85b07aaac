package oplog

import (
	"encoding/binary"
	"fmt"
	"iter"
	"slices"

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
	// about chunkSize and made of whole records (the first also holds the
	// high-water marks): one growing slice would be copied whole, on the
	// loop, every time it doubled. Each becomes a frame of the base.
	chunks [][]byte
	// ready is a chunk's buffer allocated off the loop (Config.Offload),
	// for Add to fill next, and asked says one is being allocated: a
	// megabyte allocated on the loop while the collector marks makes the
	// loop assist it, for as long as 30 ms at 2M keys, with requests
	// waiting (issue 23). Add allocates on the loop only when none is
	// ready.
	ready   []byte
	asked   bool
	size    int
	records uint64
	over    bool
}

// chunkSize is the size past which Add starts a new chunk, and so a new
// frame of the base: large enough that zstd finds most of what it would in
// one frame, small enough that replay holds a few at once.
const chunkSize = 1 << 20

// BeginCompaction starts a compaction: it starts a new log segment, into
// which appends go from now on. ErrBusy if another compaction runs.
func (l *Log) BeginCompaction() (*Compaction, error) {
	// What is buffered goes into the segments the base replaces, and its
	// marks into the base, as if written at once (its callbacks wait for
	// Flush).
	l.writePending()
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
		next := c.ready
		if next == nil {
			next = make([]byte, 0, chunkSize+chunkSize/8)
		}
		c.ready = nil
		c.chunks = append(c.chunks, next)
		last = &c.chunks[len(c.chunks)-1]
		c.allocate()
	}
	n := len(*last)
	*last = appendRecord(*last, &r)
	c.size += len(*last) - n
	c.records++
	return nil
}

// allocate has the next chunk's buffer allocated off the loop, unless one
// is ready or asked for.
func (c *Compaction) allocate() {
	if c.ready != nil || c.asked {
		return
	}
	c.asked = true
	var b []byte
	c.l.cfg.Offload(0, func() { b = make([]byte, 0, chunkSize+chunkSize/8) }, func() {
		c.asked = false
		if !c.over {
			c.ready = b
		}
	})
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
// each chunk to a frame of its own, then writes and fsyncs it and swaps it
// in through the manifest; the old segments are removed once the new
// manifest is durable, and done is called. A crash at any point leaves
// either the old log or the new one. The chunks are the offloaded work's
// from then on: it drops each once compressed.
func (c *Compaction) Finish(done func(error)) {
	if c.over {
		done(fmt.Errorf("oplog: compact: the compaction was aborted"))
		return
	}
	c.over = true
	c.ready = nil
	l, chunks := c.l, c.chunks
	c.chunks = nil
	// Compressing the chunks and writing the base's file are the heavy
	// part: they run off the loop, on bytes and a file the loop does not
	// touch. Appends go on meanwhile, into the new segment.
	var f disk.File
	var err error
	l.cfg.Offload(c.size, func() { f, err = l.writeBase(c.base, c.records, c.size, chunks) }, func() {
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
