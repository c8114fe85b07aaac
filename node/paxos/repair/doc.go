// Package repair runs Paxos repair: before a movement completes — a
// joining node turning normal, a leaving node turning left — the moving
// node finishes every proposal in progress on the arcs that change hands,
// so that a value chosen only in some replicas' acceptances is not lost
// when the key's replica set changes (node/movement's doc has the
// argument). It asks every owner of the arcs which keys there hold a
// proposal in progress (PaxosKeys, page by page), adds its own, and runs
// a full Paxos round on each, several side by side. A rebuilding node
// asks the same question with states, to take its owners' acceptor
// state over (Driver.Keys).
//
// Driver runs on the node's loop and reaches the node only through Node:
// calls to peers, answers, timers, its acceptor table and a Paxos round
// on a key. The acceptors themselves and the round are node/paxos's and
// the node's.
package repair
