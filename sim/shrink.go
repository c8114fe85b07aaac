package sim

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Shrinking. A failing trace usually holds far more than its bug needs:
// dozens of faults, thousands of operations, eight clients on seven nodes.
// Shrink re-runs smaller variants of its parameters and keeps each one that
// still fails the same way, until no reduction helps or its run budget is
// spent. Runs are deterministic, so every step it keeps is a trace that
// replays to the same failure.

// ErrNotFailing means the trace handed to Shrink passes when re-run: there
// is nothing to shrink.
var ErrNotFailing = errors.New("the trace does not fail")

// ErrUndecided means the re-run of the trace handed to Shrink was
// undecided (its linearizability search ran out of steps): there is no
// violation to keep while shrinking.
var ErrUndecided = errors.New("the trace's linearizability search ran out of steps")

// DefaultShrinkRuns bounds the runs of a Shrink whose options say 0.
const DefaultShrinkRuns = 200

// ShrinkOptions tune Shrink.
type ShrinkOptions struct {
	// MaxRuns bounds the simulation runs, the first (which reproduces the
	// input's failure) included; 0 means DefaultShrinkRuns.
	MaxRuns int
	// Run is how each candidate runs (NewProcess, CheckSteps); its Log
	// is ignored.
	Run Options
	// Step, if set, is told of every reduction Shrink keeps.
	Step func(ShrinkStep)
}

// ShrinkStep is one reduction Shrink kept.
type ShrinkStep struct {
	Run    int    // the run that showed the smaller trace still fails
	What   string // what changed, e.g. "removed faults 3-5 of 9", "clients 6→3"
	Faults int    // what is left
	Ops    int
}

// ShrinkStats says what Shrink did.
type ShrinkStats struct {
	// Kind is the failure every kept trace shares (FailureKind).
	Kind string
	// HashMatched reports whether the first run reproduced the input's
	// recorded event hash; when it did not (the code changed since), Shrink
	// shrinks the failure the code fails with now.
	HashMatched bool
	// Runs counts simulation runs; Exhausted is set if MaxRuns stopped
	// Shrink before a pass that removed nothing.
	Runs      int
	Exhausted bool
	Steps     []ShrinkStep
	// Before and after: faults scheduled and operations issued.
	FaultsBefore, FaultsAfter int
	OpsBefore, OpsAfter       int
	// Result is the last run of the shrunk trace, for WriteArtifacts.
	Result Result
}

// FailureKind names how a run failed, coarsely enough that two runs of one
// bug agree and finely enough that a shrink never trades the bug for
// another: the verdict and the checker that gave it ("safety/linearizability",
// "safety/quorum visibility", "safety/mutual exclusion", "safety/protocol",
// "liveness/progress", "liveness/convergence", "liveness/node down"), or,
// for a panic, the panic's value with its numbers masked. A pass is "pass".
func FailureKind(v Verdict, reason string) string {
	switch v {
	case Pass:
		return string(Pass)
	case Liveness:
		switch {
		case strings.Contains(reason, "completed no operation"):
			return "liveness/progress"
		case strings.HasPrefix(reason, "convergence:"):
			return "liveness/convergence"
		case strings.Contains(reason, "is down at the end"):
			return "liveness/node down"
		}
	case Panic:
		// "panic in node 2 at 1.5s handling deliver: <value>": keep the value.
		if _, after, ok := strings.Cut(reason, " handling "); ok {
			if _, value, ok := strings.Cut(after, ": "); ok {
				return "panic/" + maskDigits(value)
			}
		}
		return "panic/" + maskDigits(reason)
	}
	head, _, _ := strings.Cut(reason, ":")
	return string(v) + "/" + maskDigits(head)
}

// maskDigits replaces each run of digits with '#'.
func maskDigits(s string) string {
	var b strings.Builder
	digit := false
	for _, r := range s {
		d := r >= '0' && r <= '9'
		if d && !digit {
			b.WriteByte('#')
		} else if !d {
			b.WriteRune(r)
		}
		digit = d
	}
	return b.String()
}

