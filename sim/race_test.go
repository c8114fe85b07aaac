package sim

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// raceSwarm is the cas-race scenario's shape (scenarios.go), with a
// shorter race.
var raceSwarm = Swarm{
	Nodes: 3, MaxClients: 2, MaxKeys: 1,
	Duration: 10 * time.Second, Liveness: 3 * time.Second,
	Paxos: true, CrashAfter: []string{"promise"}, MinRF: 3,
	Race: Race{
		Warmup: 8 * time.Second, LinkDelay: 10 * time.Millisecond,
		CrashRate: 1, CrashDown: time.Millisecond, CrashIdle: true,
		ThinkMax: 5 * time.Millisecond, SyncMax: time.Millisecond, NoPuts: true,
	},
}

// TestRaceLeavesOtherDrawsAlone: a Race changes only what its knobs name,
// so a swarm draws the same schedule, rates and shape with or without one
// — and the zero Race changes nothing at all.
func TestRaceLeavesOtherDrawsAlone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		plain := raceSwarm
		plain.Race = Race{}
		p, _ := plain.Draw(seed)
		q, _ := raceSwarm.Draw(seed)
		zero, _ := plain.Draw(seed)
		if diff := cmp.Diff(p, zero); diff != "" {
			t.Fatalf("seed %d: drawing twice differs (-first +second):\n%s", seed, diff)
		}
		if len(p.Net.Links) != 0 || p.Client.Start != 0 || p.CrashPoint.From != 0 || len(p.CrashPoint.Nodes) != 0 {
			t.Fatalf("seed %d: the zero Race drew links %v, start %v, crash point %v", seed, p.Net.Links, p.Client.Start, p.CrashPoint)
		}
		// What the knobs touch, and nothing else, may differ.
		ignore := cmpopts.IgnoreFields(Params{}, "CrashPoint")
		ignoreNet := cmpopts.IgnoreFields(NetParams{}, "Links")
		ignoreClient := cmpopts.IgnoreFields(ClientParams{}, "ThinkMax", "Start", "Mix")
		ignoreDisk := cmpopts.IgnoreFields(DiskParams{}, "SyncMin", "SyncMax")
		if diff := cmp.Diff(p, q, ignore, ignoreNet, ignoreClient, ignoreDisk); diff != "" {
			t.Fatalf("seed %d: the race changed other draws (-without +with):\n%s", seed, diff)
		}
		if p.Client.Mix[0] != q.Client.Mix[0] || p.Client.Mix[3] != q.Client.Mix[3] || q.Client.Mix[1] != 0 {
			t.Fatalf("seed %d: mix %v became %v; want only the puts gone", seed, p.Client.Mix, q.Client.Mix)
		}
		cp := q.CrashPoint
		switch {
		case cp.Rate < 0.25 || cp.Rate > 1 || cp.DownMax > time.Millisecond || cp.From != 8*time.Second:
			t.Fatalf("seed %d: crash point %v", seed, cp)
		case !cmp.Equal(cp.Nodes, []int{3}):
			t.Fatalf("seed %d: crash point on nodes %v with %d clients; want [3]", seed, cp.Nodes, q.Clients)
		case len(q.Net.Links) != 6 || q.Client.Start != 8*time.Second || q.Client.ThinkMax > 5*time.Millisecond || q.Disk.SyncMax > time.Millisecond:
			t.Fatalf("seed %d: links %v, start %v, think %v, sync %v", seed, q.Net.Links, q.Client.Start, q.Client.ThinkMax, q.Disk.SyncMax)
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	})
}

