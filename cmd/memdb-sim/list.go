package main

import (
	"fmt"
	"io"

	"github.com/memdb/memdb/scenarios"
)

func list(args []string, stdout io.Writer) (int, error) {
	fs := newFlags("list", "list", stdout)
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	if fs.NArg() > 0 {
		return exitUsage, usagef("list takes no arguments, got %q", fs.Args())
	}
	for _, s := range scenarios.All() {
		fmt.Fprintf(stdout, "%-16s %s\n", s.Name, s.Description)
	}
	return exitPass, nil
}
