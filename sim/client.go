package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
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
	// seen is, per key, the last value this client read or wrote (absent:
	// the key was absent or the client does not know); a cas expects it.
	seen map[string]*string
	// A routed client (Params.Client.Failover, route.go) keeps a
	// connection per node it has used, the ring it last learned and when,
	// and until when each node that refused or broke counts as down.
	pool     map[net.NodeID]*conn
	ring     ring.Ring
	ringAt   time.Duration
	downTill map[net.NodeID]time.Duration
	// lock is where a Lock client is in its loop.
	lock lockState
	// incrSession and incrSeq name its increments (counter.go); the
	// session is drawn at its first increment.
	incrSession, incrSeq uint64
	// A scripted client (script.go) issues its steps, nextStep the one to
	// come, each given up on after stepTimeout (0: the run's timeout).
	script      []Step
	nextStep    int
	stepTimeout time.Duration
}

// A Lock client loops: read the lock (serial); if it is free, cas it from
// that value to a token of its own; hold it; cas it back to a fresh free
// value. The lock key is k0.
type lockState uint8

const (
	lockIdle    lockState = iota // next: read the lock
	lockFree                     // read it free: next, try to take it
	lockHeld                     // took it: next, release it
	lockUnknown                  // a take or release has an unknown outcome: read to find out
)

const lockKey = "k0"

