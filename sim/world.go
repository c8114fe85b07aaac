package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// Process is what the simulator runs on each machine: a *node.Node, or a
// test double. The simulator calls it one event at a time, as a host must.
type Process interface {
	Start() error
	Request(c net.ConnID, f net.Frame)
	Deliver(from net.NodeID, f net.Frame)
	Disconnected(c net.ConnID)
	// Err is non-nil once the process cannot go on (its log broke): the
	// simulator then does what a supervisor does, and restarts it.
	Err() error
}

// flusher is a Process that buffers its log's writes until the end of
// each event (node.Node.Flush).
type flusher interface{ Flush() }

// NewProcess builds the process for a machine from the node configuration
// the run's parameters give it and its Env, at boot and after every
// restart.
type NewProcess func(cfg node.Config, env node.Env) (Process, error)

// NewNode is the default NewProcess: a memdb node.
func NewNode(cfg node.Config, env node.Env) (Process, error) {
	return node.New(cfg, env)
}

// Epoch is what a node's clock reads at virtual time zero.
var Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// world is one simulated run: a single goroutine, virtual time, an event
// queue, and everything in it.
type world struct {
	p      Params
	newP   NewProcess
	logOut io.Writer

	now    time.Duration
	q      queue
	seq    uint64
	hash   uint64
	events uint64
	cur    *event     // the event being run, for panic reports
	inNode net.NodeID // the node whose code is running, 0 if none

	net   *rand.Rand
	hosts []*host // hosts[i] is node i+1
	// recordsDropped and markersDropped count the batch records and
	// aborted markers collected by the node incarnations that crashed
	// (batchgc.go).
	recordsDropped, markersDropped uint64
	clients                        []*client
	conns                          map[net.ConnID]*conn // open connections; looked up, never iterated
	nextConn                       net.ConnID
	nextProc                       int

	slowUntil  time.Duration
	slowFactor float64
	cut        [][]bool // cut[a][b]: node a cannot send to node b

	clogs [][]*clogLink // clogs[a][b]: the link a→b once a Clog fault touched it (clog.go)

	healed   bool // the fault phase is over
	stopping bool // the workload is over: clients issue nothing new

	history linearize.History
	ctr     *counters // the counter keys (counter.go), made on first use
	windows []linearize.Window
	stats   Stats
	failure *failure // the first safety violation found while running

	crashPts *crashPoints // crash-point state (crashpoint.go), made on first use
	links    *linkDelays  // uneven-link state (links.go), made on first use
	// ringChanged is when some node first reached the highest ring epoch
	// any has (maxEpoch): a join or leave still under way at the end of a
	// run is slow, not stuck, if the ring changed within Stuck of the end.
	// A node that restarts into an older epoch, or one that catches up, is
	// no change.
	ringChanged time.Duration
	maxEpoch    uint64
	// graves is what the tombstone watch saw (tombstone.go), made on
	// first use in a run whose nodes drop tombstones; dropped counts the
	// tombstones dropped by processes that have since crashed.
	graves  *graveWatch
	dropped uint64
	// tombIdx indexes the history for the tombstone checkers, once the
	// run is over (tombstone_check.go).
	tombIdx *tombIndex
}

type failure struct {
	verdict Verdict
	reason  string
}

// at schedules fn to run at virtual time t (not before now).
func (w *world) at(t time.Duration, kind eventKind, node net.NodeID, aux uint64, data []byte, fn func()) *event {
	t = max(t, w.now)
	w.seq++
	e := &event{at: t, seq: w.seq, kind: kind, node: node, aux: aux, data: data, fn: fn}
	w.q.push(e)
	return e
}

// after schedules fn to run d from now.
func (w *world) after(d time.Duration, kind eventKind, node net.NodeID, aux uint64, data []byte, fn func()) *event {
	return w.at(w.now+d, kind, node, aux, data, fn)
}

// runUntil processes events up to and including time t, then sets the
// clock to t.
func (w *world) runUntil(t time.Duration) {
	for len(w.q) > 0 && w.q[0].at <= t {
		e := w.q.pop()
		if e.fn == nil {
			continue // cancelled
		}
		w.now = e.at
		w.hash = hashEvent(w.hash, e)
		w.events++
		fn := e.fn
		e.fn = nil
		w.cur = e
		fn()
		w.cur = nil
	}
	w.now = max(w.now, t)
}

