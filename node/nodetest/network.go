package nodetest

import (
	"fmt"
	"slices"

	"github.com/memdb/memdb/net"
)

// Msg is a peer message in flight: the frame as bytes, encoded by the net
// codec when it was sent and decoded only when it is delivered, as the
// simulator does, so no node ever holds another's memory.
type Msg struct {
	From, To net.NodeID
	Kind     net.Kind
	Frame    []byte
}

// String describes the message, decoding a copy of its frame.
func (m Msg) String() string {
	f, err := decode(m.Frame)
	if err != nil {
		return fmt.Sprintf("%d→%d undecodable %s frame: %v", m.From, m.To, m.Kind, err)
	}
	return fmt.Sprintf("%d→%d %s", m.From, m.To, FormatFrame(f))
}

func decode(b []byte) (net.Frame, error) {
	f, n, err := net.Decode(b)
	if err == nil && n != len(b) {
		err = fmt.Errorf("%d bytes left after the frame", len(b)-n)
	}
	return f, err
}

// Filter picks messages in the queue. Zero fields match anything.
type Filter struct {
	From, To net.NodeID
	Kinds    []net.Kind
	// Gossip includes gossip frames; without it a filter naming no kind
	// matches every kind but gossip.
	Gossip bool
}

func (f Filter) match(m Msg) bool {
	switch {
	case f.From != 0 && m.From != f.From, f.To != 0 && m.To != f.To:
		return false
	case len(f.Kinds) > 0:
		return slices.Contains(f.Kinds, m.Kind)
	}
	return f.Gossip || m.Kind != net.KindGossip
}

// transport is one incarnation's net.Transport: Send queues the encoded
// frame on the cluster's network, Reply decodes the answer and prints it
// (a client's connection is not a thing the tests hold back).
type transport struct {
	h   *Host
	inc uint64
}

var _ net.Transport = transport{}

func (t transport) Send(to net.Peer, f net.Frame) {
	c := t.h.c
	if !t.h.alive(t.inc) {
		return
	}
	id := to.ID
	if id == 0 {
		fmt.Sscanf(to.Addr, "node-%d", &id)
	}
	m := Msg{From: t.h.id, To: id, Kind: f.Msg.Kind(), Frame: net.Encode(f)}
	if id == 0 || id == t.h.id {
		return // an address no node listens on, or itself: the simulator drops these too
	}
	c.msgs = append(c.msgs, m)
	if m.Kind != net.KindGossip || c.ShowGossip {
		c.effect("send %s", m)
	}
}

func (t transport) Reply(conn net.ConnID, f net.Frame) {
	if !t.h.alive(t.inc) {
		return
	}
	g, err := decode(net.Encode(f))
	if err != nil {
		panic(fmt.Sprintf("nodetest: node %d replied with a frame that does not decode: %v", t.h.id, err))
	}
	t.h.c.reply(t.h, conn, g)
}

// Deliver hands the messages that match f, as they are queued now, to
// their recipients, oldest first; up to n of them if n >= 0. With drop the
// messages are lost instead; with dup each is delivered and a copy is put
// back at the end of the queue (the network duplicated it). A message to
// a node that is down is lost. It returns how many matched.
func (c *Cluster) Deliver(f Filter, n int, drop, dup bool) int {
	var picked []Msg
	rest := c.msgs[:0:0]
	for _, m := range c.msgs {
		if f.match(m) && (n < 0 || len(picked) < n) {
			picked = append(picked, m)
		} else {
			rest = append(rest, m)
		}
	}
	c.msgs = rest
	for _, m := range picked {
		c.deliver(m, drop, dup)
	}
	return len(picked)
}

func (c *Cluster) deliver(m Msg, drop, dup bool) {
	show := m.Kind != net.KindGossip || c.ShowGossip
	h := c.hosts[m.To]
	switch {
	case drop:
		c.step("drop "+m.String(), show, func() {})
		return
	case h == nil || !h.up:
		c.step("lost "+m.String()+" (node down)", show, func() {})
		return
	}
	if dup {
		c.msgs = append(c.msgs, m)
	}
	f, err := decode(m.Frame)
	if err != nil {
		panic(fmt.Sprintf("nodetest: %v", err))
	}
	c.step("deliver "+m.String(), show, func() { h.call(func() { h.n.Deliver(m.From, f) }) })
}

// Msgs returns the queued messages that match f, oldest first.
func (c *Cluster) Msgs(f Filter) []Msg {
	var out []Msg
	for _, m := range c.msgs {
		if f.match(m) {
			out = append(out, m)
		}
	}
	return out
}
