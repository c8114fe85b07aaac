package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress is the one-line display a long command redraws in place on a
// terminal: runs done of the total, how many failed, simulated seconds
// per wall second so far, and the wall time. A nil *progress (stderr is a
// pipe or a file) draws nothing, so callers need not check.
//
// It is used from one goroutine only (runPool's caller).
type progress struct {
	w       io.Writer
	noun    string // what failed counts: "failed", "caught"
	total   int
	done    int
	failed  int
	virtual time.Duration
	start   time.Time
	drawn   time.Time // when the line was last drawn
	shown   bool      // the line is on the screen
}

// redrawEvery limits how often the line is redrawn: often enough to look
// alive, rarely enough to cost nothing.
const redrawEvery = 100 * time.Millisecond

// newProgress returns a display on w if w is a terminal, else nil.
func newProgress(w io.Writer, total int, noun string) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progress{w: w, noun: noun, total: total, start: time.Now()}
}

// add counts one finished run and redraws the line if it is due.
func (p *progress) add(failed bool, virtual time.Duration) {
	if p == nil {
		return
	}
	p.done++
	if failed {
		p.failed++
	}
	p.virtual += virtual
	p.tick()
}

// draw (re)draws the line.
func (p *progress) draw() {
	if p == nil {
		return
	}
	wall := time.Since(p.start)
	fmt.Fprintf(p.w, "\r\x1b[K%d/%d runs  %s: %d  sim/wall: %.1f×  wall %v",
		p.done, p.total, p.noun, p.failed, p.virtual.Seconds()/max(wall.Seconds(), 1e-9), wall.Round(time.Second))
	p.drawn, p.shown = time.Now(), true
}

// printf prints a line to w (stdout or stderr) with the display out of
// the way, and puts the display back after it.
func (p *progress) printf(w io.Writer, format string, args ...any) {
	p.clear()
	fmt.Fprintf(w, format, args...)
	if p != nil {
		p.draw()
	}
}

// tick redraws the line if it is due, so the wall time moves while a long
// run holds every worker.
func (p *progress) tick() {
	if p != nil && time.Since(p.drawn) >= redrawEvery {
		p.draw()
	}
}

// clear erases the line, before something else is printed to the terminal
// (then draw puts it back) or for good at the end.
func (p *progress) clear() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}
