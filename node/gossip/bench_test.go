package gossip

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// cluster returns a started Gossip for node 1 that knows n-1 other members.
func cluster(b *testing.B, n int) *Gossip {
	g, err := New(Member{ID: 1, Addr: "n1:7000", Vnodes: 256, Ring: 1}, DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	var ms []Member
	for id := 2; id <= n; id++ {
		ms = append(ms, Member{ID: uint16(id), Addr: fmt.Sprintf("10.0.%d.%d:7000", id/256, id%256), Incarnation: 1, Ring: 3, Vnodes: 256})
	}
	g.Restore(ms)
	g.Start(0, nil)
	g.Changes()
	return g
}

// BenchmarkPing measures handling one ping and encoding its ack.
func BenchmarkPing(b *testing.B) {
	g := cluster(b, 100)
	ping := (&message{kind: kindPing, seq: 1, target: 1, from: Member{ID: 2, Addr: "10.0.0.2:7000", Incarnation: 1, Ring: 3, Vnodes: 256}}).encode(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Receive(time.Second, 2, ping); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushPull measures answering a push-pull of a 100-member cluster:
// decoding and merging its state, encoding the reply.
func BenchmarkPushPull(b *testing.B) {
	g := cluster(b, 100)
	req := (&message{kind: kindPushPull, from: Member{ID: 2, Addr: "10.0.0.2:7000", Incarnation: 1, Ring: 3, Vnodes: 256}, members: g.Members()}).encode(nil)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Receive(time.Second, 2, req); err != nil {
			b.Fatal(err)
		}
	}
}
