package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memdb/memdb/client"
)

const helpHead = `memdb — the command-line client of memdb

Usage:
  memdb [flags] COMMAND [ARGS...]   run one command
  memdb [flags]                     read commands, one per line: a prompt with
                                    history on a terminal; from a pipe, one
                                    output line per command, printed at once
  memdb [flags] bench [-c N] [-n N] [-P N] [-d N] [-r N] [-t set,get,cas,incr] [-consistency L] [-q]
                                    a load generator, as redis-benchmark: per
                                    test, requests per second and latency
                                    p50/p95/p99/max (memdb bench -h says more)

Commands:
`

const helpTail = `
Flags:
  -addr A[,B...]       node addresses (default %s); the client learns the
                       ring from the first that answers and sends each
                       command to a replica of its key
  -no-routing          send every command to the first node that answers
  -key K               client key (default $%s)
  -consistency LEVEL   one, quorum, all or serial (default quorum). Serial goes
                       through Paxos: get and exists are linearizable reads,
                       set is a Paxos put; del and the counter commands
                       cannot be serial. cas is always serial, whatever
                       the level
  -timeout DUR         bound on each command, connecting included (default %v)
  -h                   this help

Quoting, at the prompt and from a pipe: words are separated by blanks. Write
a word holding blanks in double quotes, set greeting "hello world", with the
escapes \" \\ \n \r \t and \xHH (one byte in hex); "" is an empty value. On
the memdb command line the shell's quoting applies instead.

cas KEY OLD NEW takes OLD written (nil), bare, to mean "only if KEY has no
value", so what get prints can be given back: at the prompt and from a pipe
a quoted "(nil)" is the value (nil) itself. On the memdb command line (nil)
always means no value.

Counters: incr KEY [N] and decr KEY [N] take N, a nonzero integer (default
1), and print the counter's new value; counter KEY prints it (0 if never
incremented). A counter is its own kind: incr of a plain value, or get of a
counter, fails. Counters take one, quorum or all, not serial. An increment
whose answer is lost is retried at the same node until -timeout, and is
never counted twice.

Values are printed as they are, unless that would be ambiguous: a value that
is empty or is (nil), that holds a double quote, a control character or
invalid UTF-8, or that starts or ends with a space, is printed double-quoted
with the same escapes, so what is printed can be typed back.

Exit status, one command: 0 done (including (nil) and false), 1 the operation
failed or its outcome is unknown (the error says which: quorum not reached,
contention, outcome unknown, timeout, auth refused, unreachable), 2 usage.
From a pipe, a failed line prints "error: ..." in its place and the status is
1 if any line failed.
`

// writeHelp prints -h.
func writeHelp(w io.Writer) {
	io.WriteString(w, helpHead)
	writeCommands(w)
	fmt.Fprintf(w, helpTail, defaultAddr(), keyEnv, defaultTimeout())
}

// writeCommands lists the command table, one command per line.
func writeCommands(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	var leave []string
	for _, c := range commands {
		if c.leave {
			leave = append(leave, c.name)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\n", c.usage(), c.help)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(leave, ", "), "leave the prompt")
	tw.Flush()
}

func defaultAddr() string { return client.DefaultAddr }

func defaultTimeout() time.Duration { return client.DefaultTimeout }