// Shrink looks for the smallest variant of the failing trace t that still
// fails the same way (the same FailureKind), and returns it as a trace
// that replays exactly (its event hash is the shrunk run's).
//
// Each pass first cuts a linearizability failure's run just after the
// failure became certain (cutAtFailure), then tries, in order: removing
// faults (the crash point, then the schedule by delta debugging: all,
// halves, quarters, ..., single faults), a shorter fault phase (dropping
// the faults after it) and, unless the failure is a liveness one, a
// shorter liveness window, fewer clients (dropping their connection
// breaks), fewer keys, slower clients (fewer operations each), and fewer
// nodes (dropping the faults on the nodes removed). Passes repeat until
// one keeps nothing or o.MaxRuns runs are spent. A kept variant never has
// invalid parameters, nor more faults or operations than the one before
// it, except that a run with faults removed may have more operations, up
// to FaultOpsSlack over t's re-run.
//
// The error is ErrNotFailing if t passes when re-run, ErrUndecided if
// its re-run is undecided, or the run's error
// (bad parameters).
func Shrink(t Trace, o ShrinkOptions) (Trace, ShrinkStats, error) {
	if o.MaxRuns <= 0 {
		o.MaxRuns = DefaultShrinkRuns
	}
	o.Run.Log = nil
	s := &shrinker{o: o}
	first, err := Run(t.RunParams(), o.Run)
	if err != nil {
		return Trace{}, ShrinkStats{}, err
	}
	s.stats.Runs = 1
	s.stats.HashMatched = first.EventHash == t.EventHash
	s.stats.Kind = FailureKind(first.Verdict, first.Reason)
	s.stats.FaultsBefore, s.stats.OpsBefore = len(first.Params.Faults), first.Stats.Ops
	s.best = first
	if first.Verdict == Pass || first.Verdict == Undecided {
		s.stats.Result = first
		s.stats.FaultsAfter, s.stats.OpsAfter = s.stats.FaultsBefore, s.stats.OpsBefore
		if first.Verdict == Undecided {
			return Trace{}, s.stats, fmt.Errorf("%w: %s seed %d, after %d steps (recorded: %s)", ErrUndecided, t.Scenario, t.Seed, first.Stats.CheckSteps, t.Verdict)
		}
		return Trace{}, s.stats, fmt.Errorf("%w: %s seed %d passes when re-run (recorded: %s)", ErrNotFailing, t.Scenario, t.Seed, t.Verdict)
	}
	for s.more() {
		before := len(s.stats.Steps)
		s.cutAtFailure() // each pass: a kept reduction may move the failure
		s.faults()
		s.duration()
		if s.best.Verdict != Liveness {
			s.liveness()
		}
		s.clients()
		s.keys()
		s.slower()
		s.nodes()
		if len(s.stats.Steps) == before {
			break
		}
	}
	s.stats.Exhausted = !s.more()
	s.stats.Result = s.best
	s.stats.FaultsAfter, s.stats.OpsAfter = len(s.best.Params.Faults), s.best.Stats.Ops
	return NewTrace(t.Scenario, t.Notes, s.best), s.stats, nil
}

// shrinker is one Shrink in progress.
type shrinker struct {
	o     ShrinkOptions
	best  Result // the smallest failing run so far
	stats ShrinkStats
	// cutTried is the event hash of the best run cutAtFailure last tried
	// to cut, so that it tries each run once.
	cutTried string
}

func (s *shrinker) more() bool { return s.stats.Runs < s.o.MaxRuns }

// try runs p and keeps it if it fails the same way without growing: no
// more faults than the current best, and no more operations than it
// either, unless faultsOnly (see opsCap).
func (s *shrinker) try(p Params, what string, faultsOnly bool) bool {
	if !s.more() || p.Validate() != nil {
		return false
	}
	if !faultsOnly && len(p.Faults) > len(s.best.Params.Faults) {
		return false
	}
	res, err := Run(p, s.o.Run)
	s.stats.Runs++
	if err != nil || FailureKind(res.Verdict, res.Reason) != s.stats.Kind {
		return false
	}
	if res.Stats.Ops > s.opsCap(faultsOnly) {
		return false
	}
	s.best = res
	step := ShrinkStep{Run: s.stats.Runs, What: what, Faults: len(p.Faults), Ops: res.Stats.Ops}
	s.stats.Steps = append(s.stats.Steps, step)
	if s.o.Step != nil {
		s.o.Step(step)
	}
	return true
}

// FaultOpsSlack is how far removing faults may grow a run's operations
// past the input's, as a fraction: a crash or a break removed lets the
// clients complete more, and refusing every such removal would keep
// faults the failure does not need. The later reductions (a shorter run,
// fewer clients) take operations down again.
const FaultOpsSlack = 0.1

// opsCap is the most operations a kept run may have: the current best's,
// or, when only faults were removed, the input's plus FaultOpsSlack.
func (s *shrinker) opsCap(faultsOnly bool) int {
	if faultsOnly {
		return max(s.best.Stats.Ops, s.stats.OpsBefore+int(float64(s.stats.OpsBefore)*FaultOpsSlack))
	}
	return s.best.Stats.Ops
}

