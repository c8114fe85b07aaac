// Package disk is the node's third injected interface, beside clock and net:
// a flat directory of files whose syncs complete asynchronously.
//
// Writes go to the file at once (into the OS page cache, or the in-memory
// disk's unsynced tail); Sync reports durability later, by a callback that
// the host runs on the node's loop. That shape is what lets a node group many
// writes under one fsync and reply to each only after it, and lets the
// simulator model slow and failing disks.
//
// There are two implementations: OS, over a real directory with fsync, and
// Mem, for the simulator, which can crash: synced bytes survive, unsynced
// bytes are kept, dropped or torn as a seeded PRNG decides.
package disk
