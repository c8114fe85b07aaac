package gossip

// SetRing moves this node to ring version v and spreads the record: how the
// node walks its own phases on the ring (the node gives the versions
// meaning; gossip only merges them by maximum). An even v makes the node
// Left, as Leave does. A v not above the current version, or a call before
// Start or after leaving, changes nothing and returns nil.
func (g *Gossip) SetRing(v uint32) []Out {
	s := &g.self.m
	if !g.started || s.State == Left || v <= s.Ring {
		return nil
	}
	if v%2 == 0 {
		s.Ring = v - 1 // Leave takes the next even version: v
		return g.Leave()
	}
	s.Ring = v
	g.self.changed = true
	var outs []Out
	for _, id := range g.ids {
		if e := g.members[id]; e != g.self && live(e.m) {
			outs = append(outs, g.send(id, &message{kind: kindPing, target: id}))
		}
	}
	return outs
}

// SyncWith sends member id this node's full state, which it answers with
// its own: for a node that saw a peer on a different ring epoch.
func (g *Gossip) SyncWith(id uint16) []Out {
	if !g.started || id == g.self.m.ID {
		return nil
	}
	if _, ok := g.members[id]; !ok {
		return nil
	}
	return []Out{g.pushPull(id)}
}
