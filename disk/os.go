package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// OS is an FS over a real directory. Writes go straight to the file (the
// page cache); Sync and SyncDir are served by one background goroutine per
// OS, which takes every request queued since its last fsync and runs one
// fsync per distinct file for the whole batch: group commit. Completions are
// handed to post, which must run them on the node's loop and must not block
// (it is called from the syncer goroutine and, for a file already closed,
// from the loop itself).
//
// The file methods and the FS methods other than Close are meant to be
// called from the node's loop only.
type OS struct {
	dir  string
	post func(f func())

	mu     sync.Mutex
	wake   *sync.Cond
	queue  []syncReq
	closed bool
	exited chan struct{}
	// observe hears how long each fsync took (ObserveSyncs).
	observe func(time.Duration)
}

var _ FS = (*OS)(nil)

// syncReq is one Sync (file non-nil) or SyncDir (file nil) waiting for the
// syncer goroutine.
type syncReq struct {
	file *osFile
	done func(error)
}

// NewOS returns an FS over dir, creating the directory if it is missing, and
// starts its syncer goroutine. Call Close to stop it.
func NewOS(dir string, post func(f func())) (*OS, error) {
	if post == nil {
		return nil, errors.New("disk: NewOS: post is nil")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, mapErr("mkdir", dir, err)
	}
	o := &OS{dir: dir, post: post, exited: make(chan struct{})}
	o.wake = sync.NewCond(&o.mu)
	go o.syncer()
	return o, nil
}

// Close finishes the syncs already queued (their callbacks are still posted),
// then stops the syncer goroutine. Later Sync and SyncDir calls complete with
// ErrClosed. Files stay usable for writing; close them separately.
func (o *OS) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return ErrClosed
	}
	o.closed = true
	o.wake.Broadcast()
	o.mu.Unlock()
	<-o.exited
	return nil
}

// ObserveSyncs has f told how long each fsync (of a file or of the
// directory) took, from the syncer goroutine, once per fsync of a group
// commit. f must be quick and safe to call from another goroutine. The
// simulator's disk has no such hook: only a real disk's fsyncs take time
// worth measuring.
func (o *OS) ObserveSyncs(f func(time.Duration)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.observe = f
}

// Dir returns the directory the FS works in.
func (o *OS) Dir() string { return o.dir }

func (o *OS) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(o.dir, name), nil
}

// List returns the names of the regular files in the directory, sorted.
func (o *OS) List() ([]string, error) {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, mapErr("list", o.dir, err)
	}
	var names []string
	for _, e := range ents { // os.ReadDir sorts by name
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// ReadFile returns the file's contents.
func (o *OS) ReadFile(name string) ([]byte, error) {
	p, err := o.path(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, mapErr("read", name, err)
	}
	return b, nil
}

// Create opens a new, empty file for appending, replacing any file of that
// name.
func (o *OS) Create(name string) (File, error) {
	return o.open(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND)
}

// OpenAppend opens a file for appending at its end, creating it if absent.
func (o *OS) OpenAppend(name string) (File, error) {
	return o.open(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
}

func (o *OS) open(name string, flag int) (File, error) {
	p, err := o.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		return nil, mapErr("open", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, mapErr("stat", name, err)
	}
	return &osFile{fs: o, f: f, name: name, size: st.Size()}, nil
}

// Rename atomically replaces to with from (os.Rename).
func (o *OS) Rename(from, to string) error {
	pf, err := o.path(from)
	if err != nil {
		return err
	}
	pt, err := o.path(to)
	if err != nil {
		return err
	}
	if err := os.Rename(pf, pt); err != nil {
		return mapErr("rename", from, err)
	}
	return nil
}

// Remove deletes a file.
func (o *OS) Remove(name string) error {
	p, err := o.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return mapErr("remove", name, err)
	}
	return nil
}

// SyncDir fsyncs the directory on the syncer goroutine and posts done.
func (o *OS) SyncDir(done func(error)) { o.enqueue(syncReq{done: done}) }

func (o *OS) enqueue(r syncReq) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		o.post(func() { r.done(fmt.Errorf("disk: sync: %w", ErrClosed)) })
		return
	}
	if r.file != nil {
		r.file.pending++
	}
	o.queue = append(o.queue, r)
	o.wake.Signal()
	o.mu.Unlock()
}

