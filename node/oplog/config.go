package oplog

import (
	"errors"
	"fmt"
	"time"

	"github.com/memdb/memdb/clock"
)

// Mode is when the log fsyncs.
type Mode uint8

// Fsync modes.
const (
	// Always: Commit's callback runs only once the records are durable.
	// Commits that arrive while an fsync is in flight share the next one
	// (group commit).
	Always Mode = iota + 1
	// EverySec: Commit's callback runs at once; the log fsyncs what is
	// unsynced every Config.SyncInterval. A crash loses up to that much.
	EverySec
	// None: Commit's callback runs at once; the log fsyncs only on Sync,
	// and when a segment is rolled (which needs the old one durable).
	None
)

func (m Mode) String() string {
	switch m {
	case Always:
		return "always"
	case EverySec:
		return "everysec"
	case None:
		return "none"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses "always", "everysec" or "none".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Always, EverySec, None} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("oplog: unknown fsync mode %q (want always, everysec or none)", s)
}

// Config configures a Log.
type Config struct {
	// Mode is when to fsync. Default Always.
	Mode Mode
	// Clock schedules the EverySec fsyncs; its callbacks must run on the
	// node's loop. Required for EverySec, unused otherwise.
	Clock clock.Clock
	// SyncInterval is the EverySec period. Default one second.
	SyncInterval time.Duration
	// SegmentSize is the size in bytes past which appends go to a new
	// segment. Default 64 MiB.
	SegmentSize int64
	// Coalesce makes Append buffer its records instead of writing them:
	// Flush writes everything buffered in one write, and Commit (under
	// EverySec and None) and Written call back only once it has. The
	// caller must Flush at the end of every event of its loop (the live
	// host and the simulator do), or commits wait for ever. Off, Append
	// writes at once and Flush has nothing to do.
	Coalesce bool
	// Offload runs a compaction's heavy part off the node's loop —
	// compressing the base's chunks, writing the base's file (which the
	// FS must allow from another goroutine: disk.OS does) — work on
	// any goroutine, then done on the loop (done may be nil: nothing to do
	// after); cost is the bytes to compress (0 for the old segments'
	// removal). Nil runs both at once, inline.
	Offload func(cost int, work, done func())
	// Async starts work, which may run on another goroutine, concurrently
	// with the caller and with other work Async started, and returns a
	// function that waits until work has returned. Open uses it to
	// decompress a base's next frames while it applies the current one
	// (at most a few at once, each a frame's worth of memory); work
	// touches only what it was handed, and Open waits for all of it
	// before it returns. Async and wait are called on the node's loop,
	// which Open holds meanwhile, so nothing can be posted to it (why this
	// is not Offload). Nil runs work at once, inline, as the simulator
	// does.
	Async func(work func()) (wait func())
	// Reserve, if not nil, is told by Open how many records a base holds
	// before they are replayed (at most that many reach apply), so that
	// whoever applies them can size its tables for them at once. It runs
	// on the node's loop; nil does nothing.
	Reserve func(records int)
	// Prefetch, if not nil, is given the keys of a base's next records,
	// a few at a time, ahead of their replay, so that whoever applies
	// them can read what it will look up for them all at once: their
	// cache misses overlap rather than come one record at a time. It runs
	// on the node's loop and must not keep the keys; nil does nothing.
	Prefetch func(keys [][]byte)
}

// DefaultConfig returns the defaults: fsync always, 64 MiB segments.
func DefaultConfig() Config {
	return Config{Mode: Always, SyncInterval: time.Second, SegmentSize: 64 << 20}
}

// Validate fills unset fields with defaults and reports what is wrong.
func (c *Config) Validate() error {
	d := DefaultConfig()
	if c.Mode == 0 {
		c.Mode = d.Mode
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = d.SyncInterval
	}
	if c.SegmentSize == 0 {
		c.SegmentSize = d.SegmentSize
	}
	if c.Offload == nil {
		c.Offload = func(_ int, work, done func()) {
			work()
			if done != nil {
				done()
			}
		}
	}
	if c.Async == nil {
		c.Async = func(work func()) func() {
			work()
			return func() {}
		}
	}
	var errs []error
	if c.Mode > None {
		errs = append(errs, fmt.Errorf("oplog: config: unknown mode %d", c.Mode))
	}
	if c.Mode == EverySec && c.Clock == nil {
		errs = append(errs, errors.New("oplog: config: mode everysec needs a Clock"))
	}
	if c.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("oplog: config: negative SyncInterval %v", c.SyncInterval))
	}
	if c.SegmentSize < 0 {
		errs = append(errs, fmt.Errorf("oplog: config: negative SegmentSize %d", c.SegmentSize))
	}
	return errors.Join(errs...)
}
