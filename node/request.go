package node

import (
	"errors"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
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
			n.get(c, f.ID, m)
		}
	case *net.Contains:
		if n.checkRequest(c, f.ID, m.Key, m.Level, true) {
			n.contains(c, f.ID, m)
		}
	case *net.Set:
		if n.checkRequest(c, f.ID, m.Key, m.Level, false) {
			if err := net.ValidateValue(m.Value); err != nil {
				n.fail(c, f.ID, net.CodeOf(err), "%v", err)
				return
			}
			n.write(c, f.ID, m.Key, store.Version{Value: m.Value})
		}
	case *net.Delete:
		if n.checkRequest(c, f.ID, m.Key, m.Level, false) {
			n.write(c, f.ID, m.Key, store.Version{Deleted: true})
		}
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

func (n *Node) get(c net.ConnID, id uint64, m *net.Get) {
	v, _ := n.store.Get(m.Key)
	if !v.Live() {
		n.reply(c, id, &net.Value{Version: v.Stamp})
		return
	}
	n.reply(c, id, &net.Value{Found: true, Version: v.Stamp, Value: v.Value})
}

func (n *Node) contains(c net.ConnID, id uint64, m *net.Contains) {
	v, _ := n.store.Get(m.Key)
	n.reply(c, id, &net.Bool{Value: v.Live()})
}

// write stamps v with a fresh timestamp, appends it to the log, and once the
// log says it is durable (per the fsync mode) applies it and acknowledges
// it. Applying only then keeps reads from seeing a write that a crash could
// still take back: with fsync=always, everything a read returns survives.
func (n *Node) write(c net.ConnID, id uint64, key []byte, v store.Version) {
	if n.err != nil {
		n.fail(c, id, net.CodeUnavailable, "node %d cannot write until it restarts: %v", n.cfg.ID, n.err)
		return
	}
	v.Stamp = n.lamport.Tick()
	n.seq++
	rec := versionRecord(key, v)
	rec.Origin, rec.Seq = uint16(n.cfg.ID), n.seq
	if err := n.log.Append(rec); err != nil {
		// Nothing was written: the request failed cleanly.
		n.seq--
		if errors.Is(err, oplog.ErrBroken) {
			n.broke(err)
		}
		n.fail(c, id, net.CodeUnavailable, "node %d could not log the write, so did not make it: %v", n.cfg.ID, err)
		return
	}
	n.log.Commit(func(err error) {
		if err != nil {
			// The record may or may not be on disk: the outcome is unknown,
			// and a log whose fsync failed cannot be trusted again.
			n.broke(err)
			n.fail(c, id, net.CodeUnknownOutcome, "node %d: syncing the operation log failed: %v", n.cfg.ID, err)
			return
		}
		n.store.Apply(key, v)
		n.stats.Writes++
		n.reply(c, id, &net.Done{Version: v.Stamp})
		n.maybeCompact()
	})
}
