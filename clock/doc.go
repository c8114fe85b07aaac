// Package clock holds the two notions of time a memdb node uses.
//
// Clock is physical time as the node is allowed to see it: Now, and timers
// whose callbacks the host runs on the node's own loop. The live host passes
// Real wrapped so that callbacks are posted to its event loop; the simulator
// passes a virtual clock that advances only when its event queue says so.
// Node code never reads the wall clock directly: that is what makes a seeded
// simulation replay byte for byte.
//
// Timestamp and Lamport are logical time. Every write is stamped with a
// Timestamp (counter, node), totally ordered with the node id breaking ties,
// and every message in the cluster carries the sender's clock, so the
// receiver's Lamport clock never falls behind anything it has seen.
package clock