// TestRaceRunsAndReplays runs raced seeds: no operation before the warmup,
// every crash point on the idle node and after the warmup, the run passes
// (no mutant), and a replay from the trace gives the same event hash.
func TestRaceRunsAndReplays(t *testing.T) {
	fired := 0
	for seed := uint64(1); seed <= 2; seed++ {
		p, notes := raceSwarm.Draw(seed)
		res, err := Run(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass || res.Stats.OK == 0 {
			t.Errorf("seed %d: %s (%d ok): %s\n%v", seed, res.Verdict, res.Stats.OK, res.Reason, p)
		}
		for _, op := range res.History {
			if op.Call < p.Client.Start {
				t.Errorf("seed %d: %v called at %v, before the clients start at %v", seed, op, op.Call, p.Client.Start)
				break
			}
		}
		for _, w := range res.Windows {
			if strings.HasPrefix(w.Description, "crash point") && (w.Tag != "node 3" || w.Start < p.CrashPoint.From) {
				t.Errorf("seed %d: crash point on %s at %v; want node 3 from %v", seed, w.Tag, w.Start, p.CrashPoint.From)
			}
		}
		fired += res.Stats.CrashPoints
		replayTrace(t, seed, "race", notes, res)
	}
	if fired == 0 {
		t.Errorf("no crash point fired in 2 seeds")
	}
}

// TestLinkDelay: a listed link adds its extra delay and a jitter within
// bounds, the same on every run; an unlisted one adds nothing; and a world
// without links never makes the links stream.
func TestLinkDelay(t *testing.T) {
	links := []LinkDelay{{From: 1, To: 2, Extra: 3 * time.Millisecond, Jitter: time.Millisecond}}
	draw := func() []time.Duration {
		w := &world{p: Params{Seed: 9, Net: NetParams{Links: links}}}
		var ds []time.Duration
		for range 50 {
			ds = append(ds, w.linkDelay(1, 2))
			if d := w.linkDelay(2, 1); d != 0 {
				t.Fatalf("unlisted link 2→1 delayed %v", d)
			}
		}
		return ds
	}
	a, b := draw(), draw()
	if !cmp.Equal(a, b) {
		t.Errorf("the same seed drew different delays: %v then %v", a, b)
	}
	spread := map[time.Duration]bool{}
	for _, d := range a {
		if d < 3*time.Millisecond || d > 4*time.Millisecond {
			t.Fatalf("delay %v outside [3ms, 4ms]", d)
		}
		spread[d] = true
	}
	if len(spread) < 2 {
		t.Errorf("50 delays with a jitter all equal %v", a[0])
	}
	w := &world{p: Params{Seed: 9}}
	if d := w.linkDelay(1, 2); d != 0 || w.links != nil {
		t.Errorf("no links: delay %v, state %v; want 0 and none", d, w.links)
	}
}

func TestRaceParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Params)
		bad  bool
	}{
		{"valid", func(*Params) {}, false},
		{"link from a node that is not", func(p *Params) { p.Net.Links = []LinkDelay{{From: 4, To: 1}} }, true},
		{"link to itself", func(p *Params) { p.Net.Links = []LinkDelay{{From: 2, To: 2}} }, true},
		{"negative extra", func(p *Params) { p.Net.Links = []LinkDelay{{From: 1, To: 2, Extra: -1}} }, true},
		{"jitter over a minute", func(p *Params) { p.Net.Links = []LinkDelay{{From: 1, To: 2, Jitter: 2 * time.Minute}} }, true},
		{"link named twice", func(p *Params) { p.Net.Links = []LinkDelay{{From: 1, To: 2}, {From: 1, To: 2, Extra: 1}} }, true},
		{"clients start late", func(p *Params) { p.Client.Start = p.Duration }, true},
		{"clients start before zero", func(p *Params) { p.Client.Start = -1 }, true},
		{"crash point on a node that is not", func(p *Params) { p.CrashPoint.Nodes = []int{0} }, true},
		{"crash point from before zero", func(p *Params) { p.CrashPoint.From = -time.Second }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := raceSwarm.Draw(1)
			tc.edit(&p)
			err := p.Validate()
			if tc.bad != (err != nil) {
				t.Errorf("Validate = %v, want error: %v\n%v", err, tc.bad, p)
			}
			if err != nil && !errors.Is(err, ErrParams) {
				t.Errorf("error %v does not wrap ErrParams", err)
			}
		})
	}
}

// ExampleRace shows what the cas-race shape draws for one seed.
func ExampleRace() {
	p, _ := raceSwarm.Draw(1)
	fmt.Println(p.Nodes, p.RF, p.Clients, p.CrashPoint.Nodes, p.Client.Start, len(p.Net.Links))
	// Output: 3 3 2 [3] 8s 6
}

// replayTrace writes run res of seed (of scenario name, drawn with notes)
// as a trace, reads it back and runs it again: the replay must give the
// same event hash. It returns the replay's result.
func replayTrace(t *testing.T, seed uint64, name string, notes []string, res Result) Result {
	t.Helper()
	dir := t.TempDir()
	if err := WriteArtifacts(dir, NewTrace(name, notes, res), res); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadTrace(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Run(tr.RunParams(), Options{})
	if err != nil || again.EventHash != res.EventHash {
		t.Errorf("seed %d: replay from the trace: hash %s, %v; want %s", seed, again.EventHash, err, res.EventHash)
	}
	return again
}
