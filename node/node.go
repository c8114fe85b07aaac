package node

import (
	"fmt"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// Node is one memdb node. Its methods must be called from one goroutine (or
// the simulator's single thread), one at a time; see the package doc.
type Node struct {
	cfg     Config
	env     Env
	lamport *clock.Lamport
	store   *store.Store
	started bool
	stopped bool
	stats   Stats
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

// Start boots the node. It must be called once, before any other event.
func (n *Node) Start() {
	if n.started {
		panic("node: Start called twice")
	}
	n.started = true
	n.env.Log.Info("node started", "id", n.cfg.ID)
}

// Stop ends the node's work: new requests are refused, and done is called
// on the loop once everything the node acknowledged is durable.
func (n *Node) Stop(done func()) {
	n.stopped = true
	done()
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
