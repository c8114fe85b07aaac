// Package linearize records what simulated clients saw and judges it: a
// History of operations (call and return in virtual time, input, output or
// an unknown outcome) checked for linearizability with Porcupine against a
// sequential model of the key-value store.
//
// The model is a map from key to value, partitioned by key: operations on
// different keys never constrain each other, so each key's sub-history is
// checked on its own, in sorted key order, and a violation names its key.
// Every written value in a simulated run is unique, so the model needs no
// nondeterminism: a read that returns a value says exactly which write it
// saw.
//
// Today a node keeps its data only in memory, so a crash legitimately empties
// the store. The simulator records each crash as a Wipe operation whose call
// and return are both the crash time; Partition copies it into every key's
// sub-history, where it acts as a delete that everybody agrees happened at
// that instant. When persistence lands, acknowledged writes must survive and
// the simulator stops recording wipes for durable modes.
//
// Outcomes follow Porcupine's standard treatment of indeterminate operations.
// An operation that failed definitely (the node said nothing was written) is
// left out. A write whose outcome is unknown (timeout, broken connection)
// returns at +infinity, after every other operation, so the checker may
// place its effect anywhere after its call, or nowhere at all. An unknown
// read constrains nothing and is left out.
//
// No wall clock bounds a check. Each key's search may call the model's step
// function a counted number of times (CheckModel's steps, DefaultSteps by
// default); a key whose search runs out leaves the result Undecided — not
// a pass, not a violation, and the same on every machine. Before the full
// search of a key, the checker tries the key without its unknown writes
// that nothing observed (no read returned the value, no cas expected it):
// such a write can always be placed last, so if the rest is linearizable
// the whole is, and under contention those lost writes are what made the
// search exponential.
//
// Both searches take the key's history reduced in three ways that change
// no verdict (reduce.go gives the arguments; TestReduceAgrees checks them
// against Porcupine on the unreduced history). Each only narrows what the
// search may do, so a violation is never lost. An unknown write whose
// value was read ends when the first read of it returns, not at
// +infinity; an unknown cas ends once the value it expects is known to be
// overwritten for good. Unknown writes whose values nobody refers to are
// interchangeable within a class (sets; deletes; cas with one
// expectation), so the search takes each class in call order: n of them
// pending offer n+1 states, not 2^n. A key with hundreds of Paxos puts
// that may still be chosen was undecided without this; it is decided in
// a few hundred thousand steps with it.
//
// On a violation, Result.WriteHTML writes Porcupine's interactive
// visualisation of the failing key's history, with annotations such as
// crash windows supplied by the caller.
package linearize
