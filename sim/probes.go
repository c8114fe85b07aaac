package sim

import "github.com/memdb/memdb/node"

// Coverage probes (node/probe.go): each node counts the rare states it
// reaches; a run sums the counts of every incarnation of every node — an
// incarnation's at the moment it crashes or leaves, the survivors' at the
// end — into Stats.Probes, which names every probe, hit or not. The counts
// are read, never acted on, so collecting them changes no event hash.

// prober is a process that counts probes: a *node.Node.
type prober interface {
	ProbeCounts() []node.ProbeCount
}

// addProbes adds p's probe counts to the run's, if p counts any.
func (w *world) addProbes(p Process) {
	if w.stats.Probes == nil {
		w.stats.Probes = newProbeCounts()
	}
	pr, ok := p.(prober)
	if !ok {
		return
	}
	for _, c := range pr.ProbeCounts() {
		w.stats.Probes[c.Name] += c.Count
	}
}

// collectProbes adds the counts of every process still running at the end
// of the run.
func (w *world) collectProbes() {
	if w.stats.Probes == nil {
		w.stats.Probes = newProbeCounts()
	}
	for _, h := range w.hosts {
		if h.up && h.proc != nil {
			w.addProbes(h.proc)
		}
	}
}

func newProbeCounts() map[string]uint64 {
	m := make(map[string]uint64, len(node.Probes))
	for _, name := range node.Probes {
		m[name] = 0
	}
	return m
}

// NeverHit returns, in node.Probes order, the probes that totals (the sum
// of runs' Stats.Probes) counts no hit for.
func NeverHit(totals map[string]uint64) []string {
	var out []string
	for _, name := range node.Probes {
		if totals[name] == 0 {
			out = append(out, name)
		}
	}
	return out
}
