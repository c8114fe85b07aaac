package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/sim"
)

// probeTally sums the coverage probes (node/probe.go) over the seeds of a
// run: how often each probe's state was reached, and in how many seeds.
type probeTally struct {
	hits  map[string]uint64
	seeds map[string]int
	runs  int
}

func newProbeTally() *probeTally {
	return &probeTally{hits: map[string]uint64{}, seeds: map[string]int{}}
}

// add counts one seed's probes.
func (t *probeTally) add(counts map[string]uint64) {
	t.runs++
	for name, c := range counts {
		t.hits[name] += c
		if c > 0 {
			t.seeds[name]++
		}
	}
}

// print writes, with verbose, one line per probe (in node.Probes order),
// then the line naming the probes no seed reached: "probes never hit: a,
// b", or "every probe hit".
func (t *probeTally) print(w io.Writer, verbose bool) {
	if t.runs == 0 {
		return
	}
	if verbose {
		for _, name := range node.Probes {
			fmt.Fprintf(w, "probe %-26s %10d hits in %d of %d seeds\n", name, t.hits[name], t.seeds[name], t.runs)
		}
	}
	never := sim.NeverHit(t.hits)
	if len(never) == 0 {
		fmt.Fprintln(w, "every probe hit")
		return
	}
	fmt.Fprintf(w, "probes never hit: %s\n", strings.Join(never, ", "))
}
