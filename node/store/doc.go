// Package store is a node's in-memory table: for each key, the state the
// node knows, stamped with a Lamport timestamp. States merge by their
// kind's rule, so applying the same states in any order, any number of
// times, gives the same table. That is what lets replicas converge however
// messages are reordered or duplicated.
//
// # Value kinds
//
// A Kind is one definition of a kind of value (kind.go): how two states of
// a key merge (Merge), how a state is hashed for anti-entropy (Hash), and,
// in encode.go, how it is encoded in the operation log, in the entries
// nodes exchange and in Paxos acceptor states, and what a read returns. Every path that moves a
// key's state uses them and nothing else:
//
//	client write      node stamps a Version and replicates it as an entry
//	replication       entries are logged, then merged into the store (Apply)
//	hints, streaming  entries built from Versions, merged on arrival
//	catch-up, take    the same, filtered by the stamp's origin and counter
//	read repair       a quorum read merges the answers; a replica whose
//	                  answer does not cover the merge gets it (Covers)
//	anti-entropy      digests sum Hash over each arc's keys
//	compaction        the base holds each key's state as one record
//	replay            records merged into the store in log order
//
// Two kinds so far: Register, a value or a tombstone, last writer wins; and
// Counter (counter.go), slots of its writers merged by version. A key holds
// one kind at a time; states of two kinds merge by rank (a counter outranks
// a register), so the merge stays a join. A register also holds the batch
// intents it has not settled (intent.go): they travel with its state down
// every path above, so a batch's intents are streamed, caught up, hinted,
// repaired and compacted like its values, with no path of their own.
//
// # The table
//
// A node may hold millions of keys, so the store is laid out for the
// garbage collector (issue 20; table.go): keys and values live in arenas,
// large pointer-free chunks of bytes (arena.go); each key has a 32-byte
// entry of integers (its stamp, kind, flags and where its bytes are), in
// pages; an index of integer slots finds the entry by a fixed hash of the
// key (index.go); the rare batch intents sit in a side table; the sorted
// key list names each key by its place in the key arena, 8 bytes, in
// immutable blocks that a merge of new keys copies only where they land
// (keys.go). Nothing per key is a heap object or a pointer the collector
// must follow. Bytes the store hands out — Get's values, the keys of Keys
// and Order — are never written again: a value
// that changes is written anew, and space is reclaimed by copying what is
// live out of a sparse chunk, a bounded step per write, and leaving the
// old chunk to the collector, which frees it once no holder refers to it.
package store
