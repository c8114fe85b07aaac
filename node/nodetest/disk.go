package nodetest

import (
	"github.com/memdb/memdb/disk"
)

// diskOp is a sync or directory sync whose completion waits for the test
// (SyncDisk, Stabilize). label says what it is, e.g. "sync 000002.log".
type diskOp struct {
	label string
	inc   uint64
	fn    func()
}

// hostFS is a node's disk: a disk.Mem whose completions go to the host's
// queue instead of running, each labelled with what it syncs. The Mem
// outlives incarnations; it is what a crash leaves and a restart replays.
type hostFS struct {
	*disk.Mem
	h *Host
}

var _ disk.FS = hostFS{}

// schedule is the Mem's scheduler: it queues the completion under the
// label the wrapper set just before calling into the Mem.
func (h *Host) schedule(f func()) {
	label := h.label
	if label == "" {
		label = "disk"
	}
	h.disk = append(h.disk, diskOp{label: label, inc: h.inc, fn: f})
	h.c.addEffect(true, "disk %s: %s", h.name(), label)
}

func (fs hostFS) Create(name string) (disk.File, error) {
	f, err := fs.Mem.Create(name)
	if err != nil {
		return nil, err
	}
	return hostFile{f, fs.h, name}, nil
}

func (fs hostFS) OpenAppend(name string) (disk.File, error) {
	f, err := fs.Mem.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return hostFile{f, fs.h, name}, nil
}

func (fs hostFS) SyncDir(done func(error)) {
	fs.h.label = "syncdir"
	fs.Mem.SyncDir(done)
	fs.h.label = ""
}

// hostFile labels its syncs with the file's name.
type hostFile struct {
	disk.File
	h    *Host
	name string
}

func (f hostFile) Sync(done func(error)) {
	f.h.label = "sync " + f.name
	f.File.Sync(done)
	f.h.label = ""
}

// SyncDisk completes up to n of node id's pending disk operations (all of
// those pending when called, if n < 0), oldest first, as a disk does. Each
// completion runs on the node and prints what it caused. It returns how
// many it completed.
func (c *Cluster) SyncDisk(id int, n int) int { return c.syncDisk(id, n, true) }

// syncDisk is SyncDisk; show false prints a completion only if it had an
// effect beyond queueing more disk operations.
func (c *Cluster) syncDisk(id int, n int, show bool) int {
	h := c.host(id)
	ops := h.disk
	if n >= 0 && n < len(ops) {
		ops = ops[:n]
	}
	done := 0
	for range ops {
		if len(h.disk) == 0 {
			break
		}
		op := h.disk[0]
		h.disk = h.disk[1:]
		done++
		if !h.alive(op.inc) {
			continue
		}
		c.step("sync-disk "+h.name()+": "+op.label, show, func() { h.call(op.fn) })
	}
	return done
}