type pending struct {
	op      int // index in the world's history
	id      uint64
	timeout *event
	call    *incrCall  // an increment's attempts (counter.go)
	batch   *batchCall // a batch's attempts (batch.go)
	// A routed client's operation (route.go): the request, the nodes it
	// went to, and the node being dialed to send it, if any.
	msg     net.Message
	tried   []net.NodeID
	dialing *host
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

// refused: the client tries again later, on another node if its own has
// left the cluster for good.
func (cl *client) refused() {
	if cl.w.p.Client.Failover {
		cl.refusedRouted()
		return
	}
	for cl.h.gone {
		cl.h = cl.w.hosts[int(cl.h.id)%len(cl.w.hosts)]
	}
	cl.reconnectLater()
}

func (cl *client) connected(c *conn) {
	if cl.w.p.Client.Failover {
		cl.connectedRouted(c)
		return
	}
	if !c.open {
		// Broken before we heard it was up; its evBroken is ignored, so
		// retry from here.
		cl.reconnectLater()
		return
	}
	cl.conn = c
	if p := cl.pending; p != nil && p.call != nil && p.call.waiting {
		cl.retry() // an increment waits to be sent again
		return
	}
	if p := cl.pending; p != nil && p.batch != nil && p.batch.waiting {
		cl.resendBatch() // so does a batch
		return
	}
	cl.think()
}

// broken handles the client noticing that c broke.
func (cl *client) broken(c *conn, why string) {
	if cl.w.p.Client.Failover {
		cl.brokenRouted(c, why)
		return
	}
	if c != cl.conn {
		return
	}
	cl.conn = nil
	if cl.pending != nil {
		cl.lost(why)
	}
	cl.reconnectLater()
}

// think schedules the next operation.
func (cl *client) think() {
	if cl.thinking || cl.pending != nil || cl.w.stopping {
		return
	}
	if cl.script != nil {
		cl.thinkScript()
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
	if w.p.Client.Failover {
		cl.issueRouted()
		return
	}
	if w.stopping || cl.conn == nil || cl.pending != nil {
		return
	}
	op, m := cl.draw()
	op.Process, op.Client, op.Call, op.Return, op.Outcome, op.Node = cl.proc, cl.idx, w.now, w.now, linearize.Unknown, int(cl.h.id)
	cl.nextID++
	p := &pending{op: len(w.history), id: cl.nextID}
	w.history = append(w.history, op)
	w.stats.Ops++
	if m, ok := m.(*net.Incr); ok {
		p.call = &incrCall{m: m, node: cl.h.id, deadline: w.now + w.p.Client.IncrDeadline}
	}
	if m, ok := m.(*net.Batch); ok {
		p.batch = &batchCall{m: m, deadline: w.now + batchDeadline*cl.batchTimeout()}
	}
	p.timeout = w.after(cl.opTimeout(p.batch != nil), evTimeout, cl.h.id, uint64(cl.idx), nil, func() { cl.lost("timeout") })
	cl.pending = p
	w.request(cl.conn, net.Encode(net.Frame{ID: p.id, Clock: cl.session, Msg: m}))
}

// draw picks the next operation and builds its request.
func (cl *client) draw() (linearize.Op, net.Message) {
	c := cl.w.p.Client
	if cl.script != nil {
		return cl.drawStep()
	}
	if c.Lock {
		return cl.drawLock()
	}
	mix := c.Mix
	weight := mix[0] + mix[1] + mix[2] + mix[3] + c.CAS
	if c.counters() && cl.rng.IntN(weight+c.Counter[0]+c.Counter[1]) >= weight {
		return cl.drawCounter(len(cl.w.history))
	}
	if c.Batch > 0 && cl.rng.IntN(weight+c.Batch) >= weight {
		return cl.drawBatch()
	}
	pick := cl.rng.IntN(weight)
	op := linearize.Op{Key: cl.randomKey(), Serial: c.Serial}
	read, write := c.ReadLevel, c.WriteLevel
	if c.Serial {
		read, write = net.Serial, net.Serial
	}
	key := []byte(op.Key)
	switch {
	case pick < mix[0]:
		op.Kind = linearize.Get
		return op, &net.Get{Key: key, Level: read}
	case pick < mix[0]+mix[1]:
		op.Kind, op.Value = linearize.Set, cl.fresh()
		return op, &net.Set{Key: key, Value: []byte(op.Value), Level: write}
	case pick < mix[0]+mix[1]+mix[2]:
		op.Kind = linearize.Delete
		return op, &net.Delete{Key: key, Level: write}
	case pick < mix[0]+mix[1]+mix[2]+mix[3]:
		op.Kind = linearize.Contains
		return op, &net.Contains{Key: key, Level: read}
	}
	// A cas mostly expects what the client last saw, so that some swap.
	op.Kind, op.Value = linearize.Cas, cl.fresh()
	if v := cl.seen[op.Key]; v != nil && cl.rng.IntN(4) != 0 {
		op.Old = *v
	} else if cl.rng.IntN(2) == 0 {
		op.OldAbsent = true
	} else {
		op.Old = fmt.Sprintf("c%d.%d", cl.idx, cl.rng.IntN(cl.nextVal+1))
	}
	return op, &net.CAS{Key: key, OldFound: !op.OldAbsent, Old: []byte(op.Old), New: []byte(op.Value)}
}

// drawLock is the next step of a Lock client's loop.
func (cl *client) drawLock() (linearize.Op, net.Message) {
	op := linearize.Op{Key: lockKey, Serial: true}
	if cl.lock == lockIdle || cl.lock == lockUnknown {
		op.Kind = linearize.Get
		return op, &net.Get{Key: []byte(lockKey), Level: net.Serial}
	}
	op.Kind = linearize.Cas
	if cl.lock == lockFree {
		op.Value = "held/" + cl.fresh()
	} else {
		op.Value = "free/" + cl.fresh()
	}
	if v := cl.seen[lockKey]; v != nil {
		op.Old = *v
	} else {
		op.OldAbsent = true
	}
	return op, &net.CAS{Key: []byte(lockKey), OldFound: !op.OldAbsent, Old: []byte(op.Old), New: []byte(op.Value)}
}

// fresh returns a value no one else writes.
func (cl *client) fresh() string {
	cl.nextVal++
	return fmt.Sprintf("c%d.%d", cl.idx, cl.nextVal)
}

// saw records the value a completed operation says key holds.
func (cl *client) saw(op *linearize.Op) {
	if cl.seen == nil {
		cl.seen = map[string]*string{}
	}
	switch {
	case op.Outcome == linearize.Failed:
		return // certainly not applied: nothing changed
	case op.Kind == linearize.Batch:
		for _, k := range op.Keys() {
			delete(cl.seen, k) // written, maybe, or deleted
		}
		return
	case op.Outcome == linearize.Unknown:
		if op.Kind == linearize.Cas || op.Kind == linearize.Set {
			delete(cl.seen, op.Key) // may or may not have been written
		}
		if cl.w.p.Client.Lock && op.Kind == linearize.Cas {
			cl.lock = lockUnknown
		}
		return
	case op.Kind == linearize.Get && op.Found, op.Kind == linearize.Set, op.Kind == linearize.Cas && op.Found:
		v := op.Output
		if op.Kind != linearize.Get {
			v = op.Value
		}
		cl.seen[op.Key] = &v
	case op.Kind == linearize.Get:
		delete(cl.seen, op.Key)
	}
	if cl.w.p.Client.Lock {
		cl.lock = nextLockState(cl.lock, op)
	}
}

// nextLockState is where a Lock client goes after op completed.
func nextLockState(s lockState, op *linearize.Op) lockState {
	switch {
	case op.Kind == linearize.Get && op.Found && ownValue(op):
		// Its own take happened: one of unknown outcome, maybe one the
		// client had since given up on (a read showed the lock free while
		// the take was accepted by a minority, to be finished later). Or
		// a release of unknown outcome has not (yet) happened. Either way
		// the lock is to be released.
		return lockHeld
	case op.Kind == linearize.Get && (!op.Found || strings.HasPrefix(op.Output, "free/")):
		return lockFree
	case op.Kind == linearize.Get:
		return lockIdle // someone holds it
	case s == lockFree && op.Found:
		return lockHeld
	}
	return lockIdle // released, or lost the race
}

// ownValue reports whether a read returned a value its client wrote.
func ownValue(op *linearize.Op) bool {
	return strings.HasPrefix(op.Output, fmt.Sprintf("held/c%d.", op.Client))
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
	cl.saw(op)
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
	op := &w.history[p.op]
	if op.Kind == linearize.Incr || op.Kind == linearize.Counter {
		cl.receiveCounter(p, op, f.Msg)
		return
	}
	if p.batch != nil && cl.batchAgain(p, op, f.Msg) {
		return
	}
	cl.pending = nil
	op.Return = w.now
	op.Outcome = linearize.OK
	switch m := f.Msg.(type) {
	case *net.Value:
		cl.session = cl.session.Max(m.Version)
		op.Found, op.Output, op.Version = m.Found, string(m.Value), m.Version
		cl.expect(op, m, linearize.Get)
	case *net.Bool:
		op.Found = m.Value
		if op.Kind != linearize.Cas {
			cl.expect(op, m, linearize.Contains)
		}
	case *net.Done:
		cl.session = cl.session.Max(m.Version)
		op.Version = m.Version
		if op.Kind != linearize.Set && op.Kind != linearize.Delete && op.Kind != linearize.Batch {
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
	cl.saw(op)
	cl.think()
}

// expect records a protocol violation if the reply kind does not fit.
func (cl *client) expect(op *linearize.Op, m net.Message, want linearize.Kind) {
	if op.Kind != want {
		cl.w.safety("protocol: node %d answered %s with a %s frame", cl.h.id, op.Kind, m.Kind())
		op.Outcome = linearize.Unknown
	}
}
