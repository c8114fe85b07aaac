package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/scenarios"
	"github.com/memdb/memdb/sim"
)

// survivors mirrors the list in scenarios/mutants_test.go: planted bugs the
// seeds are known not to catch, each with why. A listed survivor that
// nothing catches does not fail the command; keep the two lists in step.
var survivors = map[string]string{}

// catches reports whether a run with a planted bug caught it: a verdict
// that found something. An undecided run (its linearizability search ran
// out of steps) found nothing and counts as not caught.
func catches(v sim.Verdict) bool { return v != sim.Pass && v != sim.Undecided }

// sees reports whether scenario sc can see mutant m at all: a Paxos bug
// needs a workload that goes through Paxos (cas, lock), a counter bug one
// with counters (counter, churn, chaos), a tombstone bug one whose nodes
// drop tombstones (tombstone, tomb-race); every other mutant, the canary
// among them, is for every scenario.
func sees(sc scenarios.Scenario, m string) bool {
	switch {
	case strings.HasPrefix(m, "paxos-"):
		return sc.Swarm.Paxos || sc.Swarm.Lock
	case strings.HasPrefix(m, "counter-"):
		return sc.Swarm.Counters || sc.Swarm.CountersOnly
	case strings.HasPrefix(m, "batch-"):
		return sc.Swarm.Batches || sc.Swarm.MixBatches || sc.Swarm.BatchRace
	case strings.HasPrefix(m, "tombstone-"):
		return sc.Swarm.Tombstones || sc.Swarm.TombRace // only there do nodes drop tombstones
	}
	return true
}

// mutantRun is one (scenario, seed, mutant) run; mutant "" is the
// baseline, the same seed with no bug planted.
type mutantRun struct {
	sc      scenarios.Scenario
	seed    uint64
	mutant  string
	verdict sim.Verdict
	reason  string
	virtual time.Duration
	incon   bool // the linearizability search ran out of steps (undecided)
	err     error
	res     *sim.Result // kept, with -out, until its trace is written
}

// checkMutant refuses a planted bug this binary cannot switch on: one it
// was built without (no mutants tag), or one that does not exist.
func checkMutant(name string) error {
	switch {
	case name == "":
		return nil
	case !node.MutantsBuilt():
		return fmt.Errorf("this memdb-sim was built without the planted bugs; rebuild it with the mutants tag: " +
			"go build -tags mutants -o bin/memdb-sim ./cmd/memdb-sim (make build does)")
	case !slices.Contains(node.Mutants, name):
		return usagef("unknown mutant %q (known: %v)", name, node.Mutants)
	}
	return nil
}

// tally is what one mutant's runs add up to, per scenario and in all.
type tally struct {
	name   string
	scs    []string       // the scenarios that ran it, in order
	tried  map[string]int // seeds run, per scenario, whose baseline passed
	caught map[string]int
	first  map[string]uint64 // the first seed that caught it, per scenario
	reason string            // the verdict of its first catch
	firstS string            // the scenario of its first catch
	firstN uint64            // and its seed
}

func (t *tally) totals() (tried, caught int) {
	for _, s := range t.scs {
		tried += t.tried[s]
		caught += t.caught[s]
	}
	return tried, caught
}

