// Package view is a node's picture of the ring, built from membership
// records alone: pure, no node state, no I/O.
//
// A member's Phase is encoded in its ring version, which gossip merges by
// maximum (phase.go): every change of phase raises the version, so a later
// phase always wins, and a member that left and comes back starts a new
// cycle.
//
// A View holds two rings. The read ring has the members that own their
// ranges (normal and leaving); the write ring has those that own them or
// are taking them (normal and joining). Reads go to a key's replicas on the
// read ring; writes go to its replicas on both, so a joining member gets
// every write while it streams, and a leaving one's successors do too.
// While a member moves the two rings differ and a request needs its level
// on each (Groups gives a quorum.Joint), so any two requests made on either
// side of the change meet in some replica.
//
// Arcs cuts the ring at every token of either ring: each arc has one set of
// replicas on each, which is what streaming, catch-up, anti-entropy and
// range movement work on (Shared: the arcs a member has in common with each
// other owner).
package view
