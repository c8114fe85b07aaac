package node

import (
	"fmt"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// Node is one memdb node. Its methods must be called from one goroutine (or
// the simulator's single thread), one at a time; see the package doc.
type Node struct {
	cfg     Config
	env     Env
	lamport *clock.Lamport
	store   *store.Store
	log     *oplog.Log
	// seq numbers the writes this node coordinates, so a peer can ask for
	// exactly the ones it missed.
	seq     uint64
	started bool
	stopped bool
	// compacting is true while a compaction runs; compactWaiters are told
	// when it ends; logAtCompact is the log's appended bytes when the last
	// one started, to measure growth since.
	compacting     bool
	compactWaiters []func(CompactResult, error)
	logAtCompact   int64
	// err, once set, is why the node cannot go on (its log broke); the host
	// must stop it and start it again, which replays the log.
	err   error
	stats Stats
}

// Stats counts what a node has done, for metrics and tests.
type Stats struct {
	Requests uint64 // client requests received
	Errors   uint64 // error replies sent
	Writes   uint64 // writes applied to the store
}

// New returns a node that has not started. It validates cfg (filling its
// defaults) and env.
func New(cfg Config, env Env) (*Node, error) {
	// The log runs on the node's loop: its timers and offloaded work go
	// through the node's Env.
	cfg.Log.Clock, cfg.Log.Offload = env.Clock, env.Offload
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	if err := env.validate(); err != nil {
		return nil, err
	}
	return &Node{
		cfg:     cfg,
		env:     env,
		lamport: clock.NewLamport(uint16(cfg.ID), 0),
		store:   store.New(),
	}, nil
}

// ID returns the node's id.
func (n *Node) ID() net.NodeID { return n.cfg.ID }

// Start boots the node: it replays the operation log into the store and
// starts the Lamport clock after every timestamp the log holds, so the clock
// never goes backward across a restart. It must be called once, before any
// other event. An error (a corrupt log, an unreadable disk) means the node
// cannot serve; the host reports it and exits.
func (n *Node) Start() error {
	if n.started {
		panic("node: Start called twice")
	}
	n.started = true
	lcfg := n.cfg.Log
	l, rep, err := oplog.Open(n.env.Disk, lcfg, n.replay)
	if err != nil {
		n.err = fmt.Errorf("replay the operation log: %w", err)
		return n.err
	}
	n.log = l
	n.lamport = clock.NewLamport(uint16(n.cfg.ID), rep.MaxCounter)
	n.seq = rep.MaxSeq[uint16(n.cfg.ID)]
	// What was replayed counts as growth toward the next compaction, so a
	// node that restarts often still compacts.
	n.logAtCompact = -rep.Bytes
	if rep.Torn != nil {
		n.env.Log.Warn("cut a torn tail off the operation log", "segment", rep.Torn.Segment, "offset", rep.Torn.Offset, "bytes", rep.Torn.Bytes)
	}
	if len(rep.Removed) > 0 {
		n.env.Log.Info("removed files left by an interrupted roll or compaction", "files", rep.Removed)
	}
	n.env.Log.Info("node started", "id", n.cfg.ID, "fsync", lcfg.Mode, "records", rep.Records, "log_bytes", rep.Bytes,
		"keys", n.store.Len(), "clock", n.lamport.Now().String())
	return nil
}

// replay applies one record of the log at boot.
func (n *Node) replay(r oplog.Record) error {
	v := store.Version{Stamp: r.Stamp}
	switch r.Type {
	case oplog.TypeSet:
		v.Value = r.Value
	case oplog.TypeDelete:
		v.Deleted = true
	default:
		return fmt.Errorf("record type %v at stamp %v is not one this node applies", r.Type, r.Stamp)
	}
	n.store.Apply(r.Key, v)
	return nil
}

// Stop ends the node's work: new requests are refused, and done is called
// on the loop once everything the node wrote is durable (whatever the fsync
// mode) and the log is closed.
func (n *Node) Stop(done func()) {
	n.stopped = true
	if n.log == nil {
		done()
		return
	}
	n.log.Sync(func(err error) {
		if err != nil {
			n.env.Log.Error("final sync of the operation log failed", "err", err)
		}
		if err := n.log.Close(); err != nil {
			n.env.Log.Error("closing the operation log failed", "err", err)
		}
		n.log = nil
		done()
	})
}

// Err returns why the node cannot go on, or nil. Once set it stays set:
// the host must stop the node and start a new one on the same disk.
func (n *Node) Err() error { return n.err }

// broke records that the node cannot go on.
func (n *Node) broke(err error) {
	if n.err == nil {
		n.err = err
		n.env.Log.Error("node cannot go on; restart it", "err", err)
	}
}

// Clock returns the node's Lamport clock reading.
func (n *Node) Clock() clock.Timestamp { return n.lamport.Now() }

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// Store gives read access to the node's table, for checkers and the admin
// API. Callers must not modify what it returns.
func (n *Node) Store() *store.Store { return n.store }

// Deliver handles a message from peer node from.
func (n *Node) Deliver(from net.NodeID, f net.Frame) {
	n.lamport.Observe(f.Clock)
	n.env.Log.Debug("dropping unexpected peer message", "from", from, "kind", f.Msg.Kind())
}

// Disconnected tells the node that client connection c has closed: replies
// to it will be dropped.
func (n *Node) Disconnected(c net.ConnID) {}

// reply sends m to client connection c in answer to request id, stamped
// with the node's clock.
func (n *Node) reply(c net.ConnID, id uint64, m net.Message) {
	if _, ok := m.(*net.Error); ok {
		n.stats.Errors++
	}
	n.env.Transport.Reply(c, net.Frame{ID: id, Clock: n.lamport.Now(), Msg: m})
}

func (n *Node) fail(c net.ConnID, id uint64, code net.Code, format string, args ...any) {
	n.reply(c, id, &net.Error{Code: code, Message: fmt.Sprintf(format, args...)})
}
