package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestPoolEmitsInOrder checks runPool's contract for any number of tasks
// and workers: every task runs once, completed hears each once, and emit
// hears them in index order, each after its task finished.
func TestPoolEmitsInOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 200).Draw(t, "n")
		w := rapid.IntRange(1, 16).Draw(t, "workers")
		ran := make([]int, n) // written by task i only, read after it finished
		var completed, emitted []int
		runPool(n, w, func(i int) { ran[i]++ },
			func(i int) { completed = append(completed, i) },
			func(i int) {
				if ran[i] != 1 {
					t.Fatalf("emit(%d) before its task ran once (ran %d times)", i, ran[i])
				}
				emitted = append(emitted, i)
			}, nil)
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(emitted, want) {
			t.Fatalf("emitted %v, want %v", emitted, want)
		}
		slices.Sort(completed)
		if !slices.Equal(completed, want) {
			t.Fatalf("completed (sorted) %v, want %v", completed, want)
		}
	})
}

// wallTimes matches what may differ between two runs of the same seeds:
// the wall time of each seed and of its checks, and the speed ratio of the
// summary.
var wallTimes = regexp.MustCompile(`wall [0-9.]+[µnm]?s|check [0-9.]+[µnm]?s|sim/wall: [0-9.]+×`)

// TestRunParallelSameOutput runs the same seeds on one worker and on
// several: the per-seed lines and the summary must be the same, in seed
// order, whatever order the seeds finish in.
func TestRunParallelSameOutput(t *testing.T) {
	out := func(j string) string {
		code, stdout, stderr := call("run", "-scenario", "single-node", "-seed", "3", "-seeds", "6", "-v", "-j", j, "-out", t.TempDir())
		if code != exitPass {
			t.Fatalf("run -j %s: exit %d\n%s%s", j, code, stdout, stderr)
		}
		return wallTimes.ReplaceAllString(stdout, "WALL")
	}
	one, four := out("1"), out("4")
	if one != four {
		t.Errorf("run -j 1 and -j 4 printed different lines:\n-j 1:\n%s\n-j 4:\n%s", one, four)
	}
	lines := strings.Split(strings.TrimSpace(one), "\n")
	// The probes' lines (probes.go) come between the seeds and the summary.
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "probe") || l == "every probe hit" })
	if len(lines) != 7 {
		t.Fatalf("want 6 seed lines and a summary, got %q", lines)
	}
	for i, l := range lines[:6] {
		if want := fmt.Sprintf("pass single-node seed %d ", 3+i); !strings.HasPrefix(l, want) {
			t.Errorf("line %d is %q, want it to start %q", i, l, want)
		}
	}
	if lines[6] != "seeds: 6  failed: 0  WALL" {
		t.Errorf("summary %q", lines[6])
	}
}
