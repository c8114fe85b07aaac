package sim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"pgregory.net/rapid"
)

// base is a small, fault-free world for tests to modify.
func base(seed uint64) Params {
	return Params{
		Seed: seed, Nodes: 1, Clients: 3, Keys: 2,
		Duration: 2 * time.Second, Liveness: time.Second,
		Net: NetParams{
			LatencyFloor: 50 * time.Microsecond, LatencyMedian: 500 * time.Microsecond,
			LatencySigma: 0.5, LatencyMax: 100 * time.Millisecond, DetectMax: 10 * time.Millisecond,
		},
		Client: ClientParams{ThinkMax: 5 * time.Millisecond, Timeout: 200 * time.Millisecond, Backoff: 20 * time.Millisecond, Mix: [4]int{4, 4, 1, 1}},
		Disk:   DiskParams{SyncMin: time.Millisecond, SyncMax: 2 * time.Millisecond},
	}
}

func TestStreamsAreIndependent(t *testing.T) {
	a1 := Stream(7, "network")
	want := []uint64{a1.Uint64(), a1.Uint64(), a1.Uint64()}
	b := Stream(7, "faults")
	for range 100 {
		b.Uint64() // drawing from another stream must not shift this one
	}
	a2 := Stream(7, "network")
	got := []uint64{a2.Uint64(), a2.Uint64(), a2.Uint64()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stream changed (-want +got):\n%s", diff)
	}
	if Stream(7, "network").Uint64() == Stream(7, "disk").Uint64() ||
		Stream(7, "network").Uint64() == Stream(8, "network").Uint64() {
		t.Errorf("different names or seeds give the same stream")
	}
}

// TestQueueOrder is a property: events pop in (time, sequence) order,
// whatever order they were pushed in.
func TestQueueOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q queue
		ats := rapid.SliceOf(rapid.Int64Range(0, 20)).Draw(t, "ats")
		for i, at := range ats {
			q.push(&event{at: time.Duration(at), seq: uint64(i)})
		}
		var last *event
		for len(q) > 0 {
			e := q.pop()
			if last != nil && (e.at < last.at || e.at == last.at && e.seq < last.seq) {
				t.Fatalf("popped (%v, %d) after (%v, %d)", e.at, e.seq, last.at, last.seq)
			}
			last = e
		}
	})
}

func TestDeterministic(t *testing.T) {
	p := base(3)
	p.Faults = []Fault{
		{At: 300 * time.Millisecond, Kind: Crash, Node: 1, For: 100 * time.Millisecond},
		{At: 700 * time.Millisecond, Kind: Break, Client: 2},
		{At: 900 * time.Millisecond, Kind: Slow, Factor: 20, For: 300 * time.Millisecond},
	}
	a, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(p, Options{})
	if a.Verdict != Pass {
		t.Fatalf("verdict %s: %s", a.Verdict, a.Reason)
	}
	if a.EventHash != b.EventHash {
		t.Errorf("same params, hashes %s and %s", a.EventHash, b.EventHash)
	}
	if diff := cmp.Diff(a.History, b.History); diff != "" {
		t.Errorf("same params, histories differ (-first +second):\n%s", diff)
	}
	if a.Stats.Crashes != 1 || a.Stats.Restarts != 1 || a.Stats.ConnBreaks < 2 {
		t.Errorf("faults did not all happen: %+v", a.Stats)
	}
	p.Seed = 4
	c, _ := Run(p, Options{})
	if c.EventHash == a.EventHash {
		t.Errorf("seeds 3 and 4 share hash %s", a.EventHash)
	}
}

func TestParamsValidate(t *testing.T) {
	for name, mod := range map[string]func(*Params){
		"no nodes":       func(p *Params) { p.Nodes = 0 },
		"no clients":     func(p *Params) { p.Clients = 0 },
		"zero timeout":   func(p *Params) { p.Client.Timeout = 0 },
		"empty mix":      func(p *Params) { p.Client.Mix = [4]int{} },
		"loss of 1":      func(p *Params) { p.Net.Loss = 1 },
		"crash node 2":   func(p *Params) { p.Faults = []Fault{{At: 1, Kind: Crash, Node: 2}} },
		"fault too late": func(p *Params) { p.Faults = []Fault{{At: p.Duration, Kind: Break, Client: 1}} },
		"unsorted": func(p *Params) {
			p.Faults = []Fault{{At: 5, Kind: Break, Client: 1}, {At: 1, Kind: Break, Client: 1}}
		},
		"partition of all": func(p *Params) { p.Faults = []Fault{{At: 1, Kind: Partition, Side: []int{1}}} },
	} {
		p := base(1)
		mod(&p)
		if _, err := Run(p, Options{}); !errors.Is(err, ErrParams) {
			t.Errorf("%s: error %v, want ErrParams", name, err)
		}
	}
}

