package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/scenarios"
	"github.com/memdb/memdb/sim"
)

// job is one (scenario, seed) run and, once done, its outcome.
type job struct {
	sc    scenarios.Scenario
	seed  uint64
	res   sim.Result
	notes []string
	err   error
	dir   string // where its trace was written, if it was
}

func runSeeds(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("run", "run [-scenario NAME|all] [-seed N] [-seeds N] [-out DIR] [-keep] [-v] [-j N] [-mutant NAME] [-check-steps N]", stdout)
	name := fs.String("scenario", "all", "scenario to run, or all")
	seed := fs.Uint64("seed", 1, "first seed")
	n := fs.Int("seeds", 1, "number of consecutive seeds")
	out := fs.String("out", "out", "directory for traces")
	keep := fs.Bool("keep", false, "keep traces of passing seeds too")
	verbose := fs.Bool("v", false, "print every seed, not only failing ones")
	par := fs.Int("j", defaultWorkers(), "seeds to run at once (default: the number of cores)")
	checkSteps := fs.Int("check-steps", 0, "bound on each key's linearizability search, in steps of the model (0: linearize.DefaultSteps); a search that runs out makes the seed undecided (exit 6)")
	mutant := fs.String("mutant", "", "run with this planted bug switched on (a binary built with -tags mutants; its traces replay with it)")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	if err := checkMutant(*mutant); err != nil {
		return exitUsage, err
	}
	switch {
	case fs.NArg() > 0:
		return exitUsage, usagef("run takes only flags, got %q", fs.Args())
	case *checkSteps < 0:
		return exitUsage, usagef("-check-steps must be 0 or more, not %d", *checkSteps)
	case *n < 1 || *n > 10_000_000:
		return exitUsage, usagef("-seeds must be 1..10000000, not %d", *n)
	case *seed > math.MaxUint64-uint64(*n)+1:
		return exitUsage, usagef("-seed %d plus -seeds %d overflows", *seed, *n)
	}
	if err := workers(*par); err != nil {
		return exitUsage, err
	}
	scs := scenarios.All()
	if *name != "all" {
		sc, err := scenarios.Lookup(*name)
		if err != nil {
			return exitUsage, usagef("%w", err)
		}
		scs = []scenarios.Scenario{sc}
	}
	var jobs []*job
	for _, sc := range scs {
		for i := range uint64(*n) {
			jobs = append(jobs, &job{sc: sc, seed: *seed + i})
		}
	}

	// Each seed is its own single-threaded world: run them on -j workers,
	// print each in seed order as soon as it and every seed before it are
	// done, so the output is the same for every -j.
	start := time.Now()
	prog := newProgress(stderr, len(jobs), "failed")
	failed := 0
	worst := sim.Pass
	var virtual time.Duration
	var firstErr error
	probes := newProbeTally()
	task := func(i int) {
		j := jobs[i]
		var p sim.Params
		p, j.notes = j.sc.Params(j.seed)
		p.Mutant = *mutant
		j.res, j.err = sim.Run(p, sim.Options{CheckSteps: *checkSteps})
		if j.err == nil && (j.res.Verdict != sim.Pass || *keep) {
			j.dir = filepath.Join(*out, fmt.Sprintf("%s-%d", j.sc.Name, j.seed))
			j.err = sim.WriteArtifacts(j.dir, sim.NewTrace(j.sc.Name, j.notes, j.res), j.res)
		}
		// Only the verdict and the numbers are printed: drop the history,
		// so that a long run holds one line's worth per seed.
		j.res.History, j.res.Windows, j.res.Check, j.notes = nil, nil, linearize.Result{}, nil
	}
	completed := func(i int) {
		j := jobs[i]
		prog.add(j.err != nil || j.res.Verdict != sim.Pass, j.res.Stats.Virtual)
	}
	emit := func(i int) {
		j := jobs[i]
		if j.err != nil {
			prog.printf(stderr, "error: %s seed %d: %v\n", j.sc.Name, j.seed, j.err)
			firstErr = j.err
			return
		}
		r := j.res
		virtual += r.Stats.Virtual
		probes.add(r.Stats.Probes)
		where := ""
		if j.dir != "" {
			where = "  trace: " + filepath.Join(j.dir, "trace.json")
		}
		if r.Verdict != sim.Pass {
			failed++
			worst = worse(worst, r.Verdict)
			prog.printf(stdout, "FAIL %s seed %d: %s: %s%s\n", j.sc.Name, j.seed, r.Verdict, r.Reason, where)
		} else if *verbose {
			prog.printf(stdout, "pass %s seed %d  hash %s  events %d  ops %d  sim %.1fs  wall %v  check %v (%d steps)%s\n",
				j.sc.Name, j.seed, r.EventHash, r.Stats.Events, r.Stats.Ops, r.Stats.Virtual.Seconds(),
				r.Stats.Wall.Round(time.Millisecond), r.Stats.CheckWall.Round(time.Millisecond), r.Stats.CheckSteps, where)
		}
	}
	runPool(len(jobs), *par, task, completed, emit, prog.tick)
	prog.clear()
	wall := time.Since(start)
	probes.print(stdout, *verbose)
	fmt.Fprintf(stdout, "seeds: %d  failed: %d  sim/wall: %.1f×\n", len(jobs), failed, virtual.Seconds()/max(wall.Seconds(), 1e-9))
	if firstErr != nil && failed == 0 {
		return exitUsage, fmt.Errorf("%d run(s) could not be completed; see above", countErrs(jobs))
	}
	return exitCode(worst), nil
}

func countErrs(jobs []*job) int {
	n := 0
	for _, j := range jobs {
		if j.err != nil {
			n++
		}
	}
	return n
}

// severity orders verdicts for the exit status of a run of many seeds.
var severity = map[sim.Verdict]int{sim.Pass: 0, sim.Undecided: 1, sim.Liveness: 2, sim.Panic: 3, sim.Safety: 4}

func worse(a, b sim.Verdict) sim.Verdict {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

func exitCode(v sim.Verdict) int {
	switch v {
	case sim.Safety:
		return exitSafety
	case sim.Liveness:
		return exitLiveness
	case sim.Panic:
		return exitPanic
	case sim.Undecided:
		return exitUndecided
	}
	return exitPass
}
