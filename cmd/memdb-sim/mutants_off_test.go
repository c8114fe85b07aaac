//go:build !mutants

package main

import (
	"strings"
	"testing"
)

// TestMutantsNeedTheTag: a binary without the planted bugs refuses the
// mutants command with exit 2 and says how to get one that has them.
func TestMutantsNeedTheTag(t *testing.T) {
	for _, args := range [][]string{{"mutants"}, {"mutants", "-seeds", "2", "-mutant", "canary-corrupt-writes"}, {"run", "-mutant", "canary-corrupt-writes"}} {
		code, _, stderr := call(args...)
		if code != exitUsage || !strings.Contains(stderr, "-tags mutants") {
			t.Errorf("memdb-sim %q: exit %d, stderr %q; want exit %d and a hint to build with -tags mutants", args, code, stderr, exitUsage)
		}
	}
}
