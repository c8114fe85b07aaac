// Package nodetest runs several real nodes (package node) by hand: over a
// message queue and disk-completion queues that hold everything until the
// test says what happens next, on one virtual clock that moves only when
// the test moves it. It is to memdb what raft's rafttest interaction
// environment is to etcd raft: protocol behaviour written down as text
// scripts (testdata/*.txt, run with github.com/cockroachdb/datadriven and
// regenerated with -rewrite), each step printed with what it caused.
//
// The pieces, one per file:
//
//   - clock.go: the virtual clock. Every node's clock.Clock reads it; a
//     timer fires only inside Advance (tick) or Run, in time order.
//   - network.go: the net.Transport. A sent frame is encoded by the net
//     codec and queued as bytes; Deliver decodes it and hands it to the
//     recipient, or drops it, or delivers it and queues a duplicate.
//     Messages cross encoded, as in the simulator, so no node aliases
//     another's memory and the codec sees every message.
//   - disk.go: the disk.FS, a disk.Mem whose sync completions wait in a
//     per-node queue, each labelled with the file it syncs, until SyncDisk
//     runs them in order. A crash drops them and keeps what was synced.
//   - cluster.go: the machines: add, start, crash and restart (a new
//     incarnation on the same disk), client requests, Stabilize, and the
//     status, store and acceptor views that scripts print.
//   - format.go: one stable line per message.
//   - handler.go: the script commands (see Cluster.Handle).
//
// Nothing here runs concurrently, reads the wall clock or draws from
// global randomness: the package lives under node/ and passes its
// determinism lint, and a script gives the same output on every run. Each
// node's Rand is seeded by its id and incarnation.
//
// Run lets the cluster run on a perfect network and instant disks (it
// stabilizes between timers) and prints only client replies: scripts use
// it to form a cluster or finish a join, then take over step by step.
// Gossip frames are delivered like any other but not printed unless asked
// for (ShowGossip, or the gossip filter argument): they would drown the
// protocol a script is about.
//
// The package must not import sim; sim builds its own Envs.
package nodetest
