package disk

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
)

// Mem is the simulator's disk: an FS held in memory that can lose power.
//
// Durability model. Bytes and directory changes become durable only when the
// callback of a Sync or SyncDir actually runs, not when it is called; each
// such call covers what was done before it, never after. A Sync that
// completes after a later one has completed makes nothing less durable.
//
// Crash (power loss) then applies these rules:
//
//   - The directory reverts to its state at the last completed SyncDir:
//     creates, renames and removes made since are undone. A file whose name
//     was never made durable by a SyncDir is gone, even if its data was
//     synced (the rule of Pebble's MemFS and of POSIX: fsync of a new file
//     does not persist its directory entry).
//   - Each surviving file keeps its synced content. Of its unsynced tail the
//     PRNG decides, with equal odds: keep it all, drop it all, keep a prefix,
//     or keep a prefix whose last bytes (up to 64) are garbage, a torn write.
//     A truncation not yet synced is kept or undone with equal odds.
//   - Every open File becomes invalid (ErrClosed) and no callback scheduled
//     before the crash runs afterwards.
//
// Faults are off until SetFaults switches them on. Everything Mem decides is
// drawn from its rng in an order fixed by the calls made (names are visited
// sorted), so the same seed and the same calls give the same disk.
//
// Mem is not safe for concurrent use: the simulator calls it from one
// goroutine. Callbacks are passed to schedule, which decides when they run.
type Mem struct {
	rng      *rand.Rand
	schedule func(f func())
	faults   Faults
	stats    Stats

	names   map[string]*inode // the directory as the running node sees it
	durable map[string]*inode // the directory as of the last completed SyncDir

	epoch      uint64 // bumped by Crash: handles and callbacks of older epochs are void
	seq        uint64 // orders sync requests, so an older one never undoes a newer
	dirApplied uint64 // seq of the SyncDir whose snapshot durable is
}

var _ FS = (*Mem)(nil)

// Faults are the disk faults Mem injects. The zero value injects none.
type Faults struct {
	// SyncErrorRate is the probability, 0..1, that a Sync or SyncDir
	// completes with ErrIO and makes nothing durable.
	SyncErrorRate float64
	// Capacity bounds the bytes held by all files, in bytes; 0 is unlimited.
	// A write that does not fit writes what fits and fails with ErrNoSpace.
	Capacity int64
}

// Stats counts what Mem did, for the simulator's coverage probes.
type Stats struct {
	Writes       int64 // successful Write calls
	BytesWritten int64
	Syncs        int64 // File.Sync calls that completed without error
	SyncDirs     int64 // SyncDir calls that completed without error
	SyncErrors   int64 // Sync or SyncDir calls failed by the SyncErrorRate fault
	NoSpace      int64 // writes refused (in whole or part) for capacity
	Crashes      int64
	TailsKept    int64 // files whose unsynced tail survived a crash whole
	TailsDropped int64 // ... was lost whole
	TailsCut     int64 // ... was cut to a prefix
	TailsTorn    int64 // ... was cut to a prefix ending in garbage
	LostBytes    int64 // unsynced bytes lost in crashes
	DirUndone    int64 // names whose entry a crash reverted
	BitFlips     int64
}

// inode is a file's storage, shared by every name and handle that refer to it.
type inode struct {
	data    []byte // what a reader sees
	durable []byte // what survives a crash for sure; never aliases data
	// common is a length up to which data and durable are known equal.
	common  int
	applied uint64 // seq of the Sync whose snapshot durable is
	pending []*memSync
}

// memSync is a Sync request not yet completed: snap is the file length it
// will make durable, lowered if the file is truncated meanwhile.
type memSync struct {
	seq  uint64
	snap int
}

// NewMem returns an empty disk drawing its decisions from rng and running
// callbacks through schedule.
func NewMem(rng *rand.Rand, schedule func(f func())) *Mem {
	return &Mem{
		rng:      rng,
		schedule: schedule,
		names:    make(map[string]*inode),
		durable:  make(map[string]*inode),
	}
}

// SetSchedule rebinds where callbacks go, for a node restarted after Crash.
func (m *Mem) SetSchedule(schedule func(f func())) { m.schedule = schedule }

// SetFaults switches faults on or off.
func (m *Mem) SetFaults(f Faults) { m.faults = f }

// Stats returns the counters so far.
func (m *Mem) Stats() Stats { return m.stats }

// Used returns the bytes held by the files in the directory, durable or not.
func (m *Mem) Used() int64 {
	seen := make(map[*inode]bool)
	var n int64
	for _, dir := range []map[string]*inode{m.names, m.durable} {
		for _, in := range dir {
			if !seen[in] {
				seen[in] = true
				n += int64(max(len(in.data), len(in.durable)))
			}
		}
	}
	return n
}

// List returns the names of the files, sorted.
func (m *Mem) List() ([]string, error) {
	return slices.Sorted(maps.Keys(m.names)), nil
}

// ReadFile returns a copy of the file's contents.
func (m *Mem) ReadFile(name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	in, ok := m.names[name]
	if !ok {
		return nil, fmt.Errorf("disk: read %s: %w", name, ErrNotExist)
	}
	return slices.Clone(in.data), nil
}

