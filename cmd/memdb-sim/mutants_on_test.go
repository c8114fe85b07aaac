//go:build mutants

package main

import (
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
