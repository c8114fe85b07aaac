package oplog

import (
	"fmt"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
)

// Log is a node's operation log, open for appending. It is not safe for
// concurrent use: the node calls it from its loop, and the disk delivers its
// completions there too.
//
// Durability works in rounds. A round notes how many records have been
// appended, fsyncs every segment file holding unsynced bytes, then, if the
// list of live segments changed, installs a new manifest (write a temporary
// file, fsync it, rename it over MANIFEST, fsync the directory). When all of
// that has completed, every record appended before the round began is
// durable, and the callbacks waiting for them run in order. Only one round
// is in flight at a time; whatever arrives meanwhile waits for the next one,
// which is what groups many commits under one fsync.
//
// A failed fsync or manifest write breaks the log for good (ErrBroken):
// after a failed fsync the kernel may have dropped the dirty pages, so what
// is durable is unknown, and the only honest recovery is to restart and
// replay what the disk really holds.
type Log struct {
	fs  disk.FS
	cfg Config

	segs    []segment // live segments, in replay order; the last is cur
	segsVer uint64    // bumped at every change to segs
	instVer uint64    // the version of segs known durable as MANIFEST
	next    uint64    // next segment number

	cur      disk.File
	curDirty bool         // cur holds bytes no round has yet synced
	sealed   []sealedFile // segments rolled away, to be synced and closed

	appended uint64 // records appended so far
	durable  uint64 // of those, how many are known durable
	waiters  []waiter
	round    bool // a round is in flight
	err      error
	closed   bool

	timer       clock.Timer // pending EverySec round
	compacting  bool
	onInstalled []installWaiter

	maxCounter uint64
	maxSeq     map[uint16]uint64

	buf   []byte
	marks []mark // the marks of what buf holds
	stats Stats

	// pend holds the records appended and not yet written
	// (Config.Coalesce), pendMarks their marks, and written the callbacks
	// waiting for them to be written.
	pend      []byte
	pendMarks []mark
	written   []func(error)
	// wrote are the callbacks whose records were written (or failed to
	// be) and that wait for Flush to run them; wroteSpare is the slice it
	// ran last, to reuse.
	wrote, wroteSpare []wrote
}

type wrote struct {
	done func(error)
	err  error
}

type sealedFile struct {
	f     disk.File
	dirty bool
}

type waiter struct {
	upto uint64
	done func(error)
}

type installWaiter struct {
	ver  uint64
	done func(error)
}

// Stats counts what the log did.
type Stats struct {
	Records  int64 // appended
	Bytes    int64 // appended, framing included
	Rounds   int64 // durability rounds completed
	Fsyncs   int64 // file fsyncs requested (segments and manifest)
	Installs int64 // manifests installed
	Rolls    int64 // new segments started
	Compacts int64 // compactions installed
}

// Stats returns the counters so far.
func (l *Log) Stats() Stats { return l.stats }

// Append adds records to the log. Either all are appended or, on error,
// none. They are durable only once a Commit or Sync callback says so.
//
// Without Config.Coalesce they are written to the current segment at once,
// in one write: a failed write (such as disk.ErrNoSpace) is cut off again
// and returned, wrapped in ErrNotLogged, and the log stays usable, unless
// the cut fails too. With it they are only buffered, and the next Flush
// writes them with everything else buffered: that write's failure is
// cut off the same way and reported to the callbacks waiting for it.
func (l *Log) Append(recs ...Record) error {
	if err := l.usable(); err != nil {
		return err
	}
	for i := range recs {
		if err := recs[i].validate(); err != nil {
			return err
		}
	}
	if l.cfg.Coalesce {
		for i := range recs {
			l.pend = appendRecord(l.pend, &recs[i])
			l.pendMarks = append(l.pendMarks, markOf(&recs[i]))
		}
		return nil
	}
	l.buf = l.buf[:0]
	marks := l.marks[:0]
	for i := range recs {
		l.buf = appendRecord(l.buf, &recs[i])
		marks = append(marks, markOf(&recs[i]))
	}
	l.marks = marks
	err := l.write(l.buf, marks)
	if cap(l.buf) > 1<<20 {
		l.buf = nil // do not pin a large buffer
	}
	return err
}

// write writes b, the encoding of records whose marks are marks, to the
// current segment in one write, and does what an append does after: count
// them, raise the high-water marks, roll a full segment, arm the EverySec
// timer. A failed write is cut off again (ErrNotLogged).
func (l *Log) write(b []byte, marks []mark) error {
	size := l.cur.Size()
	if err := l.cur.Write(b); err != nil {
		if terr := l.cur.Truncate(size); terr != nil {
			l.fail(fmt.Errorf("cut a failed append off %s: %w", l.segs[len(l.segs)-1].name(), terr))
		}
		return fmt.Errorf("%w: %w", ErrNotLogged, err)
	}
	l.curDirty = true
	l.appended += uint64(len(marks))
	l.stats.Records += int64(len(marks))
	l.stats.Bytes += int64(len(b))
	for _, m := range marks {
		l.observe(m)
	}
	if l.cur.Size() >= l.cfg.SegmentSize {
		// The records are appended whatever happens here: if the new
		// segment cannot be started (a full disk), this one grows and the
		// next append tries again.
		_ = l.roll()
	}
	if l.cfg.Mode == EverySec && l.timer == nil {
		l.timer = l.cfg.Clock.AfterFunc(l.cfg.SyncInterval, func() {
			l.timer = nil
			l.kick()
		})
	}
	return nil
}

