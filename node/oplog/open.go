package oplog

import (
	"errors"
	"fmt"

	"github.com/memdb/memdb/disk"
)

// Report says what Open found.
type Report struct {
	// Fresh is true if there was no log: a new one was started.
	Fresh bool
	// Segments lists the live segments replayed, in order.
	Segments []string
	// Records counts the records passed to apply; Bytes the bytes read.
	Records int
	Bytes   int64
	// MaxCounter is the highest Lamport counter in the log (records and the
	// base's high-water mark): start the node's clock after it so it never
	// goes backward across a restart.
	MaxCounter uint64
	// MaxSeq is the highest sequence number seen per origin node.
	MaxSeq map[uint16]uint64
	// Torn, if not nil, describes the torn tail cut off the last segment.
	Torn *Torn
	// Removed lists files no manifest referred to (leftovers of a crash
	// during a roll or a compaction), which Open deleted.
	Removed []string
}

// Torn is a torn tail: the bytes from Offset to the end of Segment, which
// held no complete record and were cut off.
type Torn struct {
	Segment string
	Offset  int64
	Bytes   int64
}

// Open replays the log in fs, passing every record to apply in log order,
// and returns the log ready for appending. A fresh directory gets a new log.
//
// A torn tail of the last segment (what a crash leaves of writes not yet
// synced) is cut off and described in the report. Any other damage stops
// the replay with an error wrapping ErrCorrupt that names the file and the
// offset: nothing is ever skipped. An error from apply stops it too, and is
// returned wrapped.
//
// apply must not keep a record's slices past its return: they may be
// overwritten then (a base is read through a window, reused); it copies
// what it keeps. Open must run on the node's loop; it starts a first
// durability round, whose callbacks arrive there later.
func Open(fs disk.FS, cfg Config, apply func(Record) error) (*Log, Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, Report{}, err
	}
	l := &Log{fs: fs, cfg: cfg, maxSeq: make(map[uint16]uint64)}
	rep := Report{}
	names, err := fs.List()
	if err != nil {
		return nil, rep, fmt.Errorf("oplog: open: %w", err)
	}
	raw, err := fs.ReadFile(manifestName)
	var man manifest
	switch {
	case errors.Is(err, disk.ErrNotExist):
		if man, err = l.fresh(names); err != nil {
			return nil, rep, err
		}
		rep.Fresh = true
	case err != nil:
		return nil, rep, fmt.Errorf("oplog: open: %w", err)
	default:
		if man, err = decodeManifest(raw); err != nil {
			return nil, rep, fmt.Errorf("%w: %s: %v", ErrCorrupt, manifestName, err)
		}
	}

	var tornAt int64 = -1
	if !rep.Fresh {
		for i, s := range man.segs {
			data, err := fs.ReadFile(s.name())
			if errors.Is(err, disk.ErrNotExist) {
				return nil, rep, fmt.Errorf("%w: %s is listed in %s but missing", ErrCorrupt, s.name(), manifestName)
			}
			if err != nil {
				return nil, rep, fmt.Errorf("oplog: replay: %w", err)
			}
			rep.Segments = append(rep.Segments, s.name())
			rep.Bytes += int64(len(data))
			if s.kind == kindBase {
				err = l.replayBase(s, data, apply, &rep)
			} else {
				tornAt, err = l.replayLog(s, data, i == len(man.segs)-1, apply, &rep)
			}
			if err != nil {
				return nil, rep, err
			}
		}
	}
	rep.MaxCounter = l.maxCounter
	rep.MaxSeq = make(map[uint16]uint64, len(l.maxSeq))
	for o, s := range l.maxSeq {
		rep.MaxSeq[o] = s
	}

	// Files no manifest refers to cannot hold a record anyone was told is
	// durable: a roll or compaction lists its files only once they are.
	live := make(map[string]bool)
	for _, s := range man.segs {
		live[s.name()] = true
	}
	l.next = man.next
	for _, name := range names {
		s, isSeg := parseName(name)
		if isSeg {
			l.next = max(l.next, s.num+1)
		}
		if (isSeg || name == manifestTemp) && !live[name] {
			if err := fs.Remove(name); err != nil && !errors.Is(err, disk.ErrNotExist) {
				return nil, rep, fmt.Errorf("oplog: remove leftover %s: %w", name, err)
			}
			rep.Removed = append(rep.Removed, name)
		}
	}

	last := man.segs[len(man.segs)-1]
	if rep.Fresh {
		l.cur, err = fs.Create(last.name())
		if err == nil {
			err = l.cur.Write(logHeader(last.num))
		}
	} else {
		l.cur, err = fs.OpenAppend(last.name())
		if err == nil && tornAt >= 0 {
			rep.Torn = &Torn{Segment: last.name(), Offset: tornAt, Bytes: l.cur.Size() - tornAt}
			err = l.cur.Truncate(tornAt)
		}
	}
	if err != nil {
		return nil, rep, fmt.Errorf("oplog: open %s: %w", last.name(), err)
	}
	// Whatever was read may still sit unsynced in the page cache (a process
	// restart is not a power loss), so the first round syncs the last
	// segment and rewrites the manifest before anything new is promised.
	l.segs = man.segs
	l.segsVer, l.instVer = 1, 0
	l.curDirty = true
	l.kick()
	return l, rep, nil
}

