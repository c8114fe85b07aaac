package node

import (
	"fmt"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// Request handles one frame from client connection c. The frame was decoded
// by the host, so it is well formed; its contents are still checked here.
func (n *Node) Request(c net.ConnID, f net.Frame) {
	n.stats.Requests++
	// The client's session clock: whatever it has seen, this node has now
	// seen too, so a write it stamps next is after every write the client
	// has observed.
	if !n.mutant(MutantSessionIgnored) {
		n.lamport.Observe(f.Clock)
	}
	if n.stopped || !n.started {
		n.fail(c, f.ID, net.CodeShuttingDown, "node %d is not serving (stopping or not started); retry on another node", n.cfg.ID)
		return
	}
	if n.life == LeftSelf {
		// It turned itself left, and its leave waits for what it
		// coordinates to be handed on (drain): new requests would keep
		// it waiting.
		n.fail(c, f.ID, net.CodeShuttingDown, "node %d has left the cluster; retry on another node", n.cfg.ID)
		return
	}
	switch m := f.Msg.(type) {
	case *net.Get:
		switch {
		case !n.checkKey(c, f.ID, m.Key):
		case m.Level == net.Serial:
			if !n.holdsCounter(c, f.ID, m.Key, "a serial read") {
				n.startSerialRead(c, f.ID, m.Key, false)
			}
		default:
			n.coordinateRead(c, f.ID, m.Key, m.Level, false)
		}
	case *net.Contains:
		switch {
		case !n.checkKey(c, f.ID, m.Key):
		case m.Level == net.Serial:
			n.startSerialRead(c, f.ID, m.Key, true)
		default:
			n.coordinateRead(c, f.ID, m.Key, m.Level, true)
		}
	case *net.Set:
		switch {
		case !n.checkKey(c, f.ID, m.Key) || !n.checkValue(c, f.ID, m.Value):
		case n.holdsCounter(c, f.ID, m.Key, "set"):
		case n.full(c, f.ID):
		case m.Level == net.Serial:
			n.startPaxosPut(c, f.ID, m.Key, m.Value)
		default:
			n.coordinateWrite(c, f.ID, m.Key, store.Version{Value: m.Value}, m.Level)
		}
	case *net.Delete:
		switch {
		case !n.checkKey(c, f.ID, m.Key):
		case n.holdsCounter(c, f.ID, m.Key, "delete (counters are not deleted in this version)"):
		case m.Level == net.Serial:
			n.fail(c, f.ID, net.CodeUnsupported, "a delete cannot be serial; delete at one, quorum or all, or cas the key to a value your application reads as empty")
		default:
			n.coordinateWrite(c, f.ID, m.Key, store.Version{Deleted: true}, m.Level)
		}
	case *net.CAS:
		if n.checkKey(c, f.ID, m.Key) && n.checkValue(c, f.ID, m.Old) && n.checkValue(c, f.ID, m.New) && !n.holdsCounter(c, f.ID, m.Key, "cas") && !n.full(c, f.ID) {
			n.startCAS(c, f.ID, m)
		}
	case *net.Incr:
		if n.checkKey(c, f.ID, m.Key) {
			id := f.ID
			n.startIncr(func(a net.Message) { n.reply(c, id, a) }, m, m.First, 0)
		}
	case *net.GetCounter:
		if n.checkKey(c, f.ID, m.Key) {
			n.coordinateReadAs(c, f.ID, m.Key, m.Level, false, true)
		}
	case *net.Batch:
		n.startBatch(c, f.ID, m)
	case *net.Ring:
		n.reply(c, f.ID, n.ringInfo())
	case *net.Compact:
		id := f.ID
		n.Compact(func(_ CompactResult, err error) {
			if err != nil {
				n.fail(c, id, net.CodeInternal, "compaction failed: %v", err)
				return
			}
			n.reply(c, id, &net.Done{})
		})
	default:
		n.fail(c, f.ID, net.CodeUnknownKind, "%s is not a client request", f.Msg.Kind())
	}
}

// checkKey and checkValue validate a request's key and value and reply
// with an error if they are wrong.
func (n *Node) checkKey(c net.ConnID, id uint64, key []byte) bool {
	if err := net.ValidateKey(key); err != nil {
		n.fail(c, id, net.CodeOf(err), "%v", err)
		return false
	}
	if isSystemKey(key) {
		n.fail(c, id, net.CodeUnsupported, "keys that start with %q are reserved for the cluster itself", systemPrefix)
		return false
	}
	return true
}

// full refuses a write that adds data when the node holds MaxMemory bytes
// or more.
func (n *Node) full(c net.ConnID, id uint64) bool {
	if msg := n.overMemory(); msg != "" {
		n.fail(c, id, net.CodeUnavailable, "%s", msg)
		return true
	}
	return false
}

// overMemory says why the node refuses writes that add data, or "".
func (n *Node) overMemory() string {
	if n.cfg.MaxMemory <= 0 || int64(n.store.Bytes()) < n.cfg.MaxMemory {
		return ""
	}
	n.stats.Unavailable++
	return fmt.Sprintf("out of memory: node %d holds %d bytes of keys and values, its max memory is %d; nothing was written (delete keys, or raise -max-memory)", n.cfg.ID, n.store.Bytes(), n.cfg.MaxMemory)
}

func (n *Node) checkValue(c net.ConnID, id uint64, v []byte) bool {
	if err := net.ValidateValue(v); err != nil {
		n.fail(c, id, net.CodeOf(err), "%v", err)
		return false
	}
	return true
}

// ringInfo is the ring clients route by: the read ring (a joining node
// does not own its ranges yet) and every member's address.
func (n *Node) ringInfo() *net.RingInfo {
	ri := &net.RingInfo{Replicas: uint8(n.cfg.ReplicationFactor), Ring: n.view.Read.Encode()}
	for _, id := range n.view.Read.IDs() {
		ri.Addrs = append(ri.Addrs, net.NodeAddr{Node: id, Addr: n.view.Addr(id)})
	}
	return ri
}
