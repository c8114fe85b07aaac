package node

import (
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
	n.lamport.Observe(f.Clock)
	if n.stopped || !n.started {
		n.fail(c, f.ID, net.CodeShuttingDown, "node %d is not serving (stopping or not started); retry on another node", n.cfg.ID)
		return
	}
	switch m := f.Msg.(type) {
	case *net.Get:
		if n.checkRequest(c, f.ID, m.Key, m.Level, true) {
			n.coordinateRead(c, f.ID, m.Key, m.Level, false)
		}
	case *net.Contains:
		if n.checkRequest(c, f.ID, m.Key, m.Level, true) {
			n.coordinateRead(c, f.ID, m.Key, m.Level, true)
		}
	case *net.Set:
		if n.checkRequest(c, f.ID, m.Key, m.Level, false) {
			if err := net.ValidateValue(m.Value); err != nil {
				n.fail(c, f.ID, net.CodeOf(err), "%v", err)
				return
			}
			n.coordinateWrite(c, f.ID, m.Key, store.Version{Value: m.Value}, m.Level)
		}
	case *net.Delete:
		if n.checkRequest(c, f.ID, m.Key, m.Level, false) {
			n.coordinateWrite(c, f.ID, m.Key, store.Version{Deleted: true}, m.Level)
		}
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

// checkRequest validates the parts every keyed request shares and replies
// with an error if they are wrong.
func (n *Node) checkRequest(c net.ConnID, id uint64, key []byte, level net.Consistency, read bool) bool {
	if err := net.ValidateKey(key); err != nil {
		n.fail(c, id, net.CodeOf(err), "%v", err)
		return false
	}
	if level == net.Serial {
		if !read {
			n.fail(c, id, net.CodeUnsupported, "serial is a read consistency; writes use one, quorum or all (or cas)")
		} else {
			n.fail(c, id, net.CodeUnsupported, "serial reads need per-key Paxos, which this version does not have yet")
		}
		return false
	}
	return true
}

// ringInfo is the ring clients route by: the read ring (a joining node
// does not own its ranges yet) and every member's address.
func (n *Node) ringInfo() *net.RingInfo {
	ri := &net.RingInfo{Replicas: uint8(n.cfg.ReplicationFactor), Ring: n.view.read.Encode()}
	for _, id := range n.view.read.IDs() {
		ri.Addrs = append(ri.Addrs, net.NodeAddr{Node: id, Addr: n.view.addrs[id]})
	}
	return ri
}
