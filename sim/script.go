package sim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Scripted operations (Params.Script). A scenario that lines up a race
// no random workload meets (tombrace.go) says, besides its faults, which
// operations happen when and through which node: a scripted client per
// node named in the script issues that node's steps in order, each at its
// time, or as soon as the one before it returned if that is later. The
// random clients go on as usual meanwhile, on every key but the
// scripted ones, so that what they do never moves a scripted key on.
// Scripted clients are numbered after the random ones (Clients+1, ...,
// one per scripted node in ascending node order), their operations are
// recorded and judged like any other, and they issue nothing between and
// after their steps (a script ends with a step after the heal, so that
// the liveness check has something of theirs to see).
//
// A scenario without a script draws, issues and hashes exactly what it
// did before scripts existed.

// StepOp is what a scripted step does to its key.
type StepOp string

const (
	StepSet    StepOp = "set"    // a plain write of a fresh value
	StepDelete StepOp = "delete" // a plain delete
	StepCAS    StepOp = "cas"    // a compare-and-set from absent to a fresh value (through Paxos)
	StepGet    StepOp = "get"    // a plain read
	StepBatch  StepOp = "batch"  // an atomic batch setting k<Key> and each of k<Also> to a fresh value
)

// A Step is one scripted operation: at At (or once the client's previous
// step returned), through node Node, Op on key k<Key> at Level (reads and
// writes; a cas goes through Paxos), given up on as unknown after Timeout
// (0: the run's client timeout). A batch also writes the keys k<Also>,
// with token Token (a batch's record key follows from its token, so a
// plot that needs the record on given nodes names one).
type Step struct {
	At      time.Duration   `json:"at_ns"`
	Node    int             `json:"node"`
	Op      StepOp          `json:"op"`
	Key     int             `json:"key"`
	Level   net.Consistency `json:"level,omitempty"`
	Timeout time.Duration   `json:"timeout_ns,omitempty"`
	Also    []int           `json:"also,omitempty"`
	Token   string          `json:"token,omitempty"`
}

func (s Step) String() string {
	return fmt.Sprintf("%10.3fs node %d: %s k%d at %v", s.At.Seconds(), s.Node, s.Op, s.Key, s.Level)
}

// validateScript checks p's script.
func validateScript(p Params) []string {
	var errs []string
	for i, s := range p.Script {
		switch {
		case s.Node < 1 || s.Node > p.Nodes:
			errs = append(errs, fmt.Sprintf("step %d: node %d, but nodes are 1..%d", i, s.Node, p.Nodes))
		case s.Key < 0 || s.Key >= p.Keys:
			errs = append(errs, fmt.Sprintf("step %d: key k%d, but keys are k0..k%d", i, s.Key, p.Keys-1))
		case s.Op != StepSet && s.Op != StepDelete && s.Op != StepCAS && s.Op != StepGet && s.Op != StepBatch:
			errs = append(errs, fmt.Sprintf("step %d: unknown op %q", i, s.Op))
		case s.Op == StepBatch && (len(s.Also) == 0 || s.Token == "" || slices.ContainsFunc(s.Also, func(k int) bool { return k < 0 || k >= p.Keys || k == s.Key })):
			errs = append(errs, fmt.Sprintf("step %d: a batch needs a token and other keys among k0..k%d, not %v", i, p.Keys-1, s.Also))
		case s.Op != StepBatch && (len(s.Also) > 0 || s.Token != ""):
			errs = append(errs, fmt.Sprintf("step %d: only a batch has other keys or a token", i))
		case s.At < 0 || s.At >= p.Duration+p.Liveness || s.Timeout < 0:
			errs = append(errs, fmt.Sprintf("step %d at %v (timeout %v) is outside the workload [0, %v)", i, s.At, s.Timeout, p.Duration+p.Liveness))
		}
	}
	if len(p.Script) > 0 {
		c := p.Client
		if c.Serial || c.Lock || c.Failover {
			errs = append(errs, "a script runs with plain (not serial, lock or failover) clients")
		}
		if len(scriptKeys(p.Script)) >= p.Keys {
			errs = append(errs, fmt.Sprintf("the script uses every one of the %d keys: none is left for the random clients", p.Keys))
		}
	}
	return errs
}

