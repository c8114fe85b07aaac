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
package store
