package sim

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/linearize"
)

// Process pauses (the Pause fault). A paused process is stopped, not dead:
// the machine's kernel goes on accepting what arrives for it — peer
// messages, client frames and connections, disk completions, the expiry of
// its timers — but the process runs none of it until it resumes, and then
// handles all of it in the order it arrived. Nothing is lost, its clock
// keeps running (so the timers that fell due while it was stopped fire at
// once at the resume), and its peers may well have declared it dead
// meanwhile.

// held is one event a paused process has yet to handle: the event's
// identity, for the event hash when it is handled, and the node code it
// was about to run.
type held struct {
	kind eventKind
	aux  uint64
	data []byte
	fn   func()
}

// onNode runs node code f for h as callNode does, unless h's process is
// paused: then f waits for the resume, after whatever was held before it.
// Every event that runs a node's code but its boot goes through here.
func (w *world) onNode(h *host, f func()) {
	if !h.paused {
		w.callNode(h, f)
		return
	}
	e := held{kind: evFault, fn: f}
	if w.cur != nil {
		e.kind, e.aux, e.data = w.cur.kind, w.cur.aux, w.cur.data
	}
	h.held = append(h.held, e)
	w.stats.PauseHeld++
}

// pause stops h's process for d, unless it is down or paused already; it
// reports whether it did.
func (h *host) pause(d time.Duration) bool {
	if !h.up || h.paused {
		return false
	}
	w := h.w
	h.paused, h.pausedAt = true, w.now
	h.pauses++
	w.stats.Pauses++
	inc, n := h.inc, h.pauses
	w.after(d, evFaultEnd, h.id, 0, nil, func() {
		if h.alive(inc) && h.pauses == n {
			h.resume()
		}
	})
	return true
}

// resume lets h's process run again: everything held is handled in the
// order it arrived, each as an event of its own (of the kind it arrived
// as) at the current time, unless the process crashes before it runs.
func (h *host) resume() {
	if !h.paused {
		return
	}
	w := h.w
	w.windows = append(w.windows, linearize.Window{
		Tag: fmt.Sprintf("node %d", h.id), Start: h.pausedAt, End: w.now,
		Description: fmt.Sprintf("paused; %d events held", len(h.held)),
	})
	h.paused = false
	hs := h.held
	h.held = nil
	inc := h.inc
	for _, e := range hs {
		w.after(0, e.kind, h.id, e.aux, e.data, func() {
			if h.alive(inc) {
				w.onNode(h, e.fn)
			}
		})
	}
}

// unpause forgets a pause without running what it held: the process is
// gone (a crash), and so is everything it had not yet read.
func (h *host) unpause() {
	h.paused = false
	h.held = nil
}