// Create opens a new, empty file, replacing any file of that name.
func (m *Mem) Create(name string) (File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	in := &inode{}
	m.names[name] = in
	return &memFile{m: m, in: in, name: name, epoch: m.epoch}, nil
}

// OpenAppend opens a file for appending, creating it if absent.
func (m *Mem) OpenAppend(name string) (File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	in, ok := m.names[name]
	if !ok {
		return m.Create(name)
	}
	return &memFile{m: m, in: in, name: name, epoch: m.epoch}, nil
}

// Rename atomically replaces to with from.
func (m *Mem) Rename(from, to string) error {
	if err := checkName(from); err != nil {
		return err
	}
	if err := checkName(to); err != nil {
		return err
	}
	in, ok := m.names[from]
	if !ok {
		return fmt.Errorf("disk: rename %s: %w", from, ErrNotExist)
	}
	delete(m.names, from)
	m.names[to] = in
	return nil
}

// Remove deletes a file.
func (m *Mem) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, ok := m.names[name]; !ok {
		return fmt.Errorf("disk: remove %s: %w", name, ErrNotExist)
	}
	delete(m.names, name)
	return nil
}

// SyncDir makes the directory as it is now durable when the scheduled
// callback runs, unless a crash comes first or the sync fails.
func (m *Mem) SyncDir(done func(error)) {
	m.seq++
	seq, epoch, snap := m.seq, m.epoch, maps.Clone(m.names)
	m.schedule(func() {
		if m.epoch != epoch {
			return
		}
		if m.failSync() {
			done(fmt.Errorf("disk: sync directory: %w", ErrIO))
			return
		}
		if seq > m.dirApplied {
			m.durable, m.dirApplied = snap, seq
		}
		m.stats.SyncDirs++
		done(nil)
	})
}

// failSync draws whether a sync fails. It draws nothing while the fault is
// off, so switching it on does not shift the PRNG stream before it.
func (m *Mem) failSync() bool {
	if m.faults.SyncErrorRate > 0 && m.rng.Float64() < m.faults.SyncErrorRate {
		m.stats.SyncErrors++
		return true
	}
	return false
}

// FlipBit flips one bit, chosen by the PRNG, of the byte at offset in the
// file's synced content (and in what readers see): media corruption.
func (m *Mem) FlipBit(name string, offset int64) error {
	in, ok := m.names[name]
	if !ok {
		return fmt.Errorf("disk: flip bit in %s: %w", name, ErrNotExist)
	}
	if offset < 0 || offset >= int64(len(in.durable)) {
		return fmt.Errorf("disk: flip bit in %s: offset %d outside its %d synced bytes", name, offset, len(in.durable))
	}
	mask := byte(1) << m.rng.IntN(8)
	in.durable[offset] ^= mask
	if offset < int64(len(in.data)) {
		in.data[offset] ^= mask
	}
	m.stats.BitFlips++
	return nil
}

// Wipe replaces the disk with an empty one, as if the node got a new drive.
// Open files become invalid, as after Crash.
func (m *Mem) Wipe() {
	m.epoch++
	m.names = make(map[string]*inode)
	m.durable = make(map[string]*inode)
}

// Crash loses power: see the type's comment for what survives.
func (m *Mem) Crash() {
	m.epoch++
	m.stats.Crashes++
	for _, name := range slices.Sorted(maps.Keys(mergeKeys(m.names, m.durable))) {
		if m.names[name] != m.durable[name] {
			m.stats.DirUndone++
		}
	}
	after := make(map[string]*inode, len(m.durable))
	for _, name := range slices.Sorted(maps.Keys(m.durable)) {
		after[name] = m.crashFile(m.durable[name])
	}
	m.names, m.durable = after, maps.Clone(after)
}

func mergeKeys(a, b map[string]*inode) map[string]bool {
	s := make(map[string]bool, len(a)+len(b))
	for k := range a {
		s[k] = true
	}
	for k := range b {
		s[k] = true
	}
	return s
}

// crashFile returns what of in is on the platter after power loss.
func (m *Mem) crashFile(in *inode) *inode {
	base, tail := in.durable, []byte(nil)
	switch {
	case in.common >= len(in.durable):
		tail = in.data[len(in.durable):]
	case m.rng.IntN(2) == 0: // a truncation since the last sync is undone
		m.stats.LostBytes += int64(len(in.data) - in.common)
	default: // ... or persisted, with whatever was appended after it
		base, tail = in.data[:in.common], in.data[in.common:]
	}
	out := slices.Clone(base)
	if len(tail) > 0 {
		keep, torn := len(tail), 0
		switch m.rng.IntN(4) {
		case 0:
			m.stats.TailsKept++
		case 1:
			keep = 0
			m.stats.TailsDropped++
		case 2:
			keep = m.rng.IntN(len(tail))
			m.stats.TailsCut++
		case 3:
			keep = 1 + m.rng.IntN(len(tail))
			torn = 1 + m.rng.IntN(min(keep, maxTorn))
			m.stats.TailsTorn++
		}
		out = append(out, tail[:keep]...)
		for i := len(out) - torn; i < len(out); i++ {
			out[i] = byte(m.rng.Uint32())
		}
		m.stats.LostBytes += int64(len(tail) - keep)
	}
	return &inode{data: out, durable: slices.Clone(out), common: len(out)}
}

// maxTorn bounds the garbage at the end of a torn write, in bytes.
const maxTorn = 64
