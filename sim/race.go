package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/memdb/memdb/net"
)

// Race sharpens a Paxos race: it makes likely what a swarm's usual draws
// line up on no seed in hundreds. Its target is the window a durable
// promise exists for: an acceptor A promises ballot c to proposer Q, then
// ballot b > c to proposer P, and crashes; an acceptor that forgot its
// promises when it restarted (node.MutantForgetPromise) would accept Q's
// proposal at c on its way, and a second acceptor that had not yet heard
// of b would too, so c's value is chosen — while P, whose prepare quorum
// (A among it) saw nothing of c, gets its own value chosen at b. That
// needs two proposers on different nodes running at once, a crash right
// after a promise and back within a round trip, and links uneven enough
// that one acceptor hears P's prepare long after A does.
//
// Every knob is off at zero, and the zero Race draws nothing, so scenarios
// without one draw exactly what they drew before it existed. What a knob
// draws comes from a stream of its own: "crashpoint/race" for the crash
// points, "links/swarm" for the links.
type Race struct {
	// Warmup holds the workload and the crash points back until the
	// cluster has had this long to form (nodes join one at a time, in
	// seconds): a crash that delays a join only delays the race, and the
	// operations issued meanwhile make the history longer — and Porcupine
	// slower to prove a violation — without any chance of one.
	Warmup time.Duration
	// LinkDelay gives every directed link between nodes an extra delay
	// drawn uniformly in [0, LinkDelay] (links.go).
	LinkDelay time.Duration
	// CrashRate and CrashDown replace the crash points' rate and down time
	// draws (crashpoint.go): a rate uniform in [CrashRate/4, CrashRate],
	// and down times in [DownMin, DownMax] within [0, CrashDown]. They
	// apply only where the swarm has crash points (CrashAfter).
	CrashRate float64
	CrashDown time.Duration
	// CrashIdle aims the crash points at the nodes no client connects to
	// (those numbered above the client count): the proposers, which run
	// on the clients' nodes, survive the crashes that make an acceptor
	// forget, and their clients' connections stay up.
	CrashIdle bool
	// ThinkMax caps the clients' think time, and SyncMax the disk's sync
	// delay (a promise is synced before it is sent, so a slow sync moves
	// the crash out of the window it should land in).
	ThinkMax time.Duration
	SyncMax  time.Duration
	// NoPuts leaves Paxos puts out of the clients' mix: every write is a
	// cas. A put chosen at the higher ballot over a cas chosen at the lower
	// one is a legal order; two cas from the same value are not.
	NoPuts bool

	// A read race (issue 19): RF fixes the replication factor, Levels the
	// read and write levels (read first), and Loss draws the network's
	// loss uniformly in [Loss/2, Loss] from the "race/loss" stream. With
	// quorum levels and heavy loss a write or a read repair often reaches
	// one replica alone, which is when a quorum read that answers before
	// its repairs are acknowledged (node.MutantRepairAsync) can be
	// followed by one that misses what it returned.
	RF     int
	Levels [2]net.Consistency
	Loss   float64
}

// on reports whether any of r's knobs is on.
func (r Race) on() bool { return r != (Race{}) }

// draw applies r to p and returns notes saying what it drew. It runs after
// every other draw.
func (r Race) draw(seed uint64, p *Params) []string {
	var notes []string
	if r.Warmup > 0 {
		p.Client.Start = r.Warmup
		p.CrashPoint.From = r.Warmup
	}
	if r.ThinkMax > 0 {
		p.Client.ThinkMax = min(p.Client.ThinkMax, r.ThinkMax)
	}
	if r.SyncMax > 0 {
		p.Disk.SyncMin = min(p.Disk.SyncMin, r.SyncMax)
		p.Disk.SyncMax = min(p.Disk.SyncMax, r.SyncMax)
	}
	if r.NoPuts {
		p.Client.Mix[1] = 0
	}
	if r.RF > 0 {
		p.RF = r.RF
	}
	if r.Levels != ([2]net.Consistency{}) {
		p.Client.ReadLevel, p.Client.WriteLevel = r.Levels[0], r.Levels[1]
	}
	if r.Loss > 0 {
		p.Net.Loss = math.Round(between(Stream(seed, "race/loss"), r.Loss/2, r.Loss)*1000) / 1000
		notes = append(notes, fmt.Sprintf("race: loss %v", p.Net.Loss))
	}
	if cp := &p.CrashPoint; cp.On() {
		x := Stream(seed, "crashpoint/race")
		if r.CrashRate > 0 {
			cp.Rate = math.Round(between(x, r.CrashRate/4, r.CrashRate)*1000) / 1000
		}
		if r.CrashDown > 0 {
			cp.DownMin = time.Duration(uniform(x, 0, int64(r.CrashDown)/4))
			cp.DownMax = cp.DownMin + time.Duration(uniform(x, 0, int64(r.CrashDown-cp.DownMin)))
		}
		if r.CrashIdle {
			for id := p.Clients + 1; id <= p.Nodes; id++ {
				cp.Nodes = append(cp.Nodes, id)
			}
			if len(cp.Nodes) == 0 {
				// Every node has a client: no crash point then.
				cp.Rate = 0
			}
		}
		notes = append(notes, fmt.Sprintf("race: crash point %v", *cp))
	}
	if r.LinkDelay > 0 {
		notes = append(notes, drawLinks(seed, p, r.LinkDelay))
	}
	return notes
}
