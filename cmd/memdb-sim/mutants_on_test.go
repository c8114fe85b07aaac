//go:build mutants

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMutantsCanary runs the canary on two seeds of the single-node
// scenario: both must catch it, and the command must say so and pass.
func TestMutantsCanary(t *testing.T) {
	code, stdout, stderr := call("mutants", "-scenario", "single-node", "-mutant", "canary-corrupt-writes", "-seeds", "2")
	if code != exitPass {
		t.Fatalf("mutants: exit %d, want %d\n%s%s", code, exitPass, stdout, stderr)
	}
	line := regexp.MustCompile(`(?m)^canary-corrupt-writes +2/2 +100%  single-node seed 1 +single-node 2/2 +safety: `)
	if !line.MatchString(stdout) {
		t.Errorf("no line saying single-node seeds 1 and 2 caught the canary in:\n%s", stdout)
	}
	if !strings.Contains(stdout, "mutants: 1  caught: 1  survived: 0  listed survivors: 0  runs: 4 (0 baselines failed") {
		t.Errorf("summary wrong in:\n%s", stdout)
	}
}

// run -mutant switches a planted bug on: the canary fails a single-node
// seed, and its trace, which records the mutant, replays to the same
// verdict and hash. mutants -out writes the trace of each first catch.
func TestRunMutant(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := call("run", "-scenario", "single-node", "-seed", "1", "-mutant", "canary-corrupt-writes", "-out", dir)
	if code != exitSafety || !strings.Contains(stdout, "FAIL single-node seed 1: safety") {
		t.Fatalf("run -mutant: exit %d, want %d\n%s%s", code, exitSafety, stdout, stderr)
	}
	trace := filepath.Join(dir, "single-node-1", "trace.json")
	if code, out, errs := call("replay", trace); code != exitSafety || !strings.Contains(out, "hash matches") {
		t.Fatalf("replay of a mutant's trace: exit %d, want %d and a matching hash\n%s%s", code, exitSafety, out, errs)
	}
	if code, _, stderr := call("run", "-mutant", "nope"); code != exitUsage || !strings.Contains(stderr, `unknown mutant "nope"`) {
		t.Errorf("run -mutant nope: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = call("mutants", "-scenario", "single-node", "-mutant", "canary-corrupt-writes", "-seeds", "2", "-out", dir)
	if _, err := os.Stat(filepath.Join(dir, "single-node-1-canary-corrupt-writes", "trace.json")); code != exitPass || err != nil {
		t.Fatalf("mutants -out: exit %d, trace: %v\n%s%s", code, err, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "single-node-2-canary-corrupt-writes")); err == nil {
		t.Error("mutants -out wrote a trace for a catch that was not the first")
	}
}

func TestMutantsUsage(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"mutants", "-mutant", "nope"}, `error: unknown mutant "nope"`},
		{[]string{"mutants", "-scenario", "nope"}, `error: unknown scenario "nope"`},
		{[]string{"mutants", "-seeds", "0"}, "error: -seeds must be"},
		{[]string{"mutants", "-j", "0"}, "error: -j must be"},
		{[]string{"mutants", "-scenario", "single-node", "-mutant", "paxos-stale-ring"}, "error: no scenario in [single-node] can see [paxos-stale-ring]"},
		{[]string{"mutants", "extra"}, "error: mutants takes only flags"},
	}
	for _, tc := range tests {
		code, _, stderr := call(tc.args...)
		if code != exitUsage || !strings.HasPrefix(stderr, tc.err) {
			t.Errorf("memdb-sim %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, exitUsage, tc.err)
		}
	}
}
