package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/sim"
)

// shrinkRun is how shrink runs each candidate; tests plant bugs through it.
var shrinkRun sim.Options

func shrink(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("shrink", "shrink [-out DIR] [-runs N] [-check-steps N] FILE.json", stdout)
	out := fs.String("out", "out", "write the smallest trace to DIR/<scenario>-<seed>-shrunk/")
	runs := fs.Int("runs", sim.DefaultShrinkRuns, "at most this many simulation runs")
	checkSteps := fs.Int("check-steps", 0, "bound on each key's linearizability search, in steps of the model (0: linearize.DefaultSteps); a candidate whose search runs out is undecided, never kept")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	switch {
	case fs.NArg() != 1:
		return exitUsage, usagef("shrink takes one trace file, got %d arguments", fs.NArg())
	case *runs < 1 || *runs > 100_000:
		return exitUsage, usagef("-runs must be 1..100000, not %d", *runs)
	case *checkSteps < 0:
		return exitUsage, usagef("-check-steps must be 0 or more, not %d", *checkSteps)
	}
	t, err := sim.ReadTrace(fs.Arg(0))
	if err != nil {
		return exitUsage, usagef("%w", err)
	}
	fmt.Fprintf(stdout, "shrinking %s seed %d (recorded: %s): %d fault(s), %d op(s), %d node(s), %d client(s), %d key(s), %v + %v\n",
		t.Scenario, t.Seed, t.Verdict, len(t.Faults), t.Stats.Ops, t.Params.Nodes, t.Params.Clients, t.Params.Keys, t.Params.Duration, t.Params.Liveness)
	start := time.Now()
	ro := shrinkRun
	ro.CheckSteps = *checkSteps
	o := sim.ShrinkOptions{MaxRuns: *runs, Run: ro, Step: func(s sim.ShrinkStep) {
		fmt.Fprintf(stdout, "  run %3d: %s: %d fault(s), %d op(s) left\n", s.Run, s.What, s.Faults, s.Ops)
	}}
	shrunk, st, err := sim.Shrink(t, o)
	switch {
	case errors.Is(err, sim.ErrNotFailing):
		r := st.Result
		fmt.Fprintf(stdout, "%s seed %d does not fail: re-run verdict %s (recorded %s); nothing to shrink\n", t.Scenario, t.Seed, r.Verdict, t.Verdict)
		if r.EventHash != t.EventHash {
			fmt.Fprintf(stdout, "event hash differs from the recording: recorded %s, re-run %s (the code changed, or the trace is nondeterministic)\n", t.EventHash, r.EventHash)
		}
		return exitPass, nil
	case errors.Is(err, sim.ErrUndecided):
		return exitUndecided, fmt.Errorf("%w; nothing to shrink: raise -check-steps (now %d; 0 is %d)", err, *checkSteps, linearize.DefaultSteps)
	case err != nil:
		return exitUsage, usagef("%w", err)
	}
	if !st.HashMatched {
		fmt.Fprintf(stdout, "warning: the re-run's event hash differs from the recorded %s; shrinking the failure it shows now\n", t.EventHash)
	}
	r := st.Result
	dir := filepath.Join(*out, fmt.Sprintf("%s-%d-shrunk", t.Scenario, t.Seed))
	if err := sim.WriteArtifacts(dir, shrunk, r); err != nil {
		return exitUsage, err
	}
	fmt.Fprintf(stdout, "%s: %s\n", st.Kind, r.Reason)
	p := r.Params
	fmt.Fprintf(stdout, "smallest: %d node(s), %d client(s), %d key(s), %v + %v, think ≤%v\n",
		p.Nodes, p.Clients, p.Keys, p.Duration, p.Liveness, p.Client.ThinkMax)
	for _, f := range p.Faults {
		fmt.Fprintf(stdout, "  %v\n", f)
	}
	fmt.Fprintf(stdout, "trace: %s\n", filepath.Join(dir, "trace.json"))
	if r.Verdict == sim.Safety && !r.Check.OK && r.Check.Key != "" {
		fmt.Fprintf(stdout, "history: %s\n", filepath.Join(dir, "history.html"))
	}
	budget := ""
	if st.Exhausted {
		budget = " (run budget spent; -runs N for more)"
	}
	fmt.Fprintf(stdout, "shrunk: faults %d→%d  ops %d→%d  runs %d  wall %v%s\n",
		st.FaultsBefore, st.FaultsAfter, st.OpsBefore, st.OpsAfter, st.Runs, time.Since(start).Round(time.Millisecond), budget)
	return exitCode(r.Verdict), nil
}
