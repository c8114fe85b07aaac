package gossip

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConvergenceTime measures, in virtual time on the simulated network
// (1-10ms latency, no loss, default Config), how long gossip takes to
// spread a join and to detect a crash, against cluster size. It asserts
// only that each happens (within generous limits), never how fast: the
// numbers are for reading (go test ./node/gossip -run TestConvergenceTime -v)
// and are reported in PAPER.md.
//
//   - join: from a new node's Start (through one seed) until every node,
//     the new one included, holds every member Alive.
//   - suspect: from a crash until the first node suspects the crashed one.
//   - dead: from a crash until every other node holds it Dead. The
//     suspicion timeout, SuspicionMult*ceil(log2(n+1))*ProbeInterval, is
//     most of it.
//   - msgs: messages each node sent per second of virtual time over both
//     measurements, push-pulls included.
func TestConvergenceTime(t *testing.T) {
	sizes := []int{3, 10, 30, 100}
	const trials = 3
	var rows []string
	for _, n := range sizes {
		var join, suspect, dead [trials]time.Duration
		var rate float64
		for trial := range trials {
			s := newSim(t, uint64(n*1000+trial), DefaultConfig())
			ids := s.boot(n)
			s.run(s.now + 5*time.Second)
			sent0, t0 := s.sent, s.now

			start := s.now
			id := s.add().id
			s.start(id, 1)
			all := append(ids, id)
			at, ok := s.runUntil(2*time.Minute, func() bool { return s.allSee(all, all, Alive) })
			if !ok {
				t.Fatalf("n=%d trial %d: join of node %d not known everywhere after 2m:\n%s", n, trial, id, s.diff(all))
			}
			join[trial] = at - start

			victim := all[1+int(s.rng.IntN(len(all)-1))]
			crashed := s.now
			s.crash(victim)
			rest := without(all, victim)
			at, ok = s.runUntil(5*time.Minute, func() bool { return s.allSee(rest, []uint16{victim}, Dead) })
			if !ok {
				t.Fatalf("n=%d trial %d: crash of node %d not detected everywhere after 5m", n, trial, victim)
			}
			dead[trial] = at - crashed
			first := at
			for _, a := range rest {
				if ts, ok := s.firstSeen(a, victim, Suspect); ok && ts >= crashed {
					first = min(first, ts)
				}
			}
			suspect[trial] = first - crashed
			rate += float64(s.sent-sent0) / float64(len(all)) / (s.now - t0).Seconds() / trials
		}
		rows = append(rows, fmt.Sprintf("%5d | %-16s | %-16s | %-16s | %5.1f | %v", n, stat(join[:]), stat(suspect[:]), stat(dead[:]), rate, DefaultConfig().SuspicionTimeout(n+1)))
	}
	t.Logf("convergence in virtual time, mean (max) of %d runs:\n"+
		"nodes | join             | first suspect    | dead everywhere  | msgs/node/s | suspicion timeout (n+1 members)\n%s",
		trials, strings.Join(rows, "\n"))
}

func stat(ds []time.Duration) string {
	var sum, worst time.Duration
	for _, d := range ds {
		sum += d
		worst = max(worst, d)
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	return fmt.Sprintf("%v (%v)", r(sum/time.Duration(len(ds))), r(worst))
}
