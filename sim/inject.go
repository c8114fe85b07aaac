package sim

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// inject starts fault f. Faults that would do nothing (crashing a node that
// is down, breaking a connection that is not up) are skipped and counted.
func (w *world) inject(f Fault) {
	if w.healed {
		return
	}
	switch f.Kind {
	case Crash, Wipe, Corrupt:
		// A power cycle; a wipe replaces the disk meanwhile, a corruption
		// flips a bit of it.
		h := w.hosts[f.Node-1]
		if !h.up {
			w.stats.FaultsSkipped++
			return
		}
		h.crash()
		switch f.Kind {
		case Wipe:
			h.disk.Wipe()
			h.durable = nil
			w.forgetGraves(h)
			w.stats.Wipes++
		case Corrupt:
			if !h.flipBit() {
				w.stats.FaultsSkipped++
			}
		}
		inc := h.inc
		w.after(f.For, evFaultEnd, h.id, 0, nil, func() {
			if !h.up && h.inc == inc {
				h.restart()
			}
		})
	case Remove:
		h := w.hosts[f.Node-1]
		if !h.up || h.gone {
			w.stats.FaultsSkipped++
			return
		}
		if n, all := w.normalMembers(); n < 4 || !all {
			// Wait until the cluster has formed, with four members or
			// more. On a ring of two or three a death for good takes the
			// majority of the movement lock's replicas with it, and no
			// membership change — the removal included — can run again;
			// and a join under way waits for the dead member while it
			// holds the lock its removal needs.
			w.after(time.Second, evFault, h.id, 0, nil, func() { w.inject(f) })
			return
		}
		h.crash()
		h.gone = true // down for good, until it is removed
		w.askRemove(&removal{h: h, since: w.now})
	case Break:
		cl := w.clients[f.Client-1]
		if cl.conn == nil || !cl.conn.open {
			w.stats.FaultsSkipped++
			return
		}
		w.windows = append(w.windows, linearize.Window{
			Tag: fmt.Sprintf("client %d", cl.idx), Start: w.now, End: w.now, Description: "connection broken",
		})
		w.breakConn(cl.conn, "connection broken by a fault", true)
	case Slow:
		w.slowFactor = f.Factor
		w.slowUntil = w.now + f.For
		w.windows = append(w.windows, linearize.Window{
			Tag: "network", Start: w.now, End: w.slowUntil, Description: fmt.Sprintf("latency ×%.1f", f.Factor),
		})
	case Disk:
		h := w.hosts[f.Node-1]
		if !h.up {
			w.stats.FaultsSkipped++
			return
		}
		faults := disk.Faults{SyncErrorRate: f.Rate}
		if f.Room > 0 {
			faults.Capacity = h.disk.Used() + f.Room
		}
		h.disk.SetFaults(faults)
		w.windows = append(w.windows, linearize.Window{
			Tag: fmt.Sprintf("node %d", h.id), Start: w.now, End: w.now + f.For,
			Description: fmt.Sprintf("disk: syncs fail at %.2f, room %d", f.Rate, f.Room),
		})
		w.after(f.For, evFaultEnd, h.id, 0, nil, func() { h.disk.SetFaults(disk.Faults{}) })
	case Skew:
		h := w.hosts[f.Node-1]
		h.setRate(f.Factor)
		h.skewEnd = w.now + f.For
		w.windows = append(w.windows, linearize.Window{
			Tag: fmt.Sprintf("node %d", h.id), Start: w.now, End: w.now + f.For, Description: fmt.Sprintf("clock ×%.2f", f.Factor),
		})
		w.after(f.For, evFaultEnd, h.id, 0, nil, func() { h.setRate(1) })
	case Pause:
		if !w.hosts[f.Node-1].pause(f.For) {
			w.stats.FaultsSkipped++ // down, or paused already
			return
		}
	case Jump:
		if !w.hosts[f.Node-1].jump(f.By) {
			w.stats.FaultsSkipped++ // down: nothing runs on its clock
			return
		}
	case Clog:
		w.clog(net.NodeID(f.Node), net.NodeID(f.To), f.OneWay, f.For)
	case Join:
		h := w.hosts[f.Node-1]
		if h.inc > 0 {
			w.stats.FaultsSkipped++ // it has run already (the heal started it)
			return
		}
		w.windows = append(w.windows, linearize.Window{
			Tag: fmt.Sprintf("node %d", h.id), Start: w.now, End: w.now, Description: "started, joins",
		})
		h.boot()
	case Leave:
		h := w.hosts[f.Node-1]
		l, ok := h.proc.(leaver)
		if !h.up || !ok {
			w.stats.FaultsSkipped++
			return
		}
		inc, start := h.inc, w.now
		w.onNode(h, func() {
			l.Leave(func(err error) {
				if err != nil {
					// Not a normal member yet (still joining, say): an
					// operator would try again, and so does the fault,
					// until the heal.
					w.logger(h.id).Info("sim: the leave fault was refused; again in 1s", "err", err)
					w.after(time.Second, evFault, h.id, 0, nil, func() { w.inject(f) })
					return
				}
				// The node left: it stops for good, as memdbd exits. Not
				// from inside its own callback: as the next event.
				w.after(0, evFaultEnd, h.id, 0, nil, func() {
					if h.alive(inc) {
						w.windows = append(w.windows, linearize.Window{
							Tag: fmt.Sprintf("node %d", h.id), Start: start, End: w.now, Description: "leaving, then left",
						})
						h.gone = true
						h.crash()
					}
				})
			})
		})
	case Partition:
		side := make([]bool, len(w.hosts)+1)
		for _, n := range f.Side {
			side[n] = true
		}
		w.cutLinks(f.For, fmt.Sprintf("partition %v", f.Side), func(a, b int) bool {
			return side[a] && !side[b] || side[b] && !side[a] && !f.OneWay
		})
	case Majorities:
		at := make([]int, len(w.hosts)+1) // each node's place on the ring
		for i, n := range f.Side {
			at[n] = i
		}
		w.cutLinks(f.For, fmt.Sprintf("majorities ring %v", f.Side), func(a, b int) bool {
			return ringCut(at[a], at[b], len(f.Side))
		})
	}
	w.stats.Faults++
}

