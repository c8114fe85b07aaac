package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// recorder is the history of a real-process run, shared by its workers:
// times are read from one monotonic clock started with the recorder.
type recorder struct {
	start time.Time
	procs atomic.Int64 // the last process id handed out

	mu      sync.Mutex
	history linearize.History
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

// now is the time since the recorder started, on the monotonic clock.
func (r *recorder) now() time.Duration { return time.Since(r.start) }

// newProcess returns a process id never used before.
func (r *recorder) newProcess() int { return int(r.procs.Add(1)) }

func (r *recorder) add(op linearize.Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history = append(r.history, op)
}

// ops returns the history, sorted by call time as History wants.
func (r *recorder) ops() linearize.History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := slices.Clone(r.history)
	slices.SortStableFunc(h, func(a, b linearize.Op) int { return int(a.Call - b.Call) })
	return h
}

// casWorker is one client goroutine: its own client.Client, one operation
// at a time, on keys it picks at random. Every value it writes is unique
// in the run ("g<worker>.<n>").
type casWorker struct {
	idx  int // 1-based
	cl   *client.Client
	rng  *rand.Rand
	rec  *recorder
	keys []string
	proc int
	n    int
	// seen is, per key, the last value this worker read or wrote; no
	// entry means the key was absent or the worker does not know. A cas
	// mostly expects it, so that some cas calls swap.
	seen map[string]string
	// errs counts the errors that made an operation unknown, by message
	// class, for the log.
	errs map[string]int
}

// callTimeout bounds each call of a worker. It is longer than the node's
// request timeout (2 s by default), so that a round that runs out of time
// ends with the node's own verdict (contention: certainly not applied, or
// unknown) rather than the client's timeout, which says less; and short
// enough that a worker stuck on a dead node's connection moves on within
// the run.
const callTimeout = 3 * time.Second

func newCASWorker(t *testing.T, idx int, seed uint64, addrs []string, rec *recorder, keys []string) *casWorker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, client.Options{Addrs: addrs, Timeout: callTimeout})
	if err != nil {
		t.Fatalf("worker %d: dial %v: %v", idx, addrs, err)
	}
	t.Cleanup(func() { cl.Close() })
	return &casWorker{
		idx: idx, cl: cl, rng: rand.New(rand.NewPCG(seed, uint64(idx))), rec: rec, keys: keys,
		proc: rec.newProcess(), seen: map[string]string{}, errs: map[string]int{},
	}
}

// run issues operations until stop is set, finishing the one in flight.
func (w *casWorker) run(stop *atomic.Bool) {
	for !stop.Load() {
		w.step()
	}
}

// step issues one operation and records it: 30% serial get, 15% Paxos put,
// 55% cas.
func (w *casWorker) step() {
	key := w.keys[w.rng.IntN(len(w.keys))]
	op := linearize.Op{Process: w.proc, Client: w.idx, Key: key, Serial: true}
	serial := client.WithConsistency(net.Serial)
	ctx := context.Background()
	var err error
	switch pick := w.rng.IntN(100); {
	case pick < 30:
		op.Kind = linearize.Get
		op.Call = w.rec.now()
		var v []byte
		v, err = w.cl.Get(ctx, key, serial)
		op.Return = w.rec.now()
		if errors.Is(err, client.ErrNotFound) {
			err = nil // an answer: the key is absent
		} else if err == nil {
			op.Found, op.Output = true, string(v)
		}
	case pick < 45:
		op.Kind, op.Value = linearize.Set, w.fresh()
		op.Call = w.rec.now()
		err = w.cl.Set(ctx, key, []byte(op.Value), serial)
		op.Return = w.rec.now()
	default:
		op.Kind, op.Value = linearize.Cas, w.fresh()
		var old []byte // nil: expect the key absent
		if v, ok := w.seen[key]; ok && w.rng.IntN(8) != 0 {
			op.Old, old = v, []byte(v)
		} else {
			op.OldAbsent = true
		}
		op.Call = w.rec.now()
		op.Found, err = w.cl.CAS(ctx, key, old, []byte(op.Value))
		op.Return = w.rec.now()
	}
	op.Outcome = outcomeOf(err)
	if err != nil {
		op.Note = err.Error()
	}
	if op.Outcome == linearize.Unknown {
		w.errs[errClass(err)]++
	}
	w.rec.add(op)
	w.saw(op)
	if op.Outcome == linearize.Unknown {
		// The abandoned request may still be applied: what this worker
		// does next must not look sequential after it.
		w.proc = w.rec.newProcess()
	}
}

