// Package quorum counts answers. A request that a node coordinates — a
// read, a write, a Paxos phase — goes to the replicas of its key and is
// decided by how many of them answer yes at its consistency level.
//
// While a member joins or leaves, a key has two replica sets: its replicas
// on the ring reads use and those on the ring writes go to. A request then
// needs its level's count from each set, as a joint configuration does in
// raft's configuration changes (go.etcd.io/raft/quorum.JointConfig): any
// two requests made on either side of the change meet in some replica. A
// Joint holds those sets; Result gives the verdict on a request from the
// replicas that said yes and those that said no or went silent:
//
//	Won      every group has its level's count of yes
//	Lost     some group cannot reach its count even if every replica that
//	         has not yet said no says yes
//	Pending  neither: wait for more answers
//
// The package is pure: no node state, no I/O. Its functions take the
// replica ids a caller collected and return a verdict.
package quorum
