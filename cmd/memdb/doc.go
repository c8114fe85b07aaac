// Memdb is the command-line client of memdb.
//
//	memdb [-addr A[,B...]] [-key K] [-consistency one|quorum|all|serial] [-timeout DUR] [-no-routing] [COMMAND ARGS...]
//
// The client package does the talking: the first address that answers
// tells it the cluster's ring (the others are fallbacks), and each command
// goes to a replica of its key; -no-routing sends every command to the node
// that answered instead. A node that does not serve the ring is used as
// with -no-routing.
//
// With a command it runs it once: the answer goes to stdout, an error to
// stderr as one line starting "error: ", and the exit status is 0 when the
// command was done (an absent key included), 1 when it failed or its
// outcome is unknown, 2 for a usage error.
//
// Without a command it reads commands line by line. On a terminal that is
// an interactive prompt with line editing and history (golang.org/x/term);
// from a pipe it prints exactly one line per command, as soon as it is
// known, so a program can drive it as a co-process. A line that fails
// prints "error: ..." on stdout in its place and the run goes on; the exit
// status is then 1. Words on a line are separated by blanks; a double-quoted
// word may hold blanks and the escapes \" \\ \n \r \t \xHH (words.go).
//
// The commands are a table (commands.go): adding one is adding a row.
//
// incr KEY [N] and decr KEY [N] add or subtract N (default 1) and print the
// counter's new value; counter KEY prints its value (0 if never
// incremented). N must be a nonzero integer that fits 64 bits: anything
// else is a usage error (exit status 2), and so is -consistency serial for
// any of the three. An increment whose outcome is unknown is retried by the
// client at the same node, never counted twice, until -timeout; then it
// fails with "outcome unknown" (exit status 1). incr of a key that holds a
// plain value, or get of a counter, fails with "wrong kind of value".
//
// cas KEY OLD NEW prints true if it swapped, false if KEY did not hold OLD.
// A bare (nil) as OLD means "KEY has no value", so what get prints can be
// passed back; at the prompt and from a pipe a quoted "(nil)" is the value
// itself. -consistency serial makes get and exists linearizable reads and
// set a Paxos put; del refuses it (a usage error, exit status 2), and cas
// is always serial. A cas or serial command that lost to other writers
// fails with "contention" (it did not take effect), one whose answer never
// came with "outcome unknown"; both exit with status 1.
//
// All the work is in run, which takes its arguments, streams and
// environment as parameters, so tests run the command in-process.
package main
