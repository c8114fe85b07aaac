package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// CrashPoint is a targeted crash: while the fault phase runs, a node that
// sends a peer message of one of the kinds named in After crashes right
// after the send, with probability Rate, and restarts after a delay drawn
// uniformly in [DownMin, DownMax]. The message it sent is on its way; the
// crash loses the node's memory, its client connections and its unsynced
// disk writes, as a scheduled crash does.
//
// Scheduled crashes are seconds apart, but some windows are milliseconds
// wide: an acceptor that promises a ballot and crashes before the proposal
// at a lower one arrives is the case a Paxos acceptor's durable promise
// exists for, and only a crash aimed at the promise hits it.
//
// Every decision is drawn from the "crashpoint" stream, in the order sends
// happen, so Params (which a trace stores) reproduce the crashes exactly.
// The zero CrashPoint is off: it draws nothing and schedules nothing, so
// runs without one are what they were before crash points existed.
type CrashPoint struct {
	// After names the peer message kinds (net.Kind names, such as
	// "promise" or "accepted") whose sending may crash the sender.
	After []string `json:"after,omitempty"`
	// Rate is the probability that one such send crashes its sender.
	Rate float64 `json:"rate,omitempty"`
	// DownMin and DownMax bound how long the crashed node stays down.
	DownMin time.Duration `json:"down_min_ns,omitempty"`
	DownMax time.Duration `json:"down_max_ns,omitempty"`
	// Max caps the crash points per run; 0 means no cap.
	Max int `json:"max,omitempty"`
	// Nodes, if set, are the only nodes a crash point may crash; sends by
	// other nodes draw nothing.
	Nodes []int `json:"nodes,omitempty"`
	// From is when crash points start: sends before it draw nothing.
	From time.Duration `json:"from_ns,omitempty"`
}

// On reports whether the crash point can fire.
func (c CrashPoint) On() bool { return c.Rate > 0 && len(c.After) > 0 }

func (c CrashPoint) String() string {
	if !c.On() {
		return "off"
	}
	s := fmt.Sprintf("after sending %s at rate %.3f, down %v..%v", strings.Join(c.After, " or "), c.Rate, c.DownMin, c.DownMax)
	if c.Max > 0 {
		s += fmt.Sprintf(", at most %d", c.Max)
	}
	if len(c.Nodes) > 0 {
		s += fmt.Sprintf(", only nodes %v", c.Nodes)
	}
	if c.From > 0 {
		s += fmt.Sprintf(", from %v", c.From)
	}
	return s
}

// validate checks c in a world of nodes nodes; the zero CrashPoint is
// valid.
func (c CrashPoint) validate(nodes int) error {
	switch {
	case c.Rate < 0 || c.Rate > 1 || math.IsNaN(c.Rate):
		return fmt.Errorf("crash point rate %g is not in [0, 1]", c.Rate)
	case c.DownMin < 0 || c.DownMax < c.DownMin:
		return fmt.Errorf("crash point down time must satisfy 0 <= min <= max, not [%v, %v]", c.DownMin, c.DownMax)
	case c.DownMax > time.Hour:
		return fmt.Errorf("crash point down time %v is over an hour", c.DownMax)
	case c.Max < 0:
		return fmt.Errorf("crash point cap %d is negative", c.Max)
	case c.Rate > 0 && len(c.After) == 0:
		return fmt.Errorf("crash point rate %g names no message kind to crash after", c.Rate)
	case c.From < 0:
		return fmt.Errorf("crash point start %v is negative", c.From)
	}
	for _, id := range c.Nodes {
		if id < 1 || id > nodes {
			return fmt.Errorf("crash point node %d is not one of nodes 1..%d", id, nodes)
		}
	}
	for _, name := range c.After {
		if _, ok := peerKind(name); !ok {
			return fmt.Errorf("crash point after %q: not a peer message kind (want one of %v)", name, peerKindNames())
		}
	}
	return nil
}