// Flush writes the records appended since the last write (Config.Coalesce)
// in one write, then runs the callbacks that waited for it (Commit under
// EverySec and None, Written) in order, with the write's error if it
// failed: the records were then cut off again, and the log is usable
// unless the cut failed too (ErrBroken). Callbacks may append: Flush
// writes again until nothing is buffered. It returns the first error.
//
// A caller that coalesces calls it at the end of every event of its loop,
// before anything the event sent can leave: a callback is what
// acknowledges. Those callbacks run from Flush alone (or from a failure
// that breaks the log): Sync and BeginCompaction write what is buffered
// early, but leave its callbacks for Flush, so none runs in the middle of
// the caller's code.
func (l *Log) Flush() error {
	var first error
	for len(l.pend) > 0 || len(l.wrote) > 0 {
		if err := l.writePending(); first == nil {
			first = err
		}
		// The callbacks may wait again (into wrote, from the spare); ws
		// is the spare afterwards, so a flush allocates nothing.
		ws := l.wrote
		l.wrote, l.wroteSpare = l.wroteSpare[:0], nil
		for _, w := range ws {
			w.done(w.err)
		}
		clear(ws)
		l.wroteSpare = ws[:0]
	}
	return first
}

// writePending writes what is buffered, if anything, and moves the
// callbacks waiting for it to wrote, with the outcome, for Flush to run.
func (l *Log) writePending() error {
	if len(l.pend) == 0 {
		return nil
	}
	err := l.usable()
	if err == nil {
		err = l.write(l.pend, l.pendMarks)
	}
	l.dropPending()
	for _, done := range l.written {
		l.wrote = append(l.wrote, wrote{done: done, err: err})
	}
	clear(l.written)
	l.written = l.written[:0]
	return err
}

// dropPending empties the buffer of records not yet written.
func (l *Log) dropPending() {
	l.pend, l.pendMarks = l.pend[:0], l.pendMarks[:0]
	if cap(l.pend) > 1<<20 {
		l.pend = nil // do not pin a large buffer
	}
}

// Written calls done once every record appended before it is written to
// the file (whatever the mode; not necessarily durable): at once, before
// Written returns, unless Flush has records to write (Config.Coalesce);
// then from that Flush, with its error. A caller that does not wait for
// durability, but must hear of a failed write, uses it.
func (l *Log) Written(done func(error)) {
	switch {
	case len(l.pend) > 0:
		l.written = append(l.written, done)
	case len(l.wrote) > 0:
		// Written already, but earlier callbacks wait for Flush: after
		// them, in order.
		l.wrote = append(l.wrote, wrote{done: done, err: l.usable()})
	default:
		done(l.usable())
	}
}

// A mark is what of a record the high-water marks need.
type mark struct {
	counter uint64
	origin  uint16
	seq     uint64
}

func markOf(r *Record) mark { return mark{r.Stamp.Counter, r.Origin, r.Seq} }

// observe raises the high-water marks Open reports and compaction keeps,
// for a record written.
func (l *Log) observe(m mark) {
	l.maxCounter = max(l.maxCounter, m.counter)
	if m.seq > l.maxSeq[m.origin] {
		l.maxSeq[m.origin] = m.seq
	}
}

// Commit calls done once every record appended before it is as durable as
// the mode promises: under Always, after an fsync (Sync); under EverySec
// and None, once written to the file (Written: at once, unless records
// wait for Flush). done gets the error that broke the log, if one did, or
// the failed write's (ErrNotLogged).
func (l *Log) Commit(done func(error)) {
	if l.cfg.Mode != Always {
		l.Written(done)
		return
	}
	l.Sync(done)
}

// Sync calls done once every record appended before it is durable, whatever
// the mode. Paxos acceptor state and the like, which must be durable before
// a reply, use it; so does a clean shutdown. done may run before Sync
// returns if there is nothing to wait for or the log is broken. Records
// buffered (Config.Coalesce) are written first (their callbacks still
// wait for Flush); if that write fails, done gets its error at once.
func (l *Log) Sync(done func(error)) {
	if err := l.writePending(); err != nil {
		done(err)
		return
	}
	if err := l.usable(); err != nil {
		done(err)
		return
	}
	if l.appended <= l.durable && l.segsVer == l.instVer && !l.curDirty && len(l.sealed) == 0 {
		done(nil)
		return
	}
	l.waiters = append(l.waiters, waiter{upto: l.appended, done: done})
	l.kick()
}

func (l *Log) usable() error {
	if l.err != nil {
		return l.err
	}
	if l.closed {
		return ErrClosed
	}
	return nil
}

