// Package ring is memdb's consistent-hashing ring: it decides which nodes
// hold each key. It is pure and deterministic: a Ring is an immutable value
// computed from a membership and an epoch, so every node that agrees on the
// membership agrees on every key's replicas, with no communication.
//
// # Keys, tokens and ranges
//
// The ring is the 64-bit integers, wrapping from 2^64-1 back to 0. A key
// sits at Hash(key), its farm.Fingerprint64, a hash fixed across versions
// and platforms. Each member owns a set of tokens, positions on the ring; a
// token owns the range of positions after the previous token (of any
// member) up to and including itself:
//
//	        100        200        300        400
//	---------|----------|----------|----------|--------> (wraps to 0)
//	      node 1     node 2     node 3     node 1
//	(400,100]: 1  (100,200]: 2  (200,300]: 3  (300,400]: 1
//
// A key's preference list (Replicas, ReplicasOf) is the owner of the first
// token at or after the key, then the owners of the tokens after that,
// clockwise, skipping nodes already listed, until it has rf distinct nodes
// (or every member, on a ring with fewer than rf). Its first node is the
// key's Owner. Above, a key at 250 has replicas 3, 1, 2 at rf 3.
//
// Ranges lists the ranges a node replicates; Moves, for a change from one
// ring to another, lists every range whose replica set changes, with the
// sets before and after: which nodes must stream the range to which. Adding
// a node only ever moves ranges to it, and removing one only moves its
// ranges away (the consistent-hashing property the tests check), so a join
// or leave streams about 1/n of the data rather than reshuffling it.
//
// # Virtual nodes
//
// A node given one random token would own a share of the ring that varies
// widely, and on leaving would hand its whole range to one neighbour. So by
// default each node owns DefaultVnodes virtual tokens, derived from its id
// alone (VirtualTokens: token i is Hash of "<id>/<i>" in decimal), which
// spreads both its share and its load on a join or leave across the ring.
// Explicit tokens may be given instead, per member, to place nodes by hand
// (as the DHT seed's ring_id did); no token may be owned twice.
//
// TestBalance measures max/mean keys per node (1.0 is perfect) for 1M keys
// (go test ./node/ring -run TestBalance -balance.keys=1000000 -v); each
// cell is owner only (rf 1) / each of rf 3 replicas:
//
//	nodes | 64 vnodes     | 128 vnodes    | 256 vnodes
//	    3 | 1.109 / 1.000 | 1.025 / 1.000 | 1.074 / 1.000
//	    5 | 1.145 / 1.039 | 1.131 / 1.067 | 1.130 / 1.054
//	   10 | 1.122 / 1.128 | 1.093 / 1.085 | 1.081 / 1.098
//	   20 | 1.314 / 1.155 | 1.243 / 1.109 | 1.122 / 1.068
//	   64 | 1.359 / 1.209 | 1.195 / 1.139 | 1.150 / 1.083
//
// 256 vnodes keep every node within about 15% of its fair share up to 64
// nodes, at a lookup cost that grows only with log(tokens); hence the
// default.
//
// # The epoch
//
// Each ring carries an epoch, the number of the topology change that made
// it; With and Without give the ring at the next epoch. Gossip alone would
// let two nodes decide conflicting changes at once, leaving a range with two
// owners-in-transition; the cluster instead agrees on each change (a Paxos
// round on a system key) and so on a single sequence of epochs. Two rings
// with the same epoch in one cluster are then the same ring, and a message
// that names an epoch names the replica sets it was computed from. This
// package only carries the number; agreeing on it is the caller's job.
//
// # Encoding
//
// Encode and Decode carry a ring in messages and on disk. Integers are
// big-endian or unsigned LEB128 varints (uvarint), minimally encoded; the CRC
// is CRC-32C (Castagnoli) of every byte before it.
//
//	+--------+---------+---------+---------+-----------------+-------+
//	| "RING" | version | epoch   | members | member records  | crc   |
//	| 4      | 1 (1)   | uvarint | uvarint | members × ...   | 4     |
//	+--------+---------+---------+---------+-----------------+-------+
//
// Each member record, in ascending order of id:
//
//	+----+------+---------+-----------------------------------------+
//	| id | kind | count   | tokens                                  |
//	| 2  | 1    | uvarint | kind 0 (explicit): count × 8, ascending |
//	|    |      |         | kind 1 (virtual): none                  |
//	+----+------+---------+-----------------------------------------+
//
// A virtual member owns VirtualTokens(id, count). Kind 1 is used exactly
// when a member's tokens are its count virtual tokens, so a ring of virtual
// nodes costs about 5 bytes a member (64 nodes with 256 vnodes each: 331
// bytes, against 128 KiB spelt out).
// The encoding is canonical — equal rings, equal bytes — and Decode accepts
// only what Encode produces: it checks the checksum, every bound, the
// ordering and New's rules, and returns ErrCorrupt or ErrVersion rather
// than panicking, doing work bounded by MaxTokens and MaxRingTokens.
package ring