// syncer serves the queue: each pass takes every queued request and fsyncs
// each distinct file (and the directory) once for all of them.
func (o *OS) syncer() {
	defer close(o.exited)
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.closed {
			o.wake.Wait()
		}
		batch := o.queue
		o.queue = nil
		observe := o.observe
		o.mu.Unlock()
		if len(batch) == 0 {
			return // closed and drained
		}

		results := make(map[*osFile]error, len(batch))
		var dirErr error
		dirDone := false
		for _, r := range batch {
			if r.file == nil {
				if !dirDone {
					start := time.Now()
					dirErr, dirDone = o.fsyncDir(), true
					if observe != nil {
						observe(time.Since(start))
					}
				}
				continue
			}
			if _, ok := results[r.file]; !ok {
				var err error
				start := time.Now()
				if e := r.file.f.Sync(); e != nil {
					err = mapErr("fsync", r.file.name, e)
				}
				if observe != nil {
					observe(time.Since(start))
				}
				results[r.file] = err
			}
		}

		// Files closed while their syncs were queued are closed for real
		// once the last of those syncs is done.
		o.mu.Lock()
		for _, r := range batch {
			if f := r.file; f != nil {
				f.pending--
				if f.pending == 0 && f.closed {
					f.f.Close()
				}
			}
		}
		o.mu.Unlock()

		for _, r := range batch {
			err := dirErr
			if r.file != nil {
				err = results[r.file]
			}
			done := r.done
			o.post(func() { done(err) })
		}
	}
}

func (o *OS) fsyncDir() error {
	d, err := os.Open(o.dir)
	if err != nil {
		return mapErr("fsync", o.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return mapErr("fsync", o.dir, err)
	}
	return nil
}

// osFile is an open file of an OS. pending and closed are guarded by the
// OS's mutex; size is touched only from the loop.
type osFile struct {
	fs      *OS
	f       *os.File
	name    string
	size    int64
	pending int
	closed  bool
}

func (f *osFile) isClosed() bool {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.closed
}

// Write appends p.
func (f *osFile) Write(p []byte) error {
	if f.isClosed() {
		return fmt.Errorf("disk: write %s: %w", f.name, ErrClosed)
	}
	n, err := f.f.Write(p)
	f.size += int64(n)
	if err != nil {
		return mapErr("write", f.name, err)
	}
	return nil
}

// Sync queues an fsync of the file; done is posted when it completes.
func (f *osFile) Sync(done func(error)) {
	if f.isClosed() {
		f.fs.post(func() { done(fmt.Errorf("disk: sync %s: %w", f.name, ErrClosed)) })
		return
	}
	f.fs.enqueue(syncReq{file: f, done: done})
}

// Truncate cuts the file to size bytes.
func (f *osFile) Truncate(size int64) error {
	if f.isClosed() {
		return fmt.Errorf("disk: truncate %s: %w", f.name, ErrClosed)
	}
	if err := f.f.Truncate(size); err != nil {
		return mapErr("truncate", f.name, err)
	}
	f.size = size
	return nil
}

// Size returns the file's length.
func (f *osFile) Size() int64 { return f.size }

// Close releases the file once its queued syncs are done.
func (f *osFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return fmt.Errorf("disk: close %s: %w", f.name, ErrClosed)
	}
	f.closed = true
	if f.pending == 0 {
		if err := f.f.Close(); err != nil {
			return mapErr("close", f.name, err)
		}
	}
	return nil
}

// mapErr wraps an os error with the package's sentinel where one applies,
// keeping the original for its message.
func mapErr(op, name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("disk: %s %s: %w: %w", op, name, ErrNotExist, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("disk: %s %s: %w: %w", op, name, ErrNoSpace, err)
	case errors.Is(err, os.ErrClosed):
		return fmt.Errorf("disk: %s %s: %w: %w", op, name, ErrClosed, err)
	case op == "fsync":
		return fmt.Errorf("disk: %s %s: %w: %w", op, name, ErrIO, err)
	}
	return fmt.Errorf("disk: %s %s: %w", op, name, err)
}