// cutLinks cuts, for d, every link a→b between nodes that cut reports,
// and heals those it cut (not ones another fault had) when d has passed.
func (w *world) cutLinks(d time.Duration, what string, cut func(a, b int) bool) {
	var pairs [][2]net.NodeID
	for a := 1; a <= len(w.hosts); a++ {
		for b := 1; b <= len(w.hosts); b++ {
			if a != b && cut(a, b) && !w.cut[a][b] {
				w.cut[a][b] = true
				pairs = append(pairs, [2]net.NodeID{net.NodeID(a), net.NodeID(b)})
			}
		}
	}
	w.windows = append(w.windows, linearize.Window{Tag: "network", Start: w.now, End: w.now + d, Description: what})
	w.after(d, evFaultEnd, 0, 0, nil, func() {
		for _, p := range pairs {
			w.cut[p[0]][p[1]] = false
		}
	})
}

// leaver is a process that can be decommissioned (node.Node).
type leaver interface{ Leave(done func(error)) }

// remover is a process that can remove another member (node.Node).
type remover interface {
	Remove(id uint16, done func(error))
}

// normalMembers counts the nodes that are up and normal members, and
// reports whether every node that has started and has not left is one: a
// node that is down counts as what it was when it crashed (one that was
// joining may hold the movement lock, and its join resumes when it
// restarts).
func (w *world) normalMembers() (n int, all bool) {
	all = true
	for _, h := range w.hosts {
		nm, ok := h.proc.(interface {
			Normal() bool
			HasLeft() bool
		})
		switch {
		case !h.up && h.inc > 0 && !h.gone && h.unsettled:
			all = false
		case !ok || !h.up || h.gone || nm.HasLeft():
		case nm.Normal():
			n++
		default:
			all = false
		}
	}
	return n, all
}

// removal is a Remove fault under way: the dead node, since when, and the
// node asked to remove it (and its incarnation), if a request is out.
type removal struct {
	h     *host
	since time.Duration
	by    *host
	inc   uint64
	done  bool
}

// askRemove asks the lowest-numbered node that is up to remove dead node
// r.h, as an operator would, unless a request is out to a node still
// running; it looks again every second (a refusal — r.h not yet held
// dead, another movement running — or an asker that crashed is asked
// again), the heal notwithstanding. Once r.h is removed it is started
// again: it finds itself removed and stops serving, and the checkers leave
// it out.
func (w *world) askRemove(r *removal) {
	if r.done {
		return
	}
	if r.by == nil || !r.by.alive(r.inc) {
		r.by = nil
		for _, o := range w.hosts {
			if _, ok := o.proc.(remover); ok && o != r.h && o.up && !o.gone {
				r.by, r.inc = o, o.inc
				break
			}
		}
		if by := r.by; by != nil {
			w.onNode(by, func() {
				by.proc.(remover).Remove(uint16(r.h.id), func(err error) {
					if err != nil {
						w.logger(by.id).Info("sim: the remove fault was refused; again in 1s", "member", r.h.id, "err", err)
						r.by = nil
						return
					}
					r.done = true
					w.after(0, evFaultEnd, r.h.id, 0, nil, func() {
						w.windows = append(w.windows, linearize.Window{
							Tag: fmt.Sprintf("node %d", r.h.id), Start: r.since, End: w.now, Description: "dead, then removed",
						})
						w.stats.Removed++
						r.h.gone = false
						r.h.restart()
					})
				})
			})
		}
	}
	w.after(time.Second, evFault, r.h.id, 0, nil, func() { w.askRemove(r) })
}

// heal ends the fault phase: crashed nodes restart, the network heals
// (clogged links deliver what they held), paused processes resume, and no
// scheduled fault fires from now on. Clocks keep the lead a jump gave
// them.
func (w *world) heal() {
	w.healed = true
	w.stats.TombstonesAtHeal, _ = w.tombstones()
	for _, h := range w.hosts {
		h.disk.SetFaults(disk.Faults{})
		if h.rate != 0 {
			h.setRate(1)
		}
		h.restart()
	}
	for a := range w.cut {
		clear(w.cut[a])
	}
	w.unclogAll()
	for _, h := range w.hosts {
		h.resume()
	}
	w.slowUntil = 0
}
