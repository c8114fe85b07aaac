package sim

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Counters in the workload. A client's increment is what the Go client
// sends: an operation id (the client's random session, a sequence number)
// that every attempt of the call carries, with the same first clock, to the
// same node; an attempt of unknown outcome (a timeout, a broken
// connection, an unknown-outcome answer) is sent again, Attempt counting,
// until the call's deadline (ClientParams.IncrDeadline), and then the call
// is recorded as unknown. A definite refusal ends the call: as failed if no
// earlier attempt may have been applied, else as unknown.
//
// The deltas make every observed value decodable (counter_check.go): the
// i-th increment of a counter key adds ±5^i, so a value is a number in
// balanced base 5 whose digit i says how many times increment i was
// counted. A key takes maxIncrs increments, then a fresh key replaces it
// among the CounterKeys in use.

// maxIncrs is how many increments a counter key takes: Σ 5^i for i < 27 is
// below 2^63, so every sum of distinct ±5^i is an int64 and decodes.
const maxIncrs = 27

// counters is the run's counter keys.
type counters struct {
	keys []*counterKey // every key used, in the order first used
	live []*counterKey // the keys clients pick from
	// level is, by history index, the level of each counter operation.
	level map[int]net.Consistency
}

type counterKey struct {
	name  string
	incrs []int // history indices of its increments: incrs[i] added ±5^i
}

// counterState returns the run's counter keys, made on first use.
func (w *world) counterState() *counters {
	if w.ctr == nil {
		w.ctr = &counters{level: map[int]net.Consistency{}}
		for range w.p.Client.CounterKeys {
			w.ctr.live = append(w.ctr.live, w.ctr.fresh())
		}
	}
	return w.ctr
}

// fresh returns a key never used before.
func (cs *counters) fresh() *counterKey {
	k := &counterKey{name: fmt.Sprintf("c%d", len(cs.keys))}
	cs.keys = append(cs.keys, k)
	return k
}

// incrCall is an increment under way: its request (the same id in every
// attempt) and what its attempts said.
type incrCall struct {
	m        *net.Incr
	node     net.NodeID // every attempt goes to it
	deadline time.Duration
	// maybe: some attempt may have been applied (its outcome is unknown),
	// so a later definite refusal does not make the call failed.
	maybe bool
	// waiting: between attempts (a retry is scheduled, or the client waits
	// for its connection to come back).
	waiting bool
}

// drawCounter picks a counter operation, records it at history index idx
// (not yet appended) and builds its request.
func (cl *client) drawCounter(idx int) (linearize.Op, net.Message) {
	c := cl.w.p.Client
	cs := cl.w.counterState()
	slot := cl.rng.IntN(len(cs.live))
	k := cs.live[slot]
	incr := cl.rng.IntN(c.Counter[0]+c.Counter[1]) < c.Counter[0]
	level := c.ReadLevel
	if incr {
		level = c.WriteLevel
	}
	if c.CounterLevels {
		level = []net.Consistency{net.One, net.Quorum, net.All}[cl.rng.IntN(3)]
	}
	cs.level[idx] = level
	op := linearize.Op{Key: k.name}
	if !incr {
		op.Kind = linearize.Counter
		return op, &net.GetCounter{Level: level, Key: []byte(k.name)}
	}
	delta := pow5(len(k.incrs))
	if cl.rng.IntN(2) == 0 {
		delta = -delta
	}
	k.incrs = append(k.incrs, idx)
	if len(k.incrs) == maxIncrs {
		cs.live[slot] = cs.fresh() // k is full; the checker still judges its replicas at the end
	}
	if cl.incrSession == 0 {
		cl.incrSession = cl.rng.Uint64() | 1
	}
	cl.incrSeq++
	op.Kind, op.Delta, op.Attempts = linearize.Incr, delta, 1
	return op, &net.Incr{Level: level, Key: []byte(k.name), Delta: delta, Session: cl.incrSession, Seq: cl.incrSeq, First: cl.session}
}

// pow5 is 5^i.
func pow5(i int) int64 {
	p := int64(1)
	for range i {
		p *= 5
	}
	return p
}

