package sim

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Clogged links (the Clog fault). A partition cuts a link: what is sent on
// it, or arrives over it, while it is cut is lost (network.go). A clog
// loses nothing: every peer message that would arrive over a clogged link
// waits at the link, and when the clog ends the link delivers everything
// it held, in the order it arrived, at once — as a full TCP window or a
// congested switch port does. Each held message is still subject, when
// it is finally delivered, to what the delivery checks anyway (the node
// is up, the link is not cut). Client connections have no clog; they
// break (Break) or slow down (Slow).

// clogLink is the state of one directed link that a clog has touched.
type clogLink struct {
	on    bool
	until time.Duration // the latest end of the clogs on it
	held  []held        // what arrived while it was on, in order
}

// link returns the state of the link from→to, made on first use.
func (w *world) link(from, to net.NodeID) *clogLink {
	if w.clogs == nil {
		w.clogs = make([][]*clogLink, len(w.hosts)+1)
		for i := range w.clogs {
			w.clogs[i] = make([]*clogLink, len(w.hosts)+1)
		}
	}
	if w.clogs[from][to] == nil {
		w.clogs[from][to] = &clogLink{}
	}
	return w.clogs[from][to]
}

// clogged reports whether the link from→to holds what arrives over it.
// Runs that never clog a link check nothing but a nil slice.
func (w *world) clogged(from, to net.NodeID) bool {
	return w.clogs != nil && w.clogs[from][to] != nil && w.clogs[from][to].on
}

// holdPeer keeps a peer message's delivery (the current event, fn) at the
// clogged link from→to until the clog ends.
func (w *world) holdPeer(from, to net.NodeID, fn func()) {
	l := w.link(from, to)
	e := held{kind: evPeer, aux: uint64(from), fn: fn}
	if w.cur != nil {
		e.data = w.cur.data
	}
	l.held = append(l.held, e)
	w.stats.ClogHeld++
}

// clog holds the link from→to, and to→from unless oneWay, for d.
func (w *world) clog(from, to net.NodeID, oneWay bool, d time.Duration) {
	pairs := [][2]net.NodeID{{from, to}}
	if !oneWay {
		pairs = append(pairs, [2]net.NodeID{to, from})
	}
	for _, p := range pairs {
		l := w.link(p[0], p[1])
		l.on, l.until = true, max(l.until, w.now+d)
		w.stats.Clogs++
	}
	arrow := "⇄"
	if oneWay {
		arrow = "→"
	}
	w.windows = append(w.windows, linearize.Window{
		Tag: "network", Start: w.now, End: w.now + d, Description: fmt.Sprintf("clog %d%s%d", from, arrow, to),
	})
	w.after(d, evFaultEnd, 0, 0, nil, func() {
		for _, p := range pairs {
			if l := w.link(p[0], p[1]); w.now >= l.until {
				w.unclog(p[0], p[1])
			}
		}
	})
}

// unclog ends the clog of the link from→to: everything it held is
// delivered now, in the order it arrived, each an event of its own.
func (w *world) unclog(from, to net.NodeID) {
	l := w.link(from, to)
	if !l.on {
		return
	}
	hs := l.held
	l.on, l.held = false, nil
	for _, e := range hs {
		w.after(0, e.kind, to, e.aux, e.data, e.fn)
	}
}

// unclogAll ends every clog (the heal), link by link in order.
func (w *world) unclogAll() {
	for a := range w.clogs {
		for b := range w.clogs[a] {
			if w.clogs[a][b] != nil {
				w.unclog(net.NodeID(a), net.NodeID(b))
			}
		}
	}
}
