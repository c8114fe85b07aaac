package net

// NodeID names a node in the cluster (1..65535).
type NodeID uint16

// ConnID names one client connection to a node, as its host numbered it.
// Ids are never reused within one run of a node.
type ConnID uint64

// Transport is how a node sends. The host implements it: the live host over
// TCP, the simulator over its simulated network.
//
// Both methods are called only from the node's loop and never block. The
// frame is encoded before the call returns, so the caller keeps ownership of
// every byte slice in it. Delivery is asynchronous: Send is unreliable (a
// message may be lost, delayed, duplicated or reordered, and no error says
// so), and protocols above it retry; Reply goes down the client's connection
// in order, and is dropped if that connection has closed.
type Transport interface {
	Send(to Peer, f Frame)
	Reply(to ConnID, f Frame)
}

// Peer is where a peer message goes: a node and the address it listens on.
// ID is 0 when only the address is known (a seed not yet contacted); the
// transport then routes by address alone.
type Peer struct {
	ID   NodeID
	Addr string
}