// cur returns a copy of the best parameters that the caller may change.
func (s *shrinker) cur() Params {
	p := s.best.Params
	p.Faults = slices.Clone(p.Faults)
	return p
}

// prefixEnd finds, in a linearizability failure's reason (run.go's judge),
// when the shortest illegal prefix ends.
var prefixEnd = regexp.MustCompile(`shortest illegal prefix .* returns at (\S+)$`)

// cutAtFailure ends the run just after a linearizability failure became
// certain, in one run rather than a search. A run is the same up to any
// time T before its heal, whatever comes later, and a history whose prefix
// up to T is not linearizable is not linearizable, whatever ops follow; so
// a fault phase ending just after T fails the same way (if the checker
// finishes), and the faults after T go at once, which makes removing the
// rest far cheaper. It tries a short liveness window too, and, failing
// that, the window as it was.
func (s *shrinker) cutAtFailure() {
	m := prefixEnd.FindStringSubmatch(s.best.Reason)
	if m == nil || s.best.Verdict != Safety || s.cutTried == s.best.EventHash {
		return
	}
	s.cutTried = s.best.EventHash
	t, err := time.ParseDuration(m[1])
	if err != nil {
		return
	}
	d := t.Truncate(time.Millisecond) + time.Millisecond // strictly after t
	p0 := s.best.Params
	if d >= p0.Duration {
		// The failure came after the heal: end the workload just after
		// it instead (the run is the same up to its stop).
		if live := d - p0.Duration; live < p0.Liveness {
			p := s.cur()
			p.Liveness = live
			s.try(p, fmt.Sprintf("cut the run just after the failure at %v: liveness window %v→%v", t, p0.Liveness, live), false)
		}
		return
	}
	for _, live := range []time.Duration{min(p0.Liveness, 10*time.Millisecond), p0.Liveness} {
		p := s.cur()
		p.Duration, p.Liveness = d, live
		p.Faults = slices.DeleteFunc(p.Faults, func(f Fault) bool { return f.At >= d })
		what := fmt.Sprintf("cut the run just after the failure at %v: fault phase %v→%v", t, p0.Duration, d)
		if live != p0.Liveness {
			what += fmt.Sprintf(", liveness window %v→%v", p0.Liveness, live)
		}
		if s.try(p, what, false) || live == p0.Liveness {
			return
		}
	}
}

// faults turns the crash point off, then removes scheduled faults by
// delta debugging: all at once, then chunks of half the schedule, then of
// a quarter, and so on down to single faults, keeping every removal that
// still fails the same way. It stops when no single fault can go.
func (s *shrinker) faults() {
	if s.best.Params.CrashPoint.On() {
		p := s.cur()
		p.CrashPoint = CrashPoint{}
		s.try(p, "removed the crash point", true)
	}
	if len(s.best.Params.Faults) == 0 {
		return
	}
	p := s.cur()
	all := len(p.Faults)
	p.Faults = nil
	if s.try(p, fmt.Sprintf("removed all %d faults", all), true) || all == 1 {
		return
	}
	// Chunks of half the schedule, then of a quarter, down to single
	// faults; after a removal the scan goes on from where it was.
	size := (all + 1) / 2
	for s.more() {
		removed := false
		for i := 0; i < len(s.best.Params.Faults) && s.more(); {
			fs := s.best.Params.Faults
			j := min(i+size, len(fs))
			p := s.cur()
			p.Faults = slices.Delete(p.Faults, i, j)
			what := fmt.Sprintf("removed faults %d-%d of %d", i+1, j, len(fs))
			if j == i+1 {
				what = fmt.Sprintf("removed fault %d of %d (%s)", i+1, len(fs), strings.TrimSpace(fs[i].String()))
			}
			if s.try(p, what, true) {
				removed = true
			} else {
				i = j
			}
		}
		switch {
		case len(s.best.Params.Faults) == 0:
			return
		case size > 1:
			size = (size + 1) / 2
		case !removed:
			return // every single fault is needed
		}
	}
}

