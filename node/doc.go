// Package node is a memdb node: a single-threaded, event-driven state
// machine that is the same code in the live host (memdbd) and in the
// simulator.
//
// A host drives a Node by calling one method at a time, for one event: Start
// when the node boots, Request when a client frame arrives, Deliver when a
// peer's message arrives, Disconnected when a client connection closes, and
// the callbacks the node itself registered through its Env (timers, disk
// completions). No two calls overlap, and none blocks: the node acts only
// through its Env — Clock, Transport, Disk, a seeded Rand and a Logger.
//
// Nothing in this package may read the wall clock, start a goroutine, use a
// channel or select, draw from global randomness, open sockets or files, or
// let Go's random map order decide what is sent, logged, written or drawn.
// lint_test.go enforces the textual part of that rule; the simulator's
// determinism test (same seed, same event hash) enforces the rest.
//
// Every write is stamped with a Lamport timestamp; every frame the node
// sends carries its clock, and every frame it receives advances it. A client
// sends the highest timestamp it has seen with each request, so its later
// writes are stamped after its earlier ones, whichever node coordinates them.
package node
