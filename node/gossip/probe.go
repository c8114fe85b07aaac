package gossip

import (
	"slices"
	"time"
)

// probe is the one probe a node has in flight: SWIM's failure detection
// round. It pings target; at ProbeTimeout without an ack it asks
// IndirectProbes members to ping-req target for it; at ProbeInterval without
// an ack, direct or relayed, target becomes Suspect.
type probe struct {
	active   bool
	seq      uint64
	target   uint16
	start    time.Duration
	indirect bool // ping-reqs sent
}

// relay is a ping this node sent on behalf of another's ping-req: an ack
// for seq from target is forwarded to origin as an ack for originSeq.
type relay struct {
	seq       uint64
	target    uint16
	origin    uint16
	originSeq uint64
	until     time.Duration
}

// Tick advances the protocol to time now and returns what is due: the next
// probe, ping-reqs for an unanswered one, suspicions that expired into
// Dead, a periodic push-pull, and seed contacts while the node knows no live
// member. The node calls it often (every ProbeInterval/4 or so); how often
// only bounds how late a timeout is noticed. now must not go backwards.
// Before Start, and after Leave, it does nothing.
func (g *Gossip) Tick(now time.Duration) []Out {
	if !g.started || g.self.m.State == Left {
		return nil
	}
	var outs []Out
	g.expireSuspicions(now)
	g.expireRelays(now)
	if p := &g.probe; p.active {
		if !p.indirect && now >= p.start+g.cfg.ProbeTimeout {
			p.indirect = true
			outs = g.pingReqs(outs)
		}
		if now >= p.start+g.cfg.ProbeInterval {
			p.active = false
			g.suspect(now, p.target)
		}
	}
	if !g.probe.active && now >= g.nextProbe {
		g.nextProbe = now + g.cfg.ProbeInterval
		if id, ok := g.nextTarget(); ok {
			g.seq++
			g.probe = probe{active: true, seq: g.seq, target: id, start: now}
			outs = append(outs, g.send(id, &message{kind: kindPing, seq: g.seq, target: id}))
		}
	}
	if now >= g.nextPushPull {
		g.nextPushPull = now + g.cfg.PushPullInterval
		if id, ok := g.pick(live); ok {
			outs = append(outs, g.pushPull(id))
		}
		outs = g.reconnect(outs)
	}
	if now >= g.nextSeed && (!g.joined && len(g.seeds) > 0 || !g.knowsLive()) {
		g.nextSeed = now + g.cfg.SeedRetry
		outs = g.contactSeeds(outs)
		if len(g.seeds) == 0 {
			outs = g.reconnect(outs)
		}
	}
	return outs
}

// maxSeedRounds is how many seed rounds' answers are still recognized.
const maxSeedRounds = 8

// contactSeeds push-pulls every seed under one fresh sequence number, which
// the answers echo: an answer to any recent round means the join succeeded.
func (g *Gossip) contactSeeds(outs []Out) []Out {
	if len(g.seeds) == 0 {
		return outs
	}
	g.seq++
	if len(g.seedSeqs) == maxSeedRounds {
		g.seedSeqs = append(g.seedSeqs[:0], g.seedSeqs[1:]...)
	}
	g.seedSeqs = append(g.seedSeqs, g.seq)
	for _, a := range g.seeds {
		outs = append(outs, g.sendAddr(a, &message{kind: kindPushPull, seq: g.seq, members: g.Members()}))
	}
	return outs
}

// reconnect push-pulls one random Dead member. Nobody probes the dead, so
// without it a node declared dead across a partition that healed, and
// itself believing the others dead, would never hear of them again.
func (g *Gossip) reconnect(outs []Out) []Out {
	if id, ok := g.pick(func(m Member) bool { return m.State == Dead }); ok {
		outs = append(outs, g.pushPull(id))
	}
	return outs
}

// knowsLive reports whether some member other than self is Alive or Suspect.
func (g *Gossip) knowsLive() bool {
	for _, e := range g.list {
		if e != g.self && live(e.m) {
			return true
		}
	}
	return false
}

// nextTarget returns the next member to probe: SWIM's shuffled round-robin.
// Each round visits every live member once, in an order drawn from rng;
// members that died or left since the round began are skipped, and members
// that joined wait for the next round.
func (g *Gossip) nextTarget() (uint16, bool) {
	for range 2 {
		for g.next < len(g.order) {
			id := g.order[g.next]
			g.next++
			if e := g.members[id]; e != g.self && live(e.m) {
				return id, true
			}
		}
		g.order = g.order[:0]
		for _, e := range g.list {
			if e != g.self && live(e.m) {
				g.order = append(g.order, e.m.ID)
			}
		}
		g.rng.Shuffle(len(g.order), func(i, j int) { g.order[i], g.order[j] = g.order[j], g.order[i] })
		g.next = 0
	}
	return 0, false
}

// pingReqs asks up to IndirectProbes random live members, other than the
// target, to probe the target of the probe in flight.
func (g *Gossip) pingReqs(outs []Out) []Out {
	p := g.probe
	var cand []uint16
	for _, e := range g.list {
		if e != g.self && e.m.ID != p.target && e.m.State == Alive {
			cand = append(cand, e.m.ID)
		}
	}
	for i := 0; i < g.cfg.IndirectProbes && i < len(cand); i++ {
		j := i + g.rng.IntN(len(cand)-i)
		cand[i], cand[j] = cand[j], cand[i]
		outs = append(outs, g.send(cand[i], &message{kind: kindPingReq, seq: p.seq, target: p.target}))
	}
	return outs
}

// suspect marks an Alive member Suspect at its current incarnation, after a
// failed probe. The member refutes if it hears of it in time.
func (g *Gossip) suspect(now time.Duration, id uint16) {
	e, ok := g.members[id]
	if !ok || e.m.State != Alive {
		return
	}
	e.m.State = Suspect
	e.suspectUntil = now + g.cfg.SuspicionTimeout(g.population())
	g.updated(e)
}

// expireSuspicions declares Dead every member whose suspicion timed out.
func (g *Gossip) expireSuspicions(now time.Duration) {
	for _, e := range g.list {
		if e.m.State == Suspect && e != g.self && now >= e.suspectUntil {
			e.m.State = Dead
			g.updated(e)
		}
	}
}

// expireRelays forgets ping-reqs whose answer would come too late to help.
func (g *Gossip) expireRelays(now time.Duration) {
	g.relays = slices.DeleteFunc(g.relays, func(r relay) bool { return now >= r.until })
}