// scriptKeys are the keys a script uses, ascending.
func scriptKeys(script []Step) []int {
	var ks []int
	for _, s := range script {
		for _, k := range append([]int{s.Key}, s.Also...) {
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
	}
	slices.Sort(ks)
	return ks
}

// scriptClients makes a scripted client for each node the script names,
// in ascending node order, numbered after the random clients.
func (w *world) scriptClients() {
	var nodes []int
	for _, s := range w.p.Script {
		if !slices.Contains(nodes, s.Node) {
			nodes = append(nodes, s.Node)
		}
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		cl := newClient(w, len(w.clients)+1)
		cl.h = w.hosts[n-1]
		cl.script = []Step{} // not nil: a script of no steps is still one
		for _, s := range w.p.Script {
			if s.Node == n {
				cl.script = append(cl.script, s)
			}
		}
		slices.SortStableFunc(cl.script, func(a, b Step) int { return cmp.Compare(a.At, b.At) })
		w.clients = append(w.clients, cl)
	}
}

// thinkScript schedules a scripted client's next step, if any.
func (cl *client) thinkScript() {
	if cl.nextStep >= len(cl.script) {
		return
	}
	cl.thinking = true
	cl.w.at(cl.script[cl.nextStep].At, evIssue, cl.h.id, uint64(cl.idx), nil, cl.issue)
}

// drawStep builds a scripted client's next step.
func (cl *client) drawStep() (linearize.Op, net.Message) {
	s := cl.script[cl.nextStep]
	cl.nextStep++
	cl.stepTimeout = s.Timeout
	op := linearize.Op{Key: fmt.Sprintf("k%d", s.Key)}
	key := []byte(op.Key)
	switch s.Op {
	case StepSet:
		op.Kind, op.Value = linearize.Set, cl.fresh()
		return op, &net.Set{Key: key, Value: []byte(op.Value), Level: s.Level}
	case StepDelete:
		op.Kind = linearize.Delete
		return op, &net.Delete{Key: key, Level: s.Level}
	case StepCAS:
		op.Kind, op.Value, op.OldAbsent = linearize.Cas, cl.fresh(), true
		return op, &net.CAS{Key: key, New: []byte(op.Value)}
	case StepBatch:
		op = linearize.Op{Kind: linearize.Batch, Value: cl.fresh(), Attempts: 1, Token: s.Token}
		m := &net.Batch{Token: []byte(s.Token)}
		var names []string
		for _, k := range append([]int{s.Key}, s.Also...) {
			name := fmt.Sprintf("k%d", k)
			names = append(names, name)
			m.Writes = append(m.Writes, net.BatchWrite{Key: []byte(name), Value: []byte(op.Value)})
		}
		op.Key = strings.Join(names, " ")
		return op, m
	}
	op.Kind = linearize.Get
	return op, &net.Get{Key: key, Level: s.Level}
}

// randomKey is the key a random client's next operation is on: any of the
// run's keys, or, with a script, any the script does not use.
func (cl *client) randomKey() string {
	p := cl.w.p
	if len(p.Script) == 0 {
		return fmt.Sprintf("k%d", cl.rng.IntN(p.Keys))
	}
	taken := scriptKeys(p.Script)
	k := cl.rng.IntN(p.Keys - len(taken))
	for _, t := range taken {
		if k >= t {
			k++
		}
	}
	return fmt.Sprintf("k%d", k)
}

// opTimeout is how long a client waits for its operation's answer.
func (cl *client) opTimeout(batch bool) time.Duration {
	if cl.script != nil && cl.stepTimeout > 0 {
		return cl.stepTimeout
	}
	if batch && cl.w.p.Client.BatchTimeout > 0 {
		return cl.w.p.Client.BatchTimeout
	}
	return cl.w.p.Client.Timeout
}
