package view

import (
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// Arc is a stretch of the ring between consecutive tokens of either ring,
// with its replicas on each.
type Arc struct {
	Span  net.Span
	Read  []uint16
	Write []uint16
}

// Arcs cuts the ring at every token of the read and write rings, in token
// order.
func (v View) Arcs() []Arc {
	var tokens []uint64
	for _, r := range []ring.Ring{v.Read, v.Write} {
		for _, m := range r.Members() {
			tokens = append(tokens, m.Tokens...)
		}
	}
	slices.Sort(tokens)
	tokens = slices.Compact(tokens)
	if len(tokens) == 0 {
		return nil
	}
	as := make([]Arc, len(tokens))
	for i, t := range tokens {
		prev := tokens[(i+len(tokens)-1)%len(tokens)]
		as[i] = Arc{Span: net.Span{Start: prev, End: t}, Read: v.Read.ReplicasOf(t, v.rf), Write: v.Write.ReplicasOf(t, v.rf)}
	}
	return as
}

// Shared is, for each other member that owns some of the arcs member self
// owns — or, if taking, will own once its join is done — those arcs, in
// token order.
func (v View) Shared(self uint16, taking bool) map[uint16][]net.Span {
	shared := map[uint16][]net.Span{}
	for _, a := range v.Arcs() {
		mine := a.Read
		if taking {
			mine = a.Write
		}
		if !slices.Contains(mine, self) {
			continue
		}
		for _, r := range a.Read {
			if r != self {
				shared[r] = append(shared[r], a.Span)
			}
		}
	}
	return shared
}
