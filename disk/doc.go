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
//
// OS serves every Sync and SyncDir from one goroutine per directory, which
// fsyncs each file once for all the requests queued since its last pass
// (group commit) and posts the callbacks to the host's loop.
//
// Mem makes data durable only when a sync's callback runs, so the simulator
// decides how slow the disk is. Its crash model (directory entries need a
// completed SyncDir, as in Pebble's MemFS; unsynced tails are kept, dropped,
// cut or torn) is written on the type. Faults (failed fsyncs, a full disk,
// bit flips in synced data) are switched on by the simulator, and Stats
// counts what happened so runs can show which paths they covered.
package disk
