package client

import (
	"errors"
	"fmt"
	stdnet "net"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// errRing wraps every reason a RingInfo answer cannot be used. A node's
// ring bytes that do not decode wrap ring.ErrCorrupt or ring.ErrVersion
// too.
var errRing = errors.New("unusable ring")

// errNoRing means a node does not serve the ring (it answered Ring with
// CodeUnknownKind): the client keeps to the addresses it was given.
var errNoRing = errors.New("the node does not serve the ring")

// layout is a RingInfo checked and decoded: what a route is built from.
type layout struct {
	ring ring.Ring
	rf   int
	// addrs are the dialable addresses by node id: ring members, and
	// nodes the ring does not hold yet (joining), which serve only as
	// fallbacks.
	addrs map[uint16]string
}

// parseRing checks and decodes a node's RingInfo. It never panics: bad
// bytes or impossible values are an error wrapping errRing.
//
// An address the client cannot dial as given — empty, without a port, or
// with an unspecified host such as 0.0.0.0 or "" (a node that listens on
// every interface and advertises that) — is left out, and its node is
// then reached only through another node. A member with no usable address
// is not an error, but a ring none of whose members has one is.
func parseRing(m *net.RingInfo) (layout, error) {
	if m.Replicas == 0 {
		return layout{}, fmt.Errorf("%w: replication factor 0", errRing)
	}
	r, err := ring.Decode(m.Ring)
	if err != nil {
		return layout{}, fmt.Errorf("%w: %w", errRing, err)
	}
	if r.Len() == 0 {
		return layout{}, fmt.Errorf("%w: the ring has no members", errRing)
	}
	l := layout{ring: r, rf: int(m.Replicas), addrs: make(map[uint16]string, len(m.Addrs))}
	routable := false
	seen := make(map[uint16]bool, len(m.Addrs))
	for _, a := range m.Addrs {
		if seen[a.Node] {
			return layout{}, fmt.Errorf("%w: node %d has two addresses", errRing, a.Node)
		}
		seen[a.Node] = true
		if !dialable(a.Addr) {
			continue
		}
		l.addrs[a.Node] = a.Addr
		routable = routable || r.Has(a.Node)
	}
	if !routable {
		return layout{}, fmt.Errorf("%w: no member of the ring has an address this client can dial", errRing)
	}
	return l, nil
}

// dialable reports whether addr names one host and a port.
func dialable(addr string) bool {
	host, port, err := stdnet.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return false
	}
	ip := stdnet.ParseIP(host)
	return ip == nil || !ip.IsUnspecified()
}

// route is a layout bound to connection pools: where each keyed call
// goes. It is immutable once built; the Client swaps in a new one when it
// learns a newer ring.
type route struct {
	ring  ring.Ring
	rf    int
	epoch uint64
	// nodes are the pools of the members with an address, by id.
	nodes map[uint16]*pool
	// all is every node known, for calls none of whose replicas answer:
	// the members with an address (by id), the joining nodes, then the
	// addresses of Options.Addrs that are none of these.
	all []*pool
}

// newRoute binds l to pools, which poolFor returns by address (one pool per
// address); seeds are Options.Addrs' pools.
func newRoute(l layout, seeds []*pool, poolFor func(string) (*pool, error)) (*route, error) {
	r := &route{ring: l.ring, rf: l.rf, epoch: l.ring.Epoch(), nodes: make(map[uint16]*pool, len(l.addrs))}
	known := make(map[string]bool, len(l.addrs))
	add := func(id uint16, member bool) error {
		addr, ok := l.addrs[id]
		if !ok || known[addr] {
			return nil
		}
		p, err := poolFor(addr)
		if err != nil {
			return err
		}
		known[addr] = true
		if member {
			r.nodes[id] = p
		}
		r.all = append(r.all, p)
		return nil
	}
	for _, id := range l.ring.IDs() {
		if err := add(id, true); err != nil {
			return nil, err
		}
	}
	for id := range l.addrs {
		if !l.ring.Has(id) {
			if err := add(id, false); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range seeds {
		if !known[p.addr] {
			known[p.addr] = true
			r.all = append(r.all, p)
		}
	}
	return r, nil
}

// cursor yields the pools a call tries, in order. Keyed on a route, that
// is the key's replicas in preference order, then every other node known;
// pools that are down come last, in the same order. Otherwise it is
// Options.Addrs, starting with the one that answered last. Each pool is
// offered at most once.
//
// The order is computed lazily: the common call takes only the first pool,
// which costs one ring lookup.
type cursor struct {
	r *route
	// health puts slow pools with those that are down.
	health bool
	seeds  []*pool
	start  int
	ids    []uint16 // the key's preference list; nil if not routed
	buf    [8]uint16
	phase  int // routed: 0 replicas, 1 other nodes, 2 the pools skipped as down
	i      int
	later  []*pool // pools skipped as down, in the order met
	now    int64   // clockNow, once read
}

// newCursor starts the order of a call about key (nil: not keyed). r is
// nil when the client has no route. With health, slow pools are tried
// last, as those that are down.
func newCursor(cur *cursor, r *route, key []byte, seeds []*pool, start int, health bool) {
	*cur = cursor{seeds: seeds, start: start, health: health}
	if r != nil && key != nil {
		cur.r = r
		cur.ids = r.ring.AppendReplicasOf(cur.buf[:0], ring.Hash(key), r.rf)
	}
}

// next returns the next pool to try; ok is false once every pool was
// offered. seed is the pool's index in Options.Addrs when the call is not
// routed, else -1.
func (c *cursor) next() (p *pool, seed int, ok bool) {
	if c.r == nil {
		if c.i >= len(c.seeds) {
			return nil, -1, false
		}
		k := (c.start + c.i) % len(c.seeds)
		c.i++
		return c.seeds[k], k, true
	}
	for {
		switch c.phase {
		case 0:
			for c.i < len(c.ids) {
				p := c.r.nodes[c.ids[c.i]]
				c.i++
				if p != nil && c.up(p) {
					return p, -1, true
				}
			}
		case 1:
			for c.i < len(c.r.all) {
				p := c.r.all[c.i]
				c.i++
				if !c.replica(p) && c.up(p) {
					return p, -1, true
				}
			}
		case 2:
			if c.i < len(c.later) {
				c.i++
				return c.later[c.i-1], -1, true
			}
			return nil, -1, false
		}
		c.phase++
		c.i = 0
	}
}

// lastResort reports whether the pools offered now are those that were
// skipped as down or slow: after them, there is no other.
func (c *cursor) lastResort() bool { return c.r == nil || c.phase == 2 }

// up reports whether p is up (and, with health, not slow); a pool that is
// not is kept for the end.
func (c *cursor) up(p *pool) bool {
	if p.down(&c.now) || c.health && p.health.isSlow() {
		c.later = append(c.later, p)
		return false
	}
	return true
}

// replica reports whether p is the pool of one of the key's replicas.
func (c *cursor) replica(p *pool) bool {
	for _, id := range c.ids {
		if c.r.nodes[id] == p {
			return true
		}
	}
	return false
}
