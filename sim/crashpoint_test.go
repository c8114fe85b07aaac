package sim

import (
	"errors"
	"testing"
	"time"
)

// crashSwarm is a small Paxos cluster with crash points after promises.
var crashSwarm = Swarm{
	Nodes: 3, MaxClients: 4, MaxKeys: 1,
	Duration: 2 * time.Second, Liveness: 3 * time.Second,
	Paxos: true, CrashAfter: []string{"promise", "accepted"}, MinRF: 3,
}

// TestCrashPointOffIsInert: a crash point that cannot fire draws nothing
// and schedules nothing, so the run is the one without it.
func TestCrashPointOffIsInert(t *testing.T) {
	p, _ := crashSwarm.Draw(5)
	p.CrashPoint = CrashPoint{}
	a, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.CrashPoint = CrashPoint{After: []string{"promise"}, DownMax: time.Millisecond}
	b, err := Run(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.EventHash != b.EventHash || b.Stats.CrashPoints != 0 {
		t.Errorf("a crash point at rate 0 changed the run: hash %s then %s, %d crash points", a.EventHash, b.EventHash, b.Stats.CrashPoints)
	}
}

// TestCrashPointFiresAndReplays runs seeds with crash points on: they must
// fire, each must be a crash, the run must pass (no mutant), and a replay
// from the written trace must give the same event hash.
func TestCrashPointFiresAndReplays(t *testing.T) {
	fired := 0
	for seed := uint64(1); seed <= 3; seed++ {
		p, notes := crashSwarm.Draw(seed)
		if !p.CrashPoint.On() || p.RF < 3 {
			t.Fatalf("seed %d: swarm drew crash point %v, rf %d", seed, p.CrashPoint, p.RF)
		}
		res, err := Run(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass {
			t.Errorf("seed %d: %s: %s\n%v", seed, res.Verdict, res.Reason, p)
		}
		if res.Stats.Crashes < res.Stats.CrashPoints {
			t.Errorf("seed %d: %d crash points but %d crashes", seed, res.Stats.CrashPoints, res.Stats.Crashes)
		}
		fired += res.Stats.CrashPoints
		if again := replayTrace(t, seed, "crash-point", notes, res); again.Stats.CrashPoints != res.Stats.CrashPoints {
			t.Errorf("seed %d: replay from the trace: %d crash points, want %d", seed, again.Stats.CrashPoints, res.Stats.CrashPoints)
		}
	}
	if fired == 0 {
		t.Errorf("no crash point fired in 3 seeds")
	}
}

// TestSwarmWithoutCrashPoint: a swarm that asks for no crash point draws
// none.
func TestSwarmWithoutCrashPoint(t *testing.T) {
	s := crashSwarm
	s.CrashAfter, s.MinRF = nil, 0
	p, _ := s.Draw(5)
	if p.CrashPoint.On() || p.RF != 1 {
		t.Errorf("crash point %v, rf %d; want off and 1", p.CrashPoint, p.RF)
	}
}

func TestCrashPointValidate(t *testing.T) {
	ok := CrashPoint{After: []string{"promise", "accepted"}, Rate: 0.1, DownMin: time.Millisecond, DownMax: 2 * time.Millisecond}
	for _, tc := range []struct {
		name string
		edit func(*CrashPoint)
		bad  bool
	}{
		{"valid", func(*CrashPoint) {}, false},
		{"zero", func(c *CrashPoint) { *c = CrashPoint{} }, false},
		{"rate above one", func(c *CrashPoint) { c.Rate = 1.5 }, true},
		{"negative rate", func(c *CrashPoint) { c.Rate = -0.1 }, true},
		{"no kind", func(c *CrashPoint) { c.After = nil }, true},
		{"unknown kind", func(c *CrashPoint) { c.After = []string{"promise", "nonsense"} }, true},
		{"client kind", func(c *CrashPoint) { c.After = []string{"cas"} }, true},
		{"down max below min", func(c *CrashPoint) { c.DownMax = 0 }, true},
		{"negative cap", func(c *CrashPoint) { c.Max = -1 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base(1)
			p.CrashPoint = ok
			tc.edit(&p.CrashPoint)
			err := p.Validate()
			if tc.bad != (err != nil) {
				t.Errorf("Validate(%+v) = %v, want error: %v", p.CrashPoint, err, tc.bad)
			}
			if err != nil && !errors.Is(err, ErrParams) {
				t.Errorf("error %v does not wrap ErrParams", err)
			}
		})
	}
}
