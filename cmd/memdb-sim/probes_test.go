package main

import (
	"strings"
	"testing"

	"github.com/memdb/memdb/node"
)

// TestRunListsProbes: run ends with the probes line, then the summary
// line; with -v each probe's totals come first. A single node never runs
// Paxos across two rings, so that probe is listed as never hit.
func TestRunListsProbes(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		args := []string{"run", "-scenario", "single-node", "-seed", "5", "-seeds", "2", "-out", t.TempDir()}
		if verbose {
			args = append(args, "-v")
		}
		code, out, stderr := call(args...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if code != 0 || len(lines) < 2 || !summary.MatchString(lines[len(lines)-1]) {
			t.Fatalf("run %q: exit %d, stdout %q, stderr %q; want the summary last", args, code, out, stderr)
		}
		probes := lines[len(lines)-2]
		never, ok := strings.CutPrefix(probes, "probes never hit: ")
		if !ok || !strings.Contains(", "+never+", ", ", "+node.ProbeCASTwoRings+", ") {
			t.Errorf("run %q: the line before the summary is %q; want it to list %s among the probes never hit", args, probes, node.ProbeCASTwoRings)
		}
		perProbe := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "probe ") {
				perProbe++
			}
		}
		if want := map[bool]int{false: 0, true: len(node.Probes)}[verbose]; perProbe != want {
			t.Errorf("run %q printed %d per-probe lines, want %d:\n%s", args, perProbe, want, out)
		}
	}
}