// panicky panics when a client asks for key k1.
type panicky struct{ *node.Node }

func (p panicky) Request(c net.ConnID, f net.Frame) {
	if g, ok := f.Msg.(*net.Get); ok && string(g.Key) == "k1" {
		panic("planted panic")
	}
	p.Node.Request(c, f)
}

func TestPanicVerdict(t *testing.T) {
	res, err := Run(base(1), Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		return panicky{n}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Panic || !strings.Contains(res.Reason, "in node 1") || !strings.Contains(res.Reason, "planted panic") {
		t.Errorf("verdict %s %q, want a panic in node 1", res.Verdict, res.Reason)
	}
}

// mute never answers.
type mute struct{ *node.Node }

func (mute) Request(net.ConnID, net.Frame) {}

func TestLivenessVerdict(t *testing.T) {
	res, err := Run(base(1), Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		return mute{n}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Liveness || !strings.Contains(res.Reason, "completed no operation") {
		t.Errorf("verdict %s %q, want liveness", res.Verdict, res.Reason)
	}
}

// forgetful drops every write after the first few: reads see stale values.
type forgetful struct {
	*node.Node
	tr     net.Transport
	writes int
}

func (n *forgetful) Request(c net.ConnID, f net.Frame) {
	if _, ok := f.Msg.(*net.Set); ok {
		if n.writes++; n.writes > 3 {
			n.tr.Reply(c, net.Frame{ID: f.ID, Msg: &net.Done{}})
			return
		}
	}
	n.Node.Request(c, f)
}

func TestSafetyVerdictAndTrace(t *testing.T) {
	o := Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		return &forgetful{Node: n, tr: env.Transport}, err
	}}
	res, err := Run(base(1), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Safety || !strings.Contains(res.Reason, "not linearizable") {
		t.Fatalf("verdict %s %q, want a linearizability violation", res.Verdict, res.Reason)
	}
	dir := t.TempDir()
	if err := WriteArtifacts(dir, NewTrace("test", nil, res), res); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "history.html")); err != nil {
		t.Errorf("no visualisation: %v", err)
	}
	tr, err := ReadTrace(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Verdict != Safety || tr.EventHash != res.EventHash || len(tr.Operations) != len(res.History) {
		t.Errorf("trace does not round-trip: %s %s %d ops", tr.Verdict, tr.EventHash, len(tr.Operations))
	}
	again, err := Run(tr.RunParams(), o)
	if err != nil || again.EventHash != res.EventHash {
		t.Errorf("replay from the trace: hash %s, %v; want %s", again.EventHash, err, res.EventHash)
	}
}

func TestReadTraceRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not json":    "{",
		"old version": `{"version": 99}`,
		"bad hash":    `{"version": 1, "event_hash": "xyz"}`,
		"bad params":  `{"version": 1, "event_hash": "0123456789abcdef", "params": {}}`,
	} {
		path := filepath.Join(dir, "t.json")
		os.WriteFile(path, []byte(body), 0o644)
		if _, err := ReadTrace(path); !errors.Is(err, ErrTrace) {
			t.Errorf("%s: error %v, want ErrTrace", name, err)
		}
	}
}

// runReplayed runs p twice and fails t unless the first run passes and both
// give one event hash; it returns the first run's result.
func runReplayed(t *testing.T, p Params) Result {
	t.Helper()
	a, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(p, Options{})
	if a.Verdict != Pass {
		t.Errorf("verdict %s: %s", a.Verdict, a.Reason)
	}
	if a.EventHash != b.EventHash {
		t.Errorf("same params, hashes %s and %s", a.EventHash, b.EventHash)
	}
	return a
}
