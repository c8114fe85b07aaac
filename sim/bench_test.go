package sim

import (
	"testing"
	"time"
)

// BenchmarkRun measures the simulator on a single-node swarm like the
// single-node scenario: simulated seconds per wall second, and events per
// wall second, with and without the linearizability check.
//
//	go test ./sim -run XXX -bench Run -benchtime 20x
func BenchmarkRun(b *testing.B) {
	s := Swarm{Nodes: 1, MaxClients: 6, MaxKeys: 5, Duration: 20 * time.Second, Liveness: 5 * time.Second,
		Faults: []FaultKind{Crash, Break, Slow}}
	var virtual, wall, check time.Duration
	var events uint64
	seed := uint64(0)
	for b.Loop() {
		seed++
		p, _ := s.Draw(seed)
		res, err := Run(p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		virtual += res.Stats.Virtual
		wall += res.Stats.Wall
		check += res.Stats.CheckWall
		events += res.Stats.Events
	}
	b.ReportMetric(virtual.Seconds()/wall.Seconds(), "sim-s/wall-s")
	b.ReportMetric(virtual.Seconds()/(wall-check).Seconds(), "sim-s/wall-s-nocheck")
	b.ReportMetric(float64(events)/(wall-check).Seconds(), "events/s-nocheck")
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
}
