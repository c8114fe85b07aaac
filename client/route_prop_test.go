package client

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"pgregory.net/rapid"
)

// Any RingInfo: parseRing never panics, refuses exactly what cannot be
// routed by, and a route's cursor offers every node it knows exactly once:
// the key's replicas first, in preference order, and pools that are down
// after every pool that is up.
//
// Reproduce a failure with go test ./client -run TestPropRoute
// -rapid.seed=N (rapid prints N).
func TestPropRoute(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		ids := rapid.SliceOfNDistinct(rapid.Uint16Range(1, 12), 1, 6, rapid.ID[uint16]).Draw(rt, "ids")
		r, err := ring.New(rapid.Uint64Range(0, 3).Draw(rt, "epoch"), ring.Virtual(ids, rapid.IntRange(1, 8).Draw(rt, "vnodes")))
		if err != nil {
			rt.Fatal(err)
		}
		m := &net.RingInfo{Replicas: uint8(rapid.IntRange(0, 5).Draw(rt, "rf")), Ring: r.Encode()}
		mangled := false
		switch rapid.IntRange(0, 3).Draw(rt, "bytes") {
		case 1:
			i := rapid.IntRange(0, len(m.Ring)-1).Draw(rt, "flip")
			m.Ring[i] ^= byte(rapid.IntRange(1, 255).Draw(rt, "xor"))
			mangled = true
		case 2:
			m.Ring = rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(rt, "random")
			mangled = true
		}
		kinds := []string{"ok", "ok", "ok", "none", "unspecified", "empty", "no port"}
		for _, id := range rapid.SliceOfN(rapid.Uint16Range(1, 14), 0, 10).Draw(rt, "addressed") {
			var addr string
			switch rapid.SampledFrom(kinds).Draw(rt, "address") {
			case "ok":
				addr = fmt.Sprintf("10.0.0.%d:7400", id)
			case "none":
				continue
			case "unspecified":
				addr = "0.0.0.0:7400"
			case "no port":
				addr = "node"
			}
			m.Addrs = append(m.Addrs, net.NodeAddr{Node: id, Addr: addr})
		}

		l, err := parseRing(m)
		if err != nil && !errors.Is(err, errRing) {
			rt.Fatalf("parseRing: %v does not wrap errRing", err)
		}
		if !mangled {
			routable, dup := false, false
			seen := map[uint16]bool{}
			for _, a := range m.Addrs {
				routable = routable || r.Has(a.Node) && dialable(a.Addr)
				dup = dup || seen[a.Node]
				seen[a.Node] = true
			}
			if wantOK := m.Replicas > 0 && !dup && routable; (err == nil) != wantOK {
				rt.Fatalf("parseRing of %+v: got %v, want success %v", m, err, wantOK)
			}
		}
		if err != nil {
			return
		}

		pools := map[string]*pool{}
		poolFor := func(addr string) (*pool, error) {
			if pools[addr] == nil {
				pools[addr] = newPool(addr, nil, &session{}, 1)
			}
			return pools[addr], nil
		}
		var seeds []*pool
		for _, a := range rapid.SliceOfN(rapid.SampledFrom([]string{"10.0.0.1:7400", "10.0.0.2:7400", "seed:1", "seed:2"}), 1, 3).Draw(rt, "seeds") {
			p, _ := poolFor(a)
			seeds = append(seeds, p)
		}
		route, err := newRoute(l, seeds, poolFor)
		if err != nil {
			rt.Fatalf("newRoute: %v", err)
		}
		addrs := map[string]bool{}
		for _, p := range route.all {
			if addrs[p.addr] {
				rt.Fatalf("route.all holds %s twice", p.addr)
			}
			addrs[p.addr] = true
		}
		for _, p := range seeds {
			if !addrs[p.addr] {
				rt.Fatalf("route.all lacks the seed %s", p.addr)
			}
		}
		for _, p := range route.all {
			if rapid.Bool().Draw(rt, "down "+p.addr) {
				p.downUntil.Store(math.MaxInt64)
			}
		}

		for i := range 8 {
			key := []byte(fmt.Sprintf("key-%d", i))
			var cur cursor
			newCursor(&cur, route, key, seeds, 0, false)
			var order []*pool
			for p, seed, ok := cur.next(); ok; p, seed, ok = cur.next() {
				if seed != -1 {
					rt.Fatalf("a routed call was offered seed index %d", seed)
				}
				order = append(order, p)
			}
			sorted := func(ps []*pool) []string {
				var s []string
				for _, p := range ps {
					s = append(s, p.addr)
				}
				slices.Sort(s)
				return s
			}
			if got, want := sorted(order), sorted(route.all); !slices.Equal(got, want) {
				rt.Fatalf("key %q: offered %v; want each of %v once", key, got, want)
			}
			var now int64
			firstDown := slices.IndexFunc(order, func(p *pool) bool { return p.down(&now) })
			if firstDown >= 0 && slices.ContainsFunc(order[firstDown:], func(p *pool) bool { return !p.down(&now) }) {
				rt.Fatalf("key %q: a pool that is up was offered after one that is down", key)
			}
			var want []string
			for _, id := range r.Replicas(key, l.rf) {
				if p := route.nodes[id]; p != nil && !p.down(&now) {
					want = append(want, p.addr)
				}
			}
			var got []string
			for _, p := range order[:len(want)] {
				got = append(got, p.addr)
			}
			if !slices.Equal(got, want) {
				rt.Fatalf("key %q: first offered %v; want its replicas that are up, in order: %v", key, got, want)
			}
		}
	})
}
