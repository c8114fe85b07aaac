package disk

import "errors"

// FS is a node's data directory. Names are plain file names, no separators.
// Methods other than the Sync callbacks are called from the node's loop and
// return when the operation is done (in the page cache, not yet durable),
// with one exception: a compaction creates and writes its new base file
// from an offloaded goroutine (oplog.Config.Offload) while the loop goes on
// with other files, so Create, and Write and Close of the file it returns,
// (and Remove of it, should writing fail), and Remove of the segments a
// new base replaced, must be safe alongside the loop's calls (OS's are; Mem is only used where
// offloaded work runs on the loop).
type FS interface {
	// List returns the names of the files in the directory, sorted.
	List() ([]string, error)
	// ReadFile returns a file's whole contents. ErrNotExist if absent.
	ReadFile(name string) ([]byte, error)
	// Create opens a new, empty file for appending, replacing any file of
	// that name.
	Create(name string) (File, error)
	// OpenAppend opens an existing file for appending at its end, creating
	// it if absent.
	OpenAppend(name string) (File, error)
	// Rename atomically replaces to with from. It is durable only after a
	// later SyncDir completes.
	Rename(from, to string) error
	// Remove deletes a file. Durable only after a later SyncDir completes.
	Remove(name string) error
	// SyncDir makes the directory's entries (creates, renames, removes)
	// durable, then calls done on the loop with the outcome.
	SyncDir(done func(error))
}

// File is an open file, written only by appending.
type File interface {
	// Write appends p. The caller may reuse p when Write returns. An error
	// (such as ErrNoSpace) means none or part of p was written.
	Write(p []byte) error
	// Sync makes every byte written before the call durable, then calls done
	// on the loop with the outcome. After a failed sync, what was written
	// since the last successful one is in an unknown state.
	Sync(done func(error))
	// Truncate cuts the file to size bytes (used to drop a torn tail).
	Truncate(size int64) error
	// Size returns the file's length, synced or not.
	Size() int64
	// Close releases the file. Unsynced data stays unsynced.
	Close() error
}

// Errors.
var (
	ErrNotExist = errors.New("file does not exist")
	ErrNoSpace  = errors.New("no space left on device")
	ErrClosed   = errors.New("file is closed")
)
