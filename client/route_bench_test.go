package client

import (
	"context"
	"fmt"
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// BenchmarkRoute is the cost routing adds to each call: choosing the first
// node to try for a key (a hash, a binary search over the ring's tokens,
// and a map lookup), on rings of 256 virtual nodes per node at rf 3,
// against the unrouted choice (the node that answered last).
//
//	go test ./client -run '^$' -bench Route -benchmem
func BenchmarkRoute(b *testing.B) {
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%08d", i)
	}
	seeds := []*pool{newPool("seed:1", nil, &session{}, 1)}
	b.Run("unrouted", func(b *testing.B) {
		var cur cursor
		for i := 0; b.Loop(); i++ {
			newCursor(&cur, nil, keys[i%len(keys)], seeds, 0, true)
			if _, _, ok := cur.next(); !ok {
				b.Fatal("no node")
			}
		}
	})
	for _, n := range []int{3, 10, 64} {
		ids := make([]uint16, n)
		for i := range ids {
			ids[i] = uint16(i + 1)
		}
		r := virtualRing(b, 1, ids...)
		m := &net.RingInfo{Replicas: 3, Ring: r.Encode()}
		for _, id := range ids {
			m.Addrs = append(m.Addrs, net.NodeAddr{Node: id, Addr: fmt.Sprintf("10.0.0.%d:7400", id)})
		}
		l, err := parseRing(m)
		if err != nil {
			b.Fatal(err)
		}
		route, err := newRoute(l, seeds, func(addr string) (*pool, error) { return newPool(addr, nil, &session{}, 1), nil })
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var cur cursor
			for i := 0; b.Loop(); i++ {
				newCursor(&cur, route, keys[i%len(keys)], seeds, 0, true)
				if _, _, ok := cur.next(); !ok {
					b.Fatal("no node")
				}
			}
		})
	}
	b.Run("ring.Hash", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			ring.Hash(keys[i%len(keys)])
		}
	})
}

// BenchmarkRoutedGet is Get over loopback against three fake nodes, with
// and without routing, from many goroutines. The fakes answer from a map,
// so this measures the client's path, not a node's.
//
//	go test ./client -run '^$' -bench RoutedGet -benchtime 20000x
func BenchmarkRoutedGet(b *testing.B) {
	fc, _ := startCluster(b, 3, 1, 2, 3)
	for _, routing := range []bool{true, false} {
		b.Run(fmt.Sprintf("routing=%v", routing), func(b *testing.B) {
			c, err := Dial(context.Background(), Options{Addrs: []string{fc.nodes[1].addr()}, NoRouting: !routing})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			keys := testKeys(1024)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for i := 0; pb.Next(); i++ {
					if _, err := c.Get(ctx, keys[i%len(keys)]); err != nil && err != ErrNotFound {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
