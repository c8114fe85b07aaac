package disk

import (
	"fmt"
	"slices"
)

// memFile is an open handle on a Mem file. It writes to the inode it was
// opened on, whatever names it has since been given or lost, as a POSIX
// file descriptor does.
type memFile struct {
	m      *Mem
	in     *inode
	name   string
	epoch  uint64
	closed bool
}

func (f *memFile) check(op string) error {
	if f.closed || f.epoch != f.m.epoch {
		return fmt.Errorf("disk: %s %s: %w", op, f.name, ErrClosed)
	}
	return nil
}

// Write appends p. Past the capacity fault it appends what fits and fails
// with ErrNoSpace.
func (f *memFile) Write(p []byte) error {
	if err := f.check("write"); err != nil {
		return err
	}
	if c := f.m.faults.Capacity; c > 0 {
		if room := c - f.m.Used(); room < int64(len(p)) {
			f.in.data = append(f.in.data, p[:max(room, 0)]...)
			f.m.stats.NoSpace++
			return fmt.Errorf("disk: write %s: %w", f.name, ErrNoSpace)
		}
	}
	f.in.data = append(f.in.data, p...)
	f.m.stats.Writes++
	f.m.stats.BytesWritten += int64(len(p))
	return nil
}

// Sync makes the file's current length durable when the scheduled callback
// runs, unless a crash comes first or the sync fails.
func (f *memFile) Sync(done func(error)) {
	m := f.m
	if err := f.check("sync"); err != nil {
		m.schedule(func() { done(err) })
		return
	}
	m.seq++
	in, epoch := f.in, m.epoch
	req := &memSync{seq: m.seq, snap: len(in.data)}
	in.pending = append(in.pending, req)
	name := f.name
	m.schedule(func() {
		if m.epoch != epoch {
			return
		}
		in.pending = slices.DeleteFunc(in.pending, func(r *memSync) bool { return r == req })
		if m.failSync() {
			done(fmt.Errorf("disk: sync %s: %w", name, ErrIO))
			return
		}
		if req.seq > in.applied {
			k := min(in.common, req.snap, len(in.durable))
			in.durable = append(in.durable[:k], in.data[k:req.snap]...)
			in.common, in.applied = req.snap, req.seq
		}
		m.stats.Syncs++
		done(nil)
	})
}

// Truncate cuts the file to size bytes, or extends it with zeros. The new
// length is durable only after a later Sync completes.
func (f *memFile) Truncate(size int64) error {
	if err := f.check("truncate"); err != nil {
		return err
	}
	in := f.in
	if size < 0 {
		return fmt.Errorf("disk: truncate %s: negative size %d", f.name, size)
	}
	if size <= int64(len(in.data)) {
		in.data = in.data[:size]
	} else {
		in.data = append(in.data, make([]byte, size-int64(len(in.data)))...)
	}
	n := int(size)
	in.common = min(in.common, n)
	for _, r := range in.pending {
		r.snap = min(r.snap, n)
	}
	return nil
}

// Size returns the file's length, synced or not.
func (f *memFile) Size() int64 { return int64(len(f.in.data)) }

// Close releases the handle. Syncs already requested still complete.
func (f *memFile) Close() error {
	if err := f.check("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}
