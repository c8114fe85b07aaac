package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/sim"
)

// small is a one-node world with a few faults, quick to run many times.
func small() sim.Params {
	ms := time.Millisecond
	return sim.Params{
		Seed: 3, Nodes: 1, Clients: 3, Keys: 3,
		Duration: 2 * time.Second, Liveness: time.Second,
		Net: sim.NetParams{
			LatencyFloor: 50 * time.Microsecond, LatencyMedian: 500 * time.Microsecond,
			LatencySigma: 0.5, LatencyMax: 100 * ms, DetectMax: 10 * ms,
		},
		Client: sim.ClientParams{ThinkMax: 20 * ms, Timeout: 200 * ms, Backoff: 20 * ms, Mix: [4]int{4, 4, 1, 1}},
		Disk:   sim.DiskParams{SyncMin: ms, SyncMax: 2 * ms},
		Faults: []sim.Fault{
			{At: 100 * ms, Kind: sim.Break, Client: 1},
			{At: 300 * ms, Kind: sim.Slow, For: 100 * ms, Factor: 3},
			{At: 1500 * ms, Kind: sim.Crash, Node: 1, For: 50 * ms},
		},
	}
}

// panicky panics when a client reads key k2.
type panicky struct{ *node.Node }

func (p panicky) Request(c net.ConnID, f net.Frame) {
	if g, ok := f.Msg.(*net.Get); ok && string(g.Key) == "k2" {
		panic("planted panic")
	}
	p.Node.Request(c, f)
}

func plantPanic(t *testing.T) sim.Options {
	o := sim.Options{NewProcess: func(cfg node.Config, env node.Env) (sim.Process, error) {
		n, err := node.New(cfg, env)
		return panicky{n}, err
	}}
	shrinkRun = o
	t.Cleanup(func() { shrinkRun = sim.Options{} })
	return o
}

// writeTrace runs p and writes its trace to dir/<name>/trace.json.
func writeTrace(t *testing.T, dir string, p sim.Params, o sim.Options) string {
	t.Helper()
	res, err := sim.Run(p, o)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, "in")
	if err := sim.WriteArtifacts(d, sim.NewTrace("test", nil, res), res); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "trace.json")
}

var shrunkLine = regexp.MustCompile(`(?m)^shrunk: faults 3→0  ops ([0-9]+)→([0-9]+)  runs ([0-9]+)  wall `)

func TestShrinkCommand(t *testing.T) {
	o := plantPanic(t)
	dir := t.TempDir()
	in := writeTrace(t, dir, small(), o)
	code, out, stderr := call("shrink", "-out", dir, "-runs", "20", in)
	m := shrunkLine.FindStringSubmatch(out)
	if code != exitPanic || m == nil || !strings.Contains(out, "panic/planted panic") {
		t.Fatalf("shrink: exit %d, stdout %q, stderr %q; want exit %d and all faults gone", code, out, stderr, exitPanic)
	}
	if !strings.Contains(out, "removed all 3 faults") {
		t.Errorf("shrink did not print its steps: %q", out)
	}
	tr, err := sim.ReadTrace(filepath.Join(dir, "test-3-shrunk", "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Verdict != sim.Panic || len(tr.Faults) != 0 || tr.Params.Duration >= time.Second*2 {
		t.Errorf("shrunk trace: %s, %d faults, fault phase %v", tr.Verdict, len(tr.Faults), tr.Params.Duration)
	}
	res, err := sim.Run(tr.RunParams(), o)
	if err != nil || res.EventHash != tr.EventHash {
		t.Errorf("replay of the shrunk trace: hash %s, %v; want %s", res.EventHash, err, tr.EventHash)
	}
}

func TestShrinkPassingTrace(t *testing.T) {
	dir := t.TempDir()
	in := writeTrace(t, dir, small(), sim.Options{})
	code, out, stderr := call("shrink", "-out", dir, in)
	if code != exitPass || !strings.Contains(out, "does not fail") {
		t.Errorf("shrink of a passing trace: exit %d, stdout %q, stderr %q; want exit 0 and \"does not fail\"", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "test-3-shrunk")); !os.IsNotExist(err) {
		t.Errorf("shrink of a passing trace wrote a shrunk trace (%v)", err)
	}
}

func TestShrinkUsage(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte("{"), 0o644)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"shrink"}, "error: shrink takes one trace file, got 0"},
		{[]string{"shrink", "a.json", "b.json"}, "error: shrink takes one trace file, got 2"},
		{[]string{"shrink", "-runs", "0", "a.json"}, "error: -runs must be 1..100000"},
		{[]string{"shrink", "-bogus", "a.json"}, "error: shrink: flag provided but not defined"},
		{[]string{"shrink", notJSON}, "error: bad trace"},
	} {
		code, _, stderr := call(tc.args...)
		if code != exitUsage || !strings.HasPrefix(strings.TrimSpace(stderr), tc.err) {
			t.Errorf("memdb-sim %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, exitUsage, tc.err)
		}
	}
}