// fresh returns a value never written before in the run.
func (w *casWorker) fresh() string {
	w.n++
	return fmt.Sprintf("g%d.%d", w.idx, w.n)
}

// saw updates what the worker believes key holds after op.
func (w *casWorker) saw(op linearize.Op) {
	switch {
	case op.Outcome != linearize.OK:
		if op.Kind != linearize.Get {
			delete(w.seen, op.Key)
		}
	case op.Kind == linearize.Get && op.Found:
		w.seen[op.Key] = op.Output
	case op.Kind == linearize.Get:
		delete(w.seen, op.Key)
	case op.Kind == linearize.Set, op.Kind == linearize.Cas && op.Found:
		w.seen[op.Key] = op.Value
	default: // a cas that did not swap: the key holds something else
		delete(w.seen, op.Key)
	}
}

// outcomeOf classifies a call's error. Contention and a missed quorum
// certainly did nothing; anything else (an unknown outcome, a timeout, a
// lost connection, an unreachable cluster) is taken as unknown, which is
// always sound: an unknown write may be placed anywhere after its call or
// nowhere, and the checker drops unknown reads.
func outcomeOf(err error) linearize.Outcome {
	switch {
	case err == nil:
		return linearize.OK
	case errors.Is(err, client.ErrUnknownOutcome):
		return linearize.Unknown
	case errors.Is(err, client.ErrContention), errors.Is(err, client.ErrQuorum):
		return linearize.Failed
	}
	return linearize.Unknown
}

// errClass names the sentinel an error wraps, for counting.
func errClass(err error) string {
	for _, s := range []error{client.ErrTimeout, client.ErrUnknownOutcome, client.ErrUnreachable, client.ErrClosed, client.ErrAuth} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	var ne *net.Error
	if errors.As(err, &ne) {
		return "node error " + ne.Code.String()
	}
	return "other: " + err.Error()
}

// tally counts a history's operations by kind and outcome, with cas calls
// that answered split into swapped and not.
type tally map[string]int

func countOps(h linearize.History) tally {
	c := tally{}
	for _, o := range h {
		name := o.Kind.String() + " " + o.Outcome.String()
		if o.Kind == linearize.Cas && o.Outcome == linearize.OK {
			name = fmt.Sprintf("cas %t", o.Found)
		}
		c[name]++
	}
	return c
}

func (c tally) String() string {
	var parts []string
	for k, n := range c {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// firstReplica returns the replica of key that a routing client sends its
// calls to (the coordinator), on the ring of nodes 1..n with default
// vnodes that the nodes build.
func firstReplica(t *testing.T, key string, n, rf int) int {
	t.Helper()
	var ids []uint16
	for i := 1; i <= n; i++ {
		ids = append(ids, uint16(i))
	}
	r, err := ring.New(1, ring.Virtual(ids, ring.DefaultVnodes))
	if err != nil {
		t.Fatal(err)
	}
	return int(r.Replicas([]byte(key), rf)[0])
}

// staleCanary returns a copy of h in which one answered get reads a stale
// value: that of a write w1 to its key that another write w2 had
// overwritten before the get was called (w1 returned before w2 was
// called, w2 returned before the get was called). Written values are
// unique, so no order allows it. It reports false if h has no such trio.
func staleCanary(h linearize.History) (linearize.History, bool) {
	var writes []linearize.Op
	for _, o := range h {
		if o.Outcome == linearize.OK && (o.Kind == linearize.Set || o.Kind == linearize.Cas && o.Found) {
			writes = append(writes, o)
		}
	}
	for i, g := range h {
		if g.Kind != linearize.Get || g.Outcome != linearize.OK {
			continue
		}
		for _, w2 := range writes {
			if w2.Key != g.Key || w2.Return >= g.Call {
				continue
			}
			for _, w1 := range writes {
				if w1.Key == g.Key && w1.Return < w2.Call && (!g.Found || g.Output != w1.Value) {
					bad := slices.Clone(h)
					bad[i].Found, bad[i].Output = true, w1.Value
					return bad, true
				}
			}
		}
	}
	return nil, false
}

// saveViolation writes the history (JSON) and the visualisation of the
// failing key (HTML) to dir, or if dir is empty to a new directory that
// outlives the test, and returns the directory.
func saveViolation(t *testing.T, dir string, h linearize.History, res linearize.Result, windows []linearize.Window) string {
	t.Helper()
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "memdb-e2e-cas-"); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "history.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteHTML(filepath.Join(dir, "history.html"), windows); err != nil {
		t.Errorf("write visualisation: %v", err)
	}
	return dir
}
