package sim

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/node"
)

// fixedProbes is a node whose every incarnation reports one hit of each
// probe it names, whatever it did.
type fixedProbes struct {
	*node.Node
	names []string
}

func (n fixedProbes) ProbeCounts() []node.ProbeCount {
	out := make([]node.ProbeCount, len(n.names))
	for i, name := range n.names {
		out[i] = node.ProbeCount{Name: name, Count: 1}
	}
	return out
}

// TestProbesSumEveryIncarnation: a run's counts are those of every
// incarnation of every node, the ones that crashed included.
func TestProbesSumEveryIncarnation(t *testing.T) {
	p := base(5)
	p.Faults = []Fault{
		{At: 300 * time.Millisecond, Kind: Crash, Node: 1, For: 100 * time.Millisecond},
		{At: 900 * time.Millisecond, Kind: Crash, Node: 1, For: 100 * time.Millisecond},
	}
	names := []string{node.ProbeTornTail, node.ProbeHintDropped}
	res, err := Run(p, Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
		n, err := node.New(cfg, env)
		return fixedProbes{n, names}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Crashes != 2 || res.Stats.Restarts != 2 {
		t.Fatalf("the faults did not all happen: %d crashes, %d restarts", res.Stats.Crashes, res.Stats.Restarts)
	}
	want := map[string]uint64{}
	for _, name := range node.Probes {
		want[name] = 0
	}
	for _, name := range names {
		want[name] = 3 // three incarnations: two crashed, one at the end
	}
	if diff := cmp.Diff(want, res.Stats.Probes); diff != "" {
		t.Errorf("probe counts (-want +got):\n%s", diff)
	}
	if got, want := NeverHit(res.Stats.Probes), len(node.Probes)-len(names); len(got) != want || slices.Contains(got, node.ProbeTornTail) {
		t.Errorf("NeverHit = %v, want the %d probes other than %v", got, want, names)
	}
}

// TestProbesInTrace: a real run's trace holds a count for every probe,
// and a probe a one-node run cannot reach (a Paxos round across two
// rings needs a ring change) is among those never hit.
func TestProbesInTrace(t *testing.T) {
	p := base(6)
	p.Faults = []Fault{{At: 500 * time.Millisecond, Kind: Crash, Node: 1, For: 100 * time.Millisecond}}
	res, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Pass {
		t.Fatalf("verdict %s: %s", res.Verdict, res.Reason)
	}
	dir := t.TempDir()
	if err := WriteArtifacts(dir, NewTrace("probes", nil, res), res); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadTrace(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Stats.Probes, tr.Stats.Probes); diff != "" {
		t.Errorf("trace's probes differ from the run's (-run +trace):\n%s", diff)
	}
	for _, name := range node.Probes {
		if _, ok := tr.Stats.Probes[name]; !ok {
			t.Errorf("the trace has no count for probe %q", name)
		}
	}
	never := NeverHit(tr.Stats.Probes)
	for _, name := range []string{node.ProbePaxosTwoRings, node.ProbeCASTwoRings, node.ProbeMoveLockTakeover} {
		if !slices.Contains(never, name) {
			t.Errorf("probe %q, which a one-node run cannot reach, is not listed as never hit: %v", name, never)
		}
	}
}

func TestNeverHit(t *testing.T) {
	all := map[string]uint64{}
	for _, name := range node.Probes {
		all[name] = 1
	}
	if got := NeverHit(all); got != nil {
		t.Errorf("NeverHit with every probe hit = %v, want none", got)
	}
	all[node.ProbeFenced] = 0
	delete(all, node.ProbeTornTail)
	want := []string{node.ProbeTornTail, node.ProbeFenced}
	slices.SortFunc(want, func(a, b string) int { return slices.Index(node.Probes, a) - slices.Index(node.Probes, b) })
	if diff := cmp.Diff(want, NeverHit(all)); diff != "" {
		t.Errorf("NeverHit (-want +got):\n%s", diff)
	}
}