// callNode runs node code for h, marking it so a panic names the node.
func (w *world) callNode(h *host, f func()) {
	w.inNode = h.id
	f()
	if fl, ok := h.proc.(flusher); ok && h.up {
		// The end of the node's event: what its log buffered is written
		// (oplog.Config.Coalesce), as the live host's loop does.
		fl.Flush()
	}
	w.inNode = 0
	if in, ok := h.proc.(inspectable); ok && h.up && in.Epoch() != h.epoch {
		h.epoch = in.Epoch()
		if h.epoch > w.maxEpoch {
			w.maxEpoch, w.ringChanged = h.epoch, w.now
		}
	}
	w.checkCatchUp(h)
	w.watchGraves(h)
	if h.up && h.proc != nil && h.proc.Err() != nil {
		h.supervise()
	}
}

// run executes the whole simulation and reports a panic as an error.
func (w *world) run() (perr *panicError) {
	defer func() {
		if r := recover(); r != nil {
			perr = &panicError{value: fmt.Sprint(r), stack: string(debug.Stack()), node: w.inNode, at: w.now}
			if w.cur != nil {
				perr.event = w.cur.kind.String()
			}
		}
	}()
	late := lateNodes(w.p.Faults)
	for _, h := range w.hosts {
		if !late[int(h.id)] {
			h.boot()
		}
	}
	for _, c := range w.clients {
		if w.p.Client.Start > 0 {
			w.after(w.p.Client.Start, evReconnect, c.h.id, uint64(c.idx), nil, c.connect)
		} else {
			c.connect()
		}
	}
	for i, f := range w.p.Faults {
		w.at(f.At, evFault, 0, uint64(i), nil, func() { w.inject(f) })
	}
	w.at(w.p.Duration, evHeal, 0, 0, nil, w.heal)
	end := w.p.Duration + w.p.Liveness
	w.at(end, evStop, 0, 0, nil, func() { w.stopping = true })
	// Let every op issued before the end return or time out.
	w.runUntil(end + w.p.Client.Timeout + time.Millisecond)
	if w.p.Nodes > 1 {
		// Then let the cluster quiesce: a write answered at a low level
		// is still on its way to the other replicas, and one a replica
		// missed comes back as a hint after a request timeout.
		w.runUntil(w.now + Settle)
		// A ring change made just now is still spreading, and the data it
		// moves with it: while the ring has changed within a Settle, or
		// some node is behind on it, wait on (up to Stuck more).
		for limit := w.now + Stuck; (w.now-w.ringChanged < Settle || w.epochBehind()) && w.now < limit; {
			w.runUntil(w.now + Settle)
		}
	}
	return nil
}

// epochBehind reports whether some node that is up and has not left is
// at an older ring epoch than the highest any node has reached.
func (w *world) epochBehind() bool {
	for _, h := range w.hosts {
		l, ok := h.proc.(interface{ HasLeft() bool })
		if h.up && !h.gone && !(ok && l.HasLeft()) && h.epoch < w.maxEpoch {
			return true
		}
	}
	return false
}

// panicError is a panic recovered from the run.
type panicError struct {
	value, stack, event string
	node                net.NodeID
	at                  time.Duration
}

func (p *panicError) Error() string {
	where := "in the simulator"
	if p.node != 0 {
		where = fmt.Sprintf("in node %d", p.node)
	}
	return fmt.Sprintf("panic %s at %v handling %s: %s", where, p.at, p.event, p.value)
}

// safety records a safety violation seen while running; the first wins.
func (w *world) safety(format string, args ...any) {
	if w.failure == nil {
		w.failure = &failure{verdict: Safety, reason: fmt.Sprintf(format, args...)}
	}
}

func (w *world) newProcessID() int {
	id := w.nextProc
	w.nextProc++
	return id
}

// logger returns node id's logger: discarded, or written to logOut with
// the virtual time (never the wall clock) in each record.
func (w *world) logger(id net.NodeID) *slog.Logger {
	if w.logOut == nil {
		return slog.New(slog.DiscardHandler)
	}
	h := slog.NewTextHandler(w.logOut, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(&virtualTime{Handler: h, w: w}).With("node", id)
}

// virtualTime stamps log records with the world's virtual time.
type virtualTime struct {
	slog.Handler
	w *world
}

func (v *virtualTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = Epoch.Add(v.w.now)
	return v.Handler.Handle(ctx, r)
}

func (v *virtualTime) WithAttrs(as []slog.Attr) slog.Handler {
	return &virtualTime{Handler: v.Handler.WithAttrs(as), w: v.w}
}

func (v *virtualTime) WithGroup(name string) slog.Handler {
	return &virtualTime{Handler: v.Handler.WithGroup(name), w: v.w}
}
