// Package oplog is a node's operation log: every change to the node's
// durable state (writes and deletes, Lamport leases, membership, Paxos
// acceptor state; counter slots later) is appended here before anyone is told it
// happened, and replayed on boot.
//
// The log is a list of segment files named in a MANIFEST: optionally one
// base segment first (a compacted, zstd-compressed state), then log segments
// that records are appended to, the last being the current one. Every file
// access goes through disk.FS, so the simulator's disk can crash it.
//
// # Durability
//
// Append writes records into the current segment and returns at once.
// Commit calls back once they are as durable as the fsync Mode promises
// (Always: after an fsync, shared by every commit waiting at the time;
// EverySec and None: at once), and Sync calls back once they are durable,
// whatever the mode. See Log for the rounds that do this and why an fsync
// error breaks the log for good.
//
// With Config.Coalesce, Append only buffers, and Flush, which the caller
// runs at the end of each event of its loop, writes everything buffered in
// one write; commits under EverySec and None are acknowledged from it,
// after the write, so what is acknowledged is in the OS (a killed process
// loses none of it) and a pipeline of writes costs one write(2).
//
// A segment is rolled when it passes Config.SegmentSize: the old one is
// synced before the manifest that lists the new one is installed, so the
// only segment that can end in a torn write is the last one.
//
// # Replay
//
// Open reads the manifest, then each segment in order, passing every record
// to the caller (a base's next frames decompress meanwhile, through
// Config.Async), and reports the highest Lamport counter and per-origin
// sequence seen. Damage at the end of the last segment with no valid record
// after it is a torn tail, what a crash leaves of unsynced writes: it is cut
// off (File.Truncate) and reported. Damage anywhere else, or a record
// followed by a valid one, is corruption: Open fails with ErrCorrupt naming
// the file and offset. The log cannot tell a torn final record from a bit
// flipped in a final record that was synced; both are cut and reported.
// Files the manifest does not list are leftovers of a crash mid-roll or
// mid-compaction and are removed.
//
// # Compaction
//
// Compact writes a base segment from the live state the caller gives
// (compressed off the loop, through Config.Offload), fsyncs it, and swaps
// it in through the manifest (write MANIFEST.tmp, fsync, rename over
// MANIFEST, fsync the directory). A crash before the rename is durable
// leaves the old log; after it, the new one.
//
// # Format
//
// All integers are big-endian. CRC is CRC-32C (Castagnoli).
//
// A record, in a log segment or in a base's payload:
//
//	+--------+--------+------+---------------+------------+--------+-----+--------+-----+-------+
//	| crc    | length | type | stamp counter | stamp node | origin | seq | keylen | key | value |
//	| 4      | 4      | 1    | 8             | 2          | 2      | 8   | 2      | K   | V     |
//	+--------+--------+------+---------------+------------+--------+-----+--------+-----+-------+
//
// length counts the bytes after itself (23+K+V); crc covers them and the
// length field. type: 1 set, 2 delete, 3 lease, 4 member, 5 Paxos promise,
// 6 Paxos accept, 7 node flag, 8 member with explicit tokens, 9 counter
// state, 10 register state with batch intents, 11 forget a key (record.go
// says what each field holds);
// numbers are never reused.
//
// A log segment, NNNNNN.log, is a header and then records:
//
//	+------------+---------+------+---------+-----+
//	| "memdblog" | version | kind | segment | crc |
//	| 8          | 2 (1)   | 2(1) | 8       | 4   |
//	+------------+---------+------+---------+-----+
//
// A base segment, NNNNNN.base, is a header, a zstd frame per chunk of the
// payload, and a frame table (version 2, frames.go):
//
//	+------------+---------+-------+------+---------+---------+---------+--------+------+------------+
//	| "memdbase" | version | codec | zero | segment | records | raw len | frames | zero | header crc |
//	| 8          | 2 (2)   | 2 (1) | 4    | 8       | 8       | 8       | 8 (n)  | 4    | 4          |
//	+------------+---------+-------+------+---------+---------+---------+--------+------+------------+
//	| frame 0 | frame 1 | ... | n × (raw len, z len, z crc) | count | table crc |
//	| z len 0 | z len 1 | ... | n × (4 + 4 + 4)             | 4 (n) | 4         |
//	+---------+---------+-----+-----------------------------+-------+-----------+
//
// Each frame is an independent zstd frame of whole records (about 1 MiB of
// them, a record never split between frames); the first also starts with
// the high-water marks. A table entry gives the frame's length before
// compression, its length after, and the CRC of its compressed bytes;
// frames lie back to back from the header on, so the entries locate them.
// The table is at the end, found from the count before its CRC, which
// covers the entries and the count. The header's raw len is the sum of the
// frames' raw lengths, and records their records' count.
//
// Version 1 bases, written before, are still read: the same header with
// z len (8) and z crc (4) where frames and zero are, then the whole
// payload as one zstd frame (single.go).
//
// The payload, the frames' contents in order, is the high-water marks,
// then records:
//
//	+-------------+---------+---------------------------+---------+
//	| max counter | origins | origins × (origin, seq)   | records |
//	| 8           | 4 (n)   | n × (2 + 8)               | ...     |
//	+-------------+---------+---------------------------+---------+
//
// The MANIFEST lists live segments in replay order:
//
//	+------------+---------+------+-------+-------------+------------------------+-----+
//	| "memdbman" | version | zero | count | next number | count × (number, kind) | crc |
//	| 8          | 2 (1)   | 2    | 4 (n) | 8           | n × (8 + 1)            | 4   |
//	+------------+---------+------+-------+-------------+------------------------+-----+
//
// kind: 1 log, 2 base. A base, if any, comes first; the last entry is a log.
package oplog