// fresh checks that a directory without MANIFEST holds no records, and
// returns the manifest of a new log. Segment files may exist without a
// manifest only if a crash came before the first one was durable, in which
// case they hold no record anyone was told is durable; but a segment with
// records and no manifest more likely means a lost MANIFEST, so Open refuses
// rather than start over.
func (l *Log) fresh(names []string) (manifest, error) {
	var next uint64 = 1
	for _, name := range names {
		s, ok := parseName(name)
		if !ok {
			continue
		}
		next = max(next, s.num+1)
		data, err := l.fs.ReadFile(name)
		if err != nil {
			return manifest{}, fmt.Errorf("oplog: open: %w", err)
		}
		if s.kind != kindLog || len(data) > logHeaderLen {
			return manifest{}, fmt.Errorf("%w: %s holds data but there is no %s", ErrCorrupt, name, manifestName)
		}
	}
	return manifest{segs: []segment{{num: next, kind: kindLog}}, next: next + 1}, nil
}

// replayLog replays one log segment. In the last segment, damage that no
// valid record follows is a torn tail: its offset is returned, -1 if none.
func (l *Log) replayLog(s segment, data []byte, last bool, apply func(Record) error, rep *Report) (int64, error) {
	if err := checkLogHeader(data, s.num); err != nil {
		return -1, fmt.Errorf("%w: %s offset 0: %v", ErrCorrupt, s.name(), err)
	}
	off := logHeaderLen
	for off < len(data) {
		r, n, st := decodeRecord(data[off:])
		switch {
		case st == decodeOK:
		case st == decodeUnknown:
			return -1, fmt.Errorf("%w: %s offset %d: record of unknown type %d (written by a newer version?)", ErrCorrupt, s.name(), off, r.Type)
		case last && !validRecordFrom(data, off+1):
			return int64(off), nil
		default:
			return -1, fmt.Errorf("%w: %s offset %d: %s", ErrCorrupt, s.name(), off, describe(st))
		}
		if err := l.replayRecord(r, apply, rep); err != nil {
			return -1, fmt.Errorf("oplog: replay %s offset %d: %w", s.name(), off, err)
		}
		off += n
	}
	return -1, nil
}

func (l *Log) replayRecord(r Record, apply func(Record) error, rep *Report) error {
	l.observe(markOf(&r))
	rep.Records++
	return apply(r)
}

func describe(st decodeStatus) string {
	switch st {
	case decodeShort:
		return "record runs past the end of the segment"
	case decodeBadLength:
		return "impossible record length"
	}
	return "record checksum mismatch"
}

// validRecordFrom reports whether a record with a valid checksum starts at
// any offset from off on. Damage followed by one is not a torn tail, since a
// crash tears only the end of what it keeps.
func validRecordFrom(data []byte, off int) bool {
	for p := off; p+recHeader <= len(data); p++ {
		if _, _, st := decodeRecord(data[p:]); st == decodeOK || st == decodeUnknown {
			return true
		}
	}
	return false
}
