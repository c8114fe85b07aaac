// Package stream moves data between replicas. Its pure parts scan a
// store for the entries a peer lacks (Scan) and digest arcs of the ring
// for anti-entropy (Digest); they are functions of a store and spans.
// Driver runs the protocols around them — pulls (Sync and SyncBatch),
// pushes, Syncs and Digests served, comparisons narrowed and pulled, and
// their retries — on the node's loop, and reaches the node only through
// Node: calls to peers, answers, timers, the store's keys and durable
// applies, and counters. Which peer to pull from and when to compare
// stay the node's (node/stream.go), as do the movements that use them
// (node/movement).
//
// # Streaming
//
// One mechanism moves data between replicas for catch-up after a
// restart, for a joining node taking its ranges, and for a leaving node
// handing its ranges off. A node asks a peer (Sync) for the entries it
// holds in some spans of the ring that were stamped after the asker's
// per-origin marks; the peer scans its store in key order and answers in
// batches (SyncBatch), each applied durably before the next is asked for.
//
// Marks make catch-up exact: the counters an origin stamps only grow, so a
// restarted node that has origin o's writes up to counter c needs exactly
// o's writes after c (and those of origins it never heard of). One maximum
// over all origins would lose writes, because other nodes' clocks lag.
// Scanning the store rather than the log means compaction never leaves a
// gap that needs another method: an entry overwritten since is not sent at
// all, and the newer one is. Empty marks stream whole ranges (a new node).
//
// # Anti-entropy
//
// What hints, read repair and catch-up miss — a write that reached only
// some replicas and whose coordinator then crashed, or whose hint was
// lost, on a key nobody reads — a periodic comparison finds. Every
// AntiEntropy interval (jittered) a node that owns ranges asks each replica
// it shares arcs with for a digest of its versions in each shared arc
// (DigestBefore): the sum of a hash of every key and version held there,
// of the versions stamped at or before a horizon — the asker's clock a few
// seconds ago, so that writes still in flight are left to replication and
// hints and are not taken for differences. A span whose digests differ is
// narrowed (cut in sub-spans, compared again, while it holds many keys)
// and the sub-spans that still differ are pulled from that replica (Sync
// with no marks) and merged by their kind's rule (node/store); the peer,
// on its own round, pulls from this node. Digests are summed a slice of
// keys at a time (Digest.Step), so a large store holds the loop briefly. So any difference between two replicas is gone after one
// round of each, and a round costs a scan of the store and a digest per
// shared arc, plus the data of the arcs that differ. Only owners compare
// (members on the read ring, for the arcs they own there), so a member's
// join or leave does not stop rounds; the two sides must be at the same
// ring epoch, so that they cut the ring into the same arcs. A joining node
// runs a round against every owner of the arcs it takes before it turns
// normal (reconcile): its stream came from one owner per arc, and a write
// acknowledged by the others but still on its way to that one (a hint, say)
// reaches it that way.
package stream