// sendAttempt sends the pending increment's next attempt on the client's
// connection.
func (cl *client) sendAttempt() {
	w, p := cl.w, cl.pending
	call := p.call
	call.waiting = false
	cl.nextID++
	p.id = cl.nextID
	p.timeout = w.after(w.p.Client.Timeout, evTimeout, cl.h.id, uint64(cl.idx), nil, func() { cl.lost("timeout") })
	w.request(cl.conn, net.Encode(net.Frame{ID: p.id, Clock: cl.session, Msg: call.m}))
}

// lost handles an attempt of the pending operation whose outcome is
// unknown: an increment is tried again, to the same node, until its
// deadline; anything else is given up on.
func (cl *client) lost(why string) {
	p := cl.pending
	if p == nil {
		return
	}
	if p.batch != nil {
		cl.batchLost(why)
		return
	}
	call := p.call
	switch {
	case call == nil:
		if !cl.w.p.Client.Failover || !cl.retryRead(why) {
			cl.giveUp(why)
		}
		return
	case call.waiting:
		return // between attempts: retry or connected sends the next
	}
	w := cl.w
	p.timeout.fn = nil
	call.maybe = true
	op := &w.history[p.op]
	op.Note = why
	if w.stopping || w.now >= call.deadline || cl.h.id != call.node || call.m.Attempt >= net.MaxAttempts {
		cl.giveUp(why)
		return
	}
	call.waiting = true
	d := time.Duration(uniform(cl.rng, int64(time.Millisecond), int64(50*time.Millisecond)))
	w.after(d, evIssue, cl.h.id, uint64(cl.idx), nil, cl.retry)
}

// retry sends the pending increment again if the client is connected to
// its node; otherwise connected does, once it is.
func (cl *client) retry() {
	p := cl.pending
	if p == nil || p.call == nil || !p.call.waiting || cl.conn == nil {
		return
	}
	w := cl.w
	if w.stopping || w.now >= p.call.deadline || cl.h.id != p.call.node {
		p.call.waiting = false
		cl.giveUp(w.history[p.op].Note)
		return
	}
	p.call.m.Attempt++
	w.history[p.op].Attempts++
	cl.sendAttempt()
}

// counterAnswer records the answer to a counter operation and reports its
// outcome, and whether an increment is to be tried again (its outcome is
// unknown: an unknown-outcome or internal error, or a node shutting down);
// ok is false if the answer is no counter answer. A definite refusal ends
// the call, as the Go client's does: failed, or unknown if an earlier
// attempt may have landed.
func (cl *client) counterAnswer(op *linearize.Op, m net.Message) (out linearize.Outcome, again, ok bool) {
	switch m := m.(type) {
	case *net.CounterValue:
		op.Count = m.Value
		return linearize.OK, false, true
	case *net.Error:
		op.Note = m.Error()
		switch m.Code {
		case net.CodeUnknownOutcome, net.CodeInternal, net.CodeShuttingDown:
			return linearize.Unknown, op.Kind == linearize.Incr, true
		}
		if op.Kind == linearize.Incr && cl.pending.call.maybe {
			return linearize.Unknown, false, true
		}
		return linearize.Failed, false, true
	}
	return linearize.Unknown, false, false
}

// receiveCounter handles the answer to the pending counter operation: an
// increment whose outcome is unknown is tried again (lost); any other
// answer ends the operation.
func (cl *client) receiveCounter(p *pending, op *linearize.Op, m net.Message) {
	w := cl.w
	out, again, ok := cl.counterAnswer(op, m)
	if !ok {
		w.safety("protocol: node %d answered %s with a %s frame", cl.h.id, op.Kind, m.Kind())
	}
	if again {
		cl.lost(op.Note)
		return
	}
	cl.pending = nil
	op.Return = w.now
	op.Outcome = out
	switch out {
	case linearize.OK:
		w.stats.OK++
	case linearize.Failed:
		w.stats.Failed++
	case linearize.Unknown:
		cl.proc = w.newProcessID()
	}
	cl.think()
}