// peerKinds are the messages a node sends another, which a crash point may
// follow.
var peerKinds = []net.Kind{
	net.KindGossip, net.KindReplicate, net.KindRead, net.KindSync, net.KindSyncBatch,
	net.KindPrepare, net.KindPromise, net.KindPropose, net.KindAccepted,
	net.KindValue, net.KindDone, net.KindBool, net.KindError,
}

func peerKind(name string) (net.Kind, bool) {
	for _, k := range peerKinds {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

func peerKindNames() []string {
	var s []string
	for _, k := range peerKinds {
		s = append(s, k.String())
	}
	return s
}

// crashPoints is a run's crash-point state, made on the first send that
// could fire one.
type crashPoints struct {
	kinds     []net.Kind
	r         *rand.Rand
	scheduled int
}

// sentPeer is called after node h sent m to a peer: it may schedule a
// crash point. The crash runs as an event of its own at the same virtual
// time, after the node's code that sent m has returned.
func (w *world) sentPeer(h *host, m net.Message) {
	cp := w.p.CrashPoint
	if !cp.On() || w.healed || w.now < cp.From {
		return
	}
	if w.crashPts == nil {
		w.crashPts = &crashPoints{r: Stream(w.p.Seed, "crashpoint")}
		for _, name := range cp.After {
			k, _ := peerKind(name)
			w.crashPts.kinds = append(w.crashPts.kinds, k)
		}
	}
	c := w.crashPts
	if !slices.Contains(c.kinds, m.Kind()) || cp.Max > 0 && c.scheduled >= cp.Max || len(cp.Nodes) > 0 && !slices.Contains(cp.Nodes, int(h.id)) {
		return
	}
	if c.r.Float64() >= cp.Rate {
		return
	}
	down := time.Duration(uniform(c.r, int64(cp.DownMin), int64(cp.DownMax)))
	c.scheduled++
	inc, kind := h.inc, m.Kind()
	w.after(0, evCrashPoint, h.id, uint64(kind), nil, func() {
		if !h.alive(inc) || w.healed {
			return
		}
		h.crash()
		w.stats.CrashPoints++
		w.windows = append(w.windows, linearize.Window{
			Tag: fmt.Sprintf("node %d", h.id), Start: w.now, End: w.now + down,
			Description: fmt.Sprintf("crash point: crashed after sending %s", kind),
		})
		w.after(down, evFaultEnd, h.id, 0, nil, func() {
			if !h.up && h.inc == inc {
				h.restart()
			}
		})
	})
}

// drawCrashPoint draws p's crash point and, with MinRF, its replication
// factor, from a stream of their own, so that no other draw shifts. It
// runs after the schedule is drawn (the schedule does not depend on RF) and
// returns a note saying what it drew.
func (s Swarm) drawCrashPoint(seed uint64, p *Params) string {
	x := Stream(seed, "crashpoint/swarm")
	if lo, hi := min(s.MinRF, p.Nodes), min(p.Nodes, 5); s.MinRF > 0 && p.RF < lo {
		p.RF = lo + x.IntN(max(hi-lo, 0)+1)
	}
	if len(s.CrashAfter) == 0 {
		return fmt.Sprintf("crash point: off, rf %d", p.RF)
	}
	cp := CrashPoint{After: []string{s.CrashAfter[0]}}
	for _, k := range s.CrashAfter[1:] {
		if x.IntN(2) == 0 {
			cp.After = append(cp.After, k)
		}
	}
	ms := int64(time.Millisecond)
	cp.Rate = math.Round(between(x, 0.005, 0.05)*1000) / 1000
	cp.DownMin = time.Duration(uniform(x, 10*int64(time.Microsecond), 2*ms))
	cp.DownMax = cp.DownMin + time.Duration(uniform(x, 0, 30*ms))
	p.CrashPoint = cp
	return fmt.Sprintf("crash point: %v, rf %d", cp, p.RF)
}
