// Command memdb-sim runs memdb's deterministic simulator: scenarios at
// seeds, replays of failing traces.
//
//	memdb-sim list
//	memdb-sim run [-scenario NAME|all] [-seed N] [-seeds N] [-out DIR] [-keep] [-v]
//	memdb-sim replay [-log FILE] FILE.json
//	memdb-sim mutants [-seeds N] [-scenario NAME|all] [-mutant NAME]
//
// Exit status: 0 pass; 1 safety violation; 2 usage; 3 liveness failure;
// 4 a panic in node code; 5 nondeterminism (replay gave another event hash);
// 6 undecided (a linearizability search ran out of its step budget: no
// violation found, nothing proved).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes, part of the contract.
const (
	exitPass     = 0
	exitSafety   = 1
	exitUsage    = 2
	exitLiveness = 3
	exitPanic    = 4
	exitNondet   = 5
	// exitUndecided: no checker found a violation, but some key's
	// linearizability search ran out of its step budget. Never a pass;
	// the budget is counted, so the same seed is undecided everywhere.
	exitUndecided = 6
)

const usage = `memdb-sim — memdb's deterministic simulator

usage:
  memdb-sim list                        scenarios, one line each
  memdb-sim run [flags]                 run scenarios at consecutive seeds
  memdb-sim replay [-log FILE] FILE.json
                                        re-run a trace; check the event hash
  memdb-sim shrink [-out DIR] [-runs N] [-check-steps N] FILE.json
                                        the smallest trace that fails the same way
  memdb-sim mutants [flags]             every planted bug over N seeds: how many
                                        caught it, and the first seed that did
                                        (a binary built with -tags mutants only)

run flags:
  -scenario NAME|all   which scenario (default all)
  -seed N              first seed (default 1)
  -seeds N             how many consecutive seeds (default 1)
  -out DIR             where failing seeds leave DIR/<scenario>-<seed>/trace.json
                       (and history.html for a linearizability failure) (default out)
  -keep                keep the traces of passing seeds too
  -v                   print a line for every seed, not only failing ones
  -j N                 seeds run at once (default: the number of cores); the
                       output is in seed order whatever N is
  -check-steps N       bound on each key's linearizability search, in steps
                       of the model (default 0: linearize.DefaultSteps)

run ends with "seeds: S  failed: F  sim/wall: R×" (R: simulated seconds per
wall second). Exit status: 0 pass, 1 safety, 2 usage, 3 liveness, 4 panic in
node code, 5 nondeterminism (replay only), 6 undecided (no violation found,
but a linearizability search ran out of its step budget, which is counted,
not timed, so the verdict is the same on every machine). With several
failures, run exits with the worst: safety, then panic, then liveness, then
undecided. On a terminal, run and
mutants redraw a progress line on stderr.

mutants flags:
  -seeds N             seeds per scenario (default 32)
  -seed N              first seed (default 1)
  -scenario NAME|all   which scenarios (default all); each mutant runs on those
                       that can see it: the paxos-* ones on cas and lock, the
                       canary (canary-corrupt-writes) on every scenario
  -mutant NAME|all     which planted bug (default all)
  -j N                 runs at once (default: the number of cores)
  -v                   print every run that caught a mutant

mutants runs each seed once without a bug too, and leaves out seeds that fail
without one. It prints a line per mutant (caught/tried, rate, first seed that
caught it, per scenario, the first verdict) and a summary line. Exit status:
0 every mutant caught (or a listed survivor), 1 some mutant never caught or
the canary missed by a scenario, 2 usage or a binary built without -tags
mutants.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// usageError marks errors that are the caller's mistake (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "error: no command given; use list, run, replay or mutants")
		return exitUsage
	}
	var code int
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitPass
	case "list":
		code, err = list(rest, stdout)
	case "run":
		code, err = runSeeds(rest, stdout, stderr)
	case "replay":
		code, err = replay(rest, stdout, stderr)
	case "mutants":
		code, err = mutants(rest, stdout, stderr)
	case "shrink":
		code, err = shrink(rest, stdout, stderr)
	default:
		err = usagef("unknown command %q; use list, run, replay or mutants (memdb-sim -h for help)", cmd)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		fmt.Fprintf(stderr, "error: %v\n", err)
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		if code == exitPass {
			code = exitUsage
		}
	}
	return code
}

// newFlags returns a flag set that prints help to stdout on -h and reports
// other mistakes as one error line.
func newFlags(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse prints help on -h only; other mistakes are one error line
	help[fs] = func() {
		fmt.Fprintf(stdout, "usage: memdb-sim %s\n", synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// help holds each flag set's help printer.
var help = map[*flag.FlagSet]func(){}

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help[fs]()
			return err
		}
		return usagef("%s: %v (memdb-sim %s -h for help)", fs.Name(), err, fs.Name())
	}
	return nil
}
