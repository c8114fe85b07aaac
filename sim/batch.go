package sim

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Batches in the workload. A client's batch writes 2-4 distinct register
// keys (or as many as there are), each a set of one value unique to the
// batch or, one time in five, a delete; it is recorded as one operation
// whose Key lists the keys. As the Go client does, every attempt of a
// batch carries its token, and an attempt of unknown outcome (a timeout,
// a broken connection, an unknown-outcome answer) is sent again until the
// call's deadline (batchDeadline timeouts), then recorded as unknown.
// Aborted is definite whatever came before (the batch's record decides
// every attempt); a refusal after an attempt of unknown outcome is
// unknown. The token is drawn from the client's stream.

// batchDeadline is how many client timeouts a batch call retries for.
const batchDeadline = 3

// batchCall is a batch under way: its request, the same in every attempt.
type batchCall struct {
	m        *net.Batch
	deadline time.Duration
	maybe    bool // an attempt's outcome was unknown
	waiting  bool // a resend is scheduled, or waits for the connection
}

// batchAgain handles an answer to the pending batch: an unknown outcome
// is tried again (true); anything else is left to receive, as the
// outcome, with a refusal after an unknown attempt made unknown.
func (cl *client) batchAgain(p *pending, op *linearize.Op, m net.Message) bool {
	e, ok := m.(*net.Error)
	switch {
	case !ok:
		return false
	case e.Code == net.CodeUnknownOutcome || e.Code == net.CodeInternal || e.Code == net.CodeShuttingDown:
		op.Note = e.Error()
		cl.batchLost(e.Error())
		return true
	case e.Code != net.CodeAborted && p.batch.maybe:
		// Refused now, but an earlier attempt may have committed it.
		e.Code = net.CodeUnknownOutcome
	}
	return false
}

// batchLost: the pending batch's attempt has an unknown outcome; it is
// sent again after a pause, until the call's deadline.
func (cl *client) batchLost(why string) {
	p, w := cl.pending, cl.w
	b := p.batch
	if b.waiting {
		return
	}
	p.timeout.fn = nil
	b.maybe = true
	w.history[p.op].Note = why
	if w.stopping || w.now >= b.deadline {
		cl.giveUp(why)
		return
	}
	b.waiting = true
	d := time.Duration(uniform(cl.rng, int64(time.Millisecond), int64(50*time.Millisecond)))
	w.after(d, evIssue, cl.h.id, uint64(cl.idx), nil, cl.resendBatch)
}

// resendBatch sends the pending batch again, with its token, if the
// client is connected; otherwise connected does, once it is.
func (cl *client) resendBatch() {
	p, w := cl.pending, cl.w
	if p == nil || p.batch == nil || !p.batch.waiting || cl.conn == nil {
		return
	}
	if w.stopping || w.now >= p.batch.deadline {
		p.batch.waiting = false
		cl.giveUp(w.history[p.op].Note)
		return
	}
	p.batch.waiting = false
	w.history[p.op].Attempts++
	cl.nextID++
	p.id = cl.nextID
	p.timeout = w.after(cl.batchTimeout(), evTimeout, cl.h.id, uint64(cl.idx), nil, func() { cl.lost("timeout") })
	w.request(cl.conn, net.Encode(net.Frame{ID: p.id, Clock: cl.session, Msg: p.batch.m}))
}

// batchTimeout is how long a resent attempt of a batch waits, and a
// batch call's deadline is batchDeadline of them: the batch timeout if
// the workload has one (churn, chaos), else the client timeout.
func (cl *client) batchTimeout() time.Duration {
	return cmp.Or(cl.w.p.Client.BatchTimeout, cl.w.p.Client.Timeout)
}

// drawBatch picks a batch and builds its request.
func (cl *client) drawBatch() (linearize.Op, net.Message) {
	keys := cl.rng.Perm(cl.w.p.Keys)[:min(cl.w.p.Keys, 2+cl.rng.IntN(3))]
	op := linearize.Op{Kind: linearize.Batch, Value: cl.fresh(), Attempts: 1}
	op.Token = fmt.Sprintf("%016x", cl.rng.Uint64())
	m := &net.Batch{Token: []byte(op.Token)}
	var names []string
	for _, k := range keys {
		name := fmt.Sprintf("k%d", k)
		names = append(names, name)
		w := net.BatchWrite{Key: []byte(name), Value: []byte(op.Value)}
		if cl.rng.IntN(5) == 0 {
			w.Value, w.Deleted = nil, true
			op.Deleted = append(op.Deleted, name)
		}
		m.Writes = append(m.Writes, w)
	}
	op.Key = strings.Join(names, " ")
	return op, m
}
