package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// client is a simulated client: one connection to its node, one operation
// at a time, a think time between them, and a session clock (the highest
// timestamp it has seen) sent with every request.
type client struct {
	w       *world
	idx     int // 1-based
	h       *host
	rng     *rand.Rand
	proc    int // the process id its operations are recorded under
	conn    *conn
	session clock.Timestamp

	thinking bool     // an evIssue is scheduled
	pending  *pending // the operation in flight, if any
	nextID   uint64
	nextVal  int
}

type pending struct {
	op      int // index in the world's history
	id      uint64
	timeout *event
}

func newClient(w *world, idx int) *client {
	return &client{
		w: w, idx: idx, rng: Stream(w.p.Seed, fmt.Sprintf("client/%d", idx)),
		h:    w.hosts[(idx-1)%len(w.hosts)],
		proc: w.newProcessID(),
	}
}

func (cl *client) connect() { cl.w.dial(cl, cl.h) }

func (cl *client) reconnectLater() {
	d := time.Duration(uniform(cl.rng, 0, int64(cl.w.p.Client.Backoff)))
	cl.w.after(d, evReconnect, cl.h.id, uint64(cl.idx), nil, cl.connect)
}

func (cl *client) refused() { cl.reconnectLater() }

func (cl *client) connected(c *conn) {
	if !c.open {
		// Broken before we heard it was up; its evBroken is ignored, so
		// retry from here.
		cl.reconnectLater()
		return
	}
	cl.conn = c
	cl.think()
}

// broken handles the client noticing that c broke.
func (cl *client) broken(c *conn, why string) {
	if c != cl.conn {
		return
	}
	cl.conn = nil
	if cl.pending != nil {
		cl.giveUp(why)
	}
	cl.reconnectLater()
}

// think schedules the next operation.
func (cl *client) think() {
	if cl.thinking || cl.pending != nil || cl.w.stopping {
		return
	}
	cl.thinking = true
	d := time.Duration(uniform(cl.rng, 0, int64(cl.w.p.Client.ThinkMax)))
	cl.w.after(d, evIssue, cl.h.id, uint64(cl.idx), nil, cl.issue)
}

// issue draws an operation and sends it.
func (cl *client) issue() {
	cl.thinking = false
	w := cl.w
	if w.stopping || cl.conn == nil || cl.pending != nil {
		return
	}
	mix := w.p.Client.Mix
	pick := cl.rng.IntN(mix[0] + mix[1] + mix[2] + mix[3])
	key := fmt.Sprintf("k%d", cl.rng.IntN(w.p.Keys))
	op := linearize.Op{Process: cl.proc, Client: cl.idx, Key: key, Call: w.now, Return: w.now, Outcome: linearize.Unknown, Node: int(cl.h.id)}
	var m net.Message
	switch {
	case pick < mix[0]:
		op.Kind = linearize.Get
		m = &net.Get{Key: []byte(key), Level: w.p.Client.ReadLevel}
	case pick < mix[0]+mix[1]:
		cl.nextVal++
		op.Kind = linearize.Set
		op.Value = fmt.Sprintf("c%d.%d", cl.idx, cl.nextVal)
		m = &net.Set{Key: []byte(key), Value: []byte(op.Value), Level: w.p.Client.WriteLevel}
	case pick < mix[0]+mix[1]+mix[2]:
		op.Kind = linearize.Delete
		m = &net.Delete{Key: []byte(key), Level: w.p.Client.WriteLevel}
	default:
		op.Kind = linearize.Contains
		m = &net.Contains{Key: []byte(key), Level: w.p.Client.ReadLevel}
	}
	cl.nextID++
	p := &pending{op: len(w.history), id: cl.nextID}
	w.history = append(w.history, op)
	w.stats.Ops++
	p.timeout = w.after(w.p.Client.Timeout, evTimeout, cl.h.id, uint64(cl.idx), nil, func() { cl.giveUp("timeout") })
	cl.pending = p
	w.request(cl.conn, net.Encode(net.Frame{ID: p.id, Clock: cl.session, Msg: m}))
}

// giveUp ends the pending operation with an unknown outcome. The client
// continues as a new process: the abandoned request may still be applied.
func (cl *client) giveUp(why string) {
	p := cl.pending
	if p == nil {
		return
	}
	w := cl.w
	p.timeout.fn = nil
	op := &w.history[p.op]
	op.Return = w.now
	op.Outcome = linearize.Unknown
	op.Note = why
	cl.pending = nil
	cl.proc = w.newProcessID()
	cl.think()
}

// receive handles a reply frame on c.
func (cl *client) receive(c *conn, f net.Frame) {
	w := cl.w
	cl.session = cl.session.Max(f.Clock)
	p := cl.pending
	if c != cl.conn || p == nil || f.ID != p.id {
		w.stats.LateReplies++
		return
	}
	p.timeout.fn = nil
	cl.pending = nil
	op := &w.history[p.op]
	op.Return = w.now
	op.Outcome = linearize.OK
	switch m := f.Msg.(type) {
	case *net.Value:
		cl.session = cl.session.Max(m.Version)
		op.Found, op.Output, op.Version = m.Found, string(m.Value), m.Version
		cl.expect(op, m, linearize.Get)
	case *net.Bool:
		op.Found = m.Value
		cl.expect(op, m, linearize.Contains)
	case *net.Done:
		cl.session = cl.session.Max(m.Version)
		op.Version = m.Version
		if op.Kind != linearize.Set && op.Kind != linearize.Delete {
			cl.expect(op, m, linearize.Set)
		}
	case *net.Error:
		op.Note = m.Error()
		switch m.Code {
		case net.CodeUnknownOutcome, net.CodeInternal:
			op.Outcome = linearize.Unknown
			cl.proc = w.newProcessID()
		default:
			op.Outcome = linearize.Failed
		}
	default:
		op.Outcome = linearize.Unknown
		w.safety("protocol: node %d answered %s with a %s frame", cl.h.id, op.Kind, f.Msg.Kind())
	}
	switch op.Outcome {
	case linearize.OK:
		w.stats.OK++
	case linearize.Failed:
		w.stats.Failed++
	}
	cl.think()
}

// expect records a protocol violation if the reply kind does not fit.
func (cl *client) expect(op *linearize.Op, m net.Message, want linearize.Kind) {
	if op.Kind != want {
		cl.w.safety("protocol: node %d answered %s with a %s frame", cl.h.id, op.Kind, m.Kind())
		op.Outcome = linearize.Unknown
	}
}
