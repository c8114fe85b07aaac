package main

import (
	"fmt"
	"io"
	"os"

	"github.com/memdb/memdb/sim"
)

func replay(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("replay", "replay [-log FILE] FILE.json", stdout)
	logPath := fs.String("log", "", "write every node's log (virtual time) to FILE")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	if fs.NArg() != 1 {
		return exitUsage, usagef("replay takes one trace file, got %d arguments", fs.NArg())
	}
	t, err := sim.ReadTrace(fs.Arg(0))
	if err != nil {
		return exitUsage, usagef("%w", err)
	}
	var o sim.Options
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return exitUsage, usagef("-log: %w", err)
		}
		defer f.Close()
		o.Log = f
	}
	fmt.Fprintf(stdout, "replaying %s seed %d (recorded: %s, hash %s)\n%s", t.Scenario, t.Seed, t.Verdict, t.EventHash, t.RunParams())
	for _, n := range t.Notes {
		fmt.Fprintf(stdout, "  swarm: %s\n", n)
	}
	res, err := sim.Run(t.RunParams(), o)
	if err != nil {
		return exitUsage, usagef("%w", err)
	}
	fmt.Fprintf(stdout, "replayed %s seed %d: %s", t.Scenario, t.Seed, res.Verdict)
	if res.Reason != "" {
		fmt.Fprintf(stdout, ": %s", res.Reason)
	}
	fmt.Fprintln(stdout)
	if res.EventHash != t.EventHash {
		fmt.Fprintf(stdout, "event hash MISMATCH: recorded %s, replayed %s (recorded verdict %s)\n", t.EventHash, res.EventHash, t.Verdict)
		return exitNondet, nil
	}
	fmt.Fprintf(stdout, "event hash matches: %s\n", res.EventHash)
	return exitCode(res.Verdict), nil
}