func mutants(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("mutants", "mutants [-seeds N] [-seed N] [-scenario NAME|all] [-mutant NAME|all] [-j N] [-v] [-out DIR]", stdout)
	n := fs.Int("seeds", 32, "seeds per scenario")
	seed := fs.Uint64("seed", 1, "first seed")
	scName := fs.String("scenario", "all", "run only on this scenario (each mutant runs on the scenarios that can see it)")
	mName := fs.String("mutant", "all", "run only this planted bug")
	par := fs.Int("j", defaultWorkers(), "runs at once (default: the number of cores)")
	verbose := fs.Bool("v", false, "print every run that caught a mutant")
	out := fs.String("out", "", "write the trace of each mutant's first catch in each scenario to DIR/<scenario>-<seed>-<mutant>/")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	switch {
	case fs.NArg() > 0:
		return exitUsage, usagef("mutants takes only flags, got %q", fs.Args())
	case *n < 1 || *n > 1_000_000:
		return exitUsage, usagef("-seeds must be 1..1000000, not %d", *n)
	case *seed > math.MaxUint64-uint64(*n)+1:
		return exitUsage, usagef("-seed %d plus -seeds %d overflows", *seed, *n)
	}
	if err := workers(*par); err != nil {
		return exitUsage, err
	}
	if err := checkMutant(node.MutantCanary); err != nil {
		return exitUsage, err
	}
	scs := scenarios.All()
	if *scName != "all" {
		sc, err := scenarios.Lookup(*scName)
		if err != nil {
			return exitUsage, usagef("%w", err)
		}
		scs = []scenarios.Scenario{sc}
	}
	ms := node.Mutants
	if *mName != "all" {
		if !slices.Contains(node.Mutants, *mName) {
			return exitUsage, usagef("unknown mutant %q (known: %v)", *mName, node.Mutants)
		}
		ms = []string{*mName}
	}

	// Every seed of every scenario runs once without a bug (the baseline)
	// and once per mutant the scenario can see. A seed whose baseline
	// fails proves nothing about a mutant, so it is left out of the tally.
	var runs []*mutantRun
	var tallies []*tally
	var skipped []string
	for _, m := range ms {
		t := &tally{name: m, tried: map[string]int{}, caught: map[string]int{}, first: map[string]uint64{}}
		for _, sc := range scs {
			if sees(sc, m) {
				t.scs = append(t.scs, sc.Name)
			}
		}
		if len(t.scs) == 0 {
			skipped = append(skipped, m)
			continue
		}
		tallies = append(tallies, t)
	}
	if len(tallies) == 0 {
		return exitUsage, usagef("no scenario in %v can see %v: the Paxos mutants need cas or lock", names(scs), skipped)
	}
	for _, sc := range scs {
		for i := range uint64(*n) {
			var these []string
			for _, t := range tallies {
				if slices.Contains(t.scs, sc.Name) {
					these = append(these, t.name)
				}
			}
			if len(these) == 0 {
				continue
			}
			runs = append(runs, &mutantRun{sc: sc, seed: *seed + i})
			for _, m := range these {
				runs = append(runs, &mutantRun{sc: sc, seed: *seed + i, mutant: m})
			}
		}
	}

	start := time.Now()
	prog := newProgress(stderr, len(runs), "caught")
	task := func(i int) {
		r := runs[i]
		p, _ := r.sc.Params(r.seed)
		p.Mutant = r.mutant
		res, err := sim.Run(p, sim.Options{})
		r.verdict, r.reason, r.err = res.Verdict, res.Reason, err
		r.virtual, r.incon = res.Stats.Virtual, res.Stats.CheckUndecided
		if *out != "" && r.mutant != "" && err == nil && catches(res.Verdict) {
			r.res = &res // its trace is written if it is the first catch
		}
	}
	completed := func(i int) {
		r := runs[i]
		prog.add(r.mutant != "" && r.err == nil && catches(r.verdict), r.virtual)
	}
	byName := map[string]*tally{}
	for _, t := range tallies {
		byName[t.name] = t
	}
	baselineOK := false
	var firstErr error
	var nruns, incon, baseFails int
	emit := func(i int) {
		r := runs[i]
		nruns++
		if r.incon {
			incon++
		}
		switch {
		case r.err != nil:
			prog.printf(stderr, "error: %s seed %d mutant %q: %v\n", r.sc.Name, r.seed, r.mutant, r.err)
			firstErr = r.err
			if r.mutant == "" {
				baselineOK = false
			}
		case r.mutant == "":
			// The baseline comes first among a seed's runs.
			baselineOK = r.verdict == sim.Pass
			if !baselineOK {
				baseFails++
				prog.printf(stdout, "baseline %s seed %d fails without a mutant (%s: %s); left out\n",
					r.sc.Name, r.seed, r.verdict, short(r.reason, 100))
			}
		case !baselineOK:
		default:
			t := byName[r.mutant]
			t.tried[r.sc.Name]++
			if !catches(r.verdict) {
				return
			}
			t.caught[r.sc.Name]++
			if _, ok := t.first[r.sc.Name]; !ok {
				t.first[r.sc.Name] = r.seed
				if r.res != nil {
					dir := filepath.Join(*out, fmt.Sprintf("%s-%d-%s", r.sc.Name, r.seed, r.mutant))
					_, notes := r.sc.Params(r.seed)
					if err := sim.WriteArtifacts(dir, sim.NewTrace(r.sc.Name, notes, *r.res), *r.res); err != nil {
						prog.printf(stderr, "error: writing the trace of %s caught by %s seed %d: %v\n", r.mutant, r.sc.Name, r.seed, err)
						firstErr = err
					} else {
						prog.printf(stdout, "trace of %s caught by %s seed %d: %s\n", r.mutant, r.sc.Name, r.seed, filepath.Join(dir, "trace.json"))
					}
				}
			}
			r.res = nil
			if t.firstS == "" || r.seed < t.firstN {
				t.firstS, t.firstN, t.reason = r.sc.Name, r.seed, fmt.Sprintf("%s: %s", r.verdict, r.reason)
			}
			if *verbose {
				prog.printf(stdout, "caught %s by %s seed %d: %s: %s\n", r.mutant, r.sc.Name, r.seed, r.verdict, short(r.reason, 160))
			}
		}
	}
	runPool(len(runs), *par, task, completed, emit, prog.tick)
	prog.clear()
	wall := time.Since(start)

	// One line per mutant: caught/tried over every scenario that can see
	// it, the rate, the first seed that caught it (with seeds from 1, the
	// seeds it took to detect it), each scenario's share, and why.
	fmt.Fprintf(stdout, "%-24s %-9s %5s  %-20s %-30s %s\n", "MUTANT", "CAUGHT", "RATE", "FIRST CAUGHT BY", "PER SCENARIO (caught/tried)", "VERDICT (first catch)")
	caught, survived, listed := 0, 0, 0
	for _, t := range tallies {
		tried, c := t.totals()
		rate := 0.0
		if tried > 0 {
			rate = 100 * float64(c) / float64(tried)
		}
		first := "-"
		if t.firstS != "" {
			first = fmt.Sprintf("%s seed %d", t.firstS, t.firstN)
		}
		var per []string
		for _, s := range t.scs {
			per = append(per, fmt.Sprintf("%s %d/%d", s, t.caught[s], t.tried[s]))
		}
		why := short(t.reason, 100)
		var blind []string // scenarios that ran the canary and never caught it
		if t.name == node.MutantCanary {
			for _, s := range t.scs {
				if t.tried[s] > 0 && t.caught[s] == 0 {
					blind = append(blind, s)
				}
			}
		}
		switch {
		case len(blind) > 0:
			survived++
			why = fmt.Sprintf("CANARY MISSED by %v: their checkers cannot see corrupted writes", blind)
		case c > 0 && survivors[t.name] != "":
			caught++
			why += " (a listed survivor, caught: take it off the list)"
		case c > 0:
			caught++
		case survivors[t.name] != "":
			listed++
			why = "survived (" + survivors[t.name] + ")"
		case tried == 0:
			survived++
			why = "NOT TRIED: every baseline failed"
		default:
			survived++
			why = "SURVIVED: no seed caught it"
		}
		fmt.Fprintf(stdout, "%-24s %-9s %4.0f%%  %-20s %-30s %s\n", t.name, fmt.Sprintf("%d/%d", c, tried), rate, first, strings.Join(per, "  "), why)
	}
	for _, m := range skipped {
		fmt.Fprintf(stdout, "%-24s skipped: no scenario in %v can see it\n", m, names(scs))
	}
	fmt.Fprintf(stdout, "mutants: %d  caught: %d  survived: %d  listed survivors: %d  runs: %d (%d baselines failed, %d checks undecided)  wall: %v\n",
		len(tallies), caught, survived, listed, nruns, baseFails, incon, wall.Round(time.Millisecond))
	if firstErr != nil {
		return exitUsage, fmt.Errorf("some runs could not be made; see above")
	}
	if survived > 0 {
		return exitSafety, nil
	}
	return exitPass, nil
}

func names(scs []scenarios.Scenario) []string {
	var n []string
	for _, s := range scs {
		n = append(n, s.Name)
	}
	return n
}

// short cuts s to at most n runes, marking the cut.
func short(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