// shortest binary-searches the smallest d in (0, cur] for which set(d)
// still fails, until the interval is within a sixteenth of cur or 10 ms.
func (s *shrinker) shortest(cur time.Duration, try func(d time.Duration) bool) {
	lo, hi := time.Duration(0), cur
	for s.more() && hi-lo > max(hi/16, 10*time.Millisecond) {
		mid := (lo + (hi-lo)/2).Round(time.Millisecond)
		if mid <= lo || mid >= hi {
			return
		}
		if try(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
}

// duration shortens the fault phase, dropping the faults it no longer
// reaches.
func (s *shrinker) duration() {
	s.shortest(s.best.Params.Duration, func(d time.Duration) bool {
		p := s.cur()
		old := p.Duration
		p.Duration = d
		p.Faults = slices.DeleteFunc(p.Faults, func(f Fault) bool { return f.At >= d })
		return s.try(p, fmt.Sprintf("fault phase %v→%v", old, d), false)
	})
}

// liveness shortens the window after the heal; not for a liveness failure,
// which a shorter bound would only make easier to fail.
func (s *shrinker) liveness() {
	s.shortest(s.best.Params.Liveness, func(d time.Duration) bool {
		p := s.cur()
		old := p.Liveness
		p.Liveness = d
		return s.try(p, fmt.Sprintf("liveness window %v→%v", old, d), false)
	})
}

// fewer returns the counts below cur worth trying, smallest first: 1, 2,
// half, three quarters and one less.
func fewer(cur, least int) []int {
	var c []int
	for _, n := range []int{least, least + 1, cur / 2, cur * 3 / 4, cur - 1} {
		if n >= least && n < cur && !slices.Contains(c, n) {
			c = append(c, n)
		}
	}
	slices.Sort(c)
	return c
}

// clients drops the highest-numbered clients (a client's operations come
// from its own stream, so the others keep theirs) and their breaks.
func (s *shrinker) clients() {
	for _, n := range fewer(s.best.Params.Clients, 1) {
		p := s.cur()
		old := p.Clients
		p.Clients = n
		p.Faults = slices.DeleteFunc(p.Faults, func(f Fault) bool { return f.Kind == Break && f.Client > n })
		if s.try(p, fmt.Sprintf("clients %d→%d", old, n), false) {
			return
		}
	}
}

// keys narrows the key set.
func (s *shrinker) keys() {
	for _, n := range fewer(s.best.Params.Keys, 1) {
		p := s.cur()
		old := p.Keys
		p.Keys = n
		if s.try(p, fmt.Sprintf("keys %d→%d", old, n), false) {
			return
		}
	}
}

// slower lengthens the clients' think time, so each issues fewer
// operations: up to an eighth of the run, or, for a liveness failure, of
// the liveness window (so that slow clients are not what fails it).
func (s *shrinker) slower() {
	p0 := s.best.Params
	limit := (p0.Duration + p0.Liveness) / 8
	if s.best.Verdict == Liveness {
		limit = p0.Liveness / 8
	}
	for _, f := range []time.Duration{4, 2} {
		think := min(max(p0.Client.ThinkMax*f, 20*time.Millisecond), limit).Round(time.Millisecond)
		if think <= p0.Client.ThinkMax {
			continue
		}
		p := s.cur()
		p.Client.ThinkMax = think
		if s.try(p, fmt.Sprintf("think time %v→%v", p0.Client.ThinkMax, think), false) {
			return
		}
	}
}

// nodes drops the highest-numbered nodes, with the faults on them, down to
// the replication factor (and two, so that a cluster is still checked as
// a cluster: one node is checked for linearizability instead).
func (s *shrinker) nodes() {
	p0 := s.best.Params
	if p0.Nodes <= 2 {
		return
	}
	for _, n := range fewer(p0.Nodes, max(2, p0.RF)) {
		p := s.cur()
		p.Nodes = n
		p.Faults = dropNodes(p.Faults, n)
		if s.try(p, fmt.Sprintf("nodes %d→%d", p0.Nodes, n), false) {
			return
		}
	}
}

// dropNodes returns faults without what refers to nodes above n: crashes,
// disk faults, joins, leaves, skews, pauses and jumps of them and clogs of
// their links go; partitions lose them from their side and go if the side
// is left empty or holding every node.
func dropNodes(faults []Fault, n int) []Fault {
	var out []Fault
	for _, f := range faults {
		switch f.Kind {
		case Crash, Disk, Join, Leave, Skew, Wipe, Remove, Corrupt, Pause, Jump:
			if f.Node > n {
				continue
			}
		case Clog:
			if f.Node > n || f.To > n {
				continue
			}
		case Partition:
			f.Side = slices.DeleteFunc(slices.Clone(f.Side), func(id int) bool { return id > n })
			if len(f.Side) == 0 || len(f.Side) >= n {
				continue
			}
		case Majorities:
			f.Side = slices.DeleteFunc(slices.Clone(f.Side), func(id int) bool { return id > n })
			if n < 4 {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}