// fail breaks the log and fails everyone waiting.
func (l *Log) fail(err error) {
	if l.err != nil {
		return
	}
	l.err = fmt.Errorf("%w: %w", ErrBroken, err)
	l.round = false
	ws, iws, wws := l.waiters, l.onInstalled, l.written
	l.waiters, l.onInstalled, l.written = nil, nil, nil
	l.dropPending()
	for _, w := range ws {
		w.done(l.err)
	}
	for _, done := range wws {
		done(l.err)
	}
	for _, w := range iws {
		w.done(l.err)
	}
}

// kick starts a round unless one is in flight (its end starts the next).
func (l *Log) kick() {
	if !l.round && l.err == nil && !l.closed {
		l.startRound()
	}
}

// startRound makes durable what has been appended so far: see Log.
func (l *Log) startRound() {
	l.round = true
	target := l.appended
	ver := l.segsVer
	man := manifest{segs: slices.Clone(l.segs), next: l.next}
	var files []disk.File
	for _, s := range l.sealed {
		if s.dirty {
			files = append(files, s.f)
		} else {
			s.f.Close()
		}
	}
	sealed := files
	l.sealed = nil
	if l.curDirty {
		files = append(files, l.cur)
		l.curDirty = false
	}

	finish := func() {
		if l.err != nil {
			return
		}
		l.round = false
		l.instVer = max(l.instVer, ver)
		l.durable = max(l.durable, target)
		l.stats.Rounds++
		l.release()
		if l.err == nil && !l.closed && !l.round && (len(l.waiters) > 0 || l.segsVer > l.instVer || len(l.sealed) > 0) {
			l.startRound()
		}
	}
	afterFiles := func() {
		for _, f := range sealed {
			f.Close()
		}
		if ver > l.instVer {
			l.install(man, finish)
		} else {
			finish()
		}
	}
	if len(files) == 0 {
		afterFiles()
		return
	}
	pending := len(files)
	for _, f := range files {
		l.stats.Fsyncs++
		f.Sync(func(err error) {
			if l.err != nil {
				return
			}
			if err != nil {
				l.fail(fmt.Errorf("fsync segment: %w", err))
				return
			}
			if pending--; pending == 0 {
				afterFiles()
			}
		})
	}
}

// release runs the callbacks the round satisfied, in order.
func (l *Log) release() {
	n := 0
	for n < len(l.waiters) && l.waiters[n].upto <= l.durable {
		n++
	}
	ws := l.waiters[:n:n]
	l.waiters = l.waiters[n:]
	var iws []installWaiter
	l.onInstalled = slices.DeleteFunc(l.onInstalled, func(w installWaiter) bool {
		if w.ver <= l.instVer {
			iws = append(iws, w)
			return true
		}
		return false
	})
	for _, w := range ws {
		w.done(nil)
	}
	for _, w := range iws {
		w.done(nil)
	}
}

// install makes man the durable MANIFEST, then calls done.
func (l *Log) install(man manifest, done func()) {
	f, err := l.fs.Create(manifestTemp)
	if err == nil {
		err = f.Write(man.encode())
	}
	if err != nil {
		l.fail(fmt.Errorf("write %s: %w", manifestTemp, err))
		return
	}
	l.stats.Fsyncs++
	f.Sync(func(err error) {
		f.Close()
		if l.err != nil {
			return
		}
		if err == nil {
			err = l.fs.Rename(manifestTemp, manifestName)
		}
		if err != nil {
			l.fail(fmt.Errorf("install %s: %w", manifestName, err))
			return
		}
		l.fs.SyncDir(func(err error) {
			if l.err != nil {
				return
			}
			if err != nil {
				l.fail(fmt.Errorf("fsync directory after installing %s: %w", manifestName, err))
				return
			}
			l.stats.Installs++
			done()
		})
	})
}

// roll starts a new log segment. The old one is synced and closed by the
// next round, before the manifest listing the new one is installed, so a
// torn tail can only ever be in the last live segment.
func (l *Log) roll() error {
	s := segment{num: l.next, kind: kindLog}
	f, err := l.fs.Create(s.name())
	if err == nil {
		if err = f.Write(logHeader(s.num)); err != nil {
			f.Close()
			l.fs.Remove(s.name())
		}
	}
	if err != nil {
		return fmt.Errorf("oplog: start segment %s: %w", s.name(), err)
	}
	l.next++
	l.sealed = append(l.sealed, sealedFile{f: l.cur, dirty: l.curDirty})
	l.cur, l.curDirty = f, true
	l.segs = append(l.segs, s)
	l.segsVer++
	l.stats.Rolls++
	l.kick()
	return nil
}

// Close stops the log: what is buffered is written (Flush), the EverySec
// timer is stopped and the files are closed. Rounds in flight still
// complete. Close does not sync: call Sync
// first and Close from its callback for a clean shutdown.
func (l *Log) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.Flush()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	for _, s := range l.sealed {
		s.f.Close()
	}
	l.sealed = nil
	return l.cur.Close()
}
