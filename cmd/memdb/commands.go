package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// command is one row of the command table.
type command struct {
	name     string
	args     string // argument names, for usage lines
	min, max int    // how many arguments it takes
	help     string
	// do runs the command and returns the one line it prints.
	do func(ctx context.Context, s *session, in input) (string, error)
	// leave ends a prompt or pipe session.
	leave bool
}

// commands is the table every mode dispatches through, in the order help
// lists it. The table is built in init because help refers to it.
var commands []command

func init() {
	commands = []command{
		{name: "set", args: "KEY VALUE", min: 2, max: 2, help: "write VALUE under KEY; prints ok", do: doSet},
		{name: "get", args: "KEY", min: 1, max: 1, help: "prints KEY's value, or (nil) if it has none", do: doGet},
		{name: "del", args: "KEY", min: 1, max: 1, help: "delete KEY; prints ok", do: doDel},
		{name: "exists", args: "KEY", min: 1, max: 1, help: "prints true if KEY has a value, else false", do: doExists},
		{name: "cas", args: "KEY OLD NEW", min: 3, max: 3, help: "set KEY to NEW if it holds OLD ((nil): no value); prints true if it did, else false", do: doCAS},
		{name: "incr", args: "KEY [N]", min: 1, max: 2, help: "add N (default 1; not 0) to counter KEY; prints its new value", do: doIncr},
		{name: "decr", args: "KEY [N]", min: 1, max: 2, help: "subtract N (default 1; not 0) from counter KEY; prints its new value", do: doDecr},
		{name: "counter", args: "KEY", min: 1, max: 1, help: "prints counter KEY's value (0 if never incremented)", do: doCounter},
		{name: "mset", args: "KEY VALUE [KEY VALUE ...]", min: 2, max: 2 * net.MaxBatchKeys, help: "write every KEY VALUE pair atomically (all or none, one version); prints ok", do: doMset},
		{name: "batch", args: "set KEY VALUE|del KEY ...", min: 2, max: 3 * net.MaxBatchKeys, help: "write and delete keys atomically, e.g. batch set a 1 del b set c 3; prints ok", do: doBatch},
		{name: "cluster", args: "SUB [ID]", min: 0, max: 64, help: "cluster status: a line per member (id, address, phase, liveness, keys); cluster shutdown|leave|remove|compact ID: act on member ID through the admin API (-admin-key), print ok; shutdown ID force stops it at once", do: doCluster},
		{name: "compact", help: "compact the node's operation log now; prints ok once it is durable", do: doCompact},
		{name: "help", help: "prints this list", do: doHelp},
		{name: "exit", help: "leaves the prompt", leave: true},
		{name: "quit", help: "leaves the prompt", leave: true},
	}
}

// lookup finds a command by name, in any letter case.
func lookup(name string) (*command, bool) {
	name = strings.ToLower(name)
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], true
		}
	}
	return nil, false
}

// usageError is a command line that names no command, gives a command
// the wrong arguments, or asks for what the flags rule out: exit status 2
// in one-shot mode.
type usageError struct {
	msg   string
	usage string // the command's usage line, if the command is known
	fix   string // how to get it right, if not by the usage line
}

func (e *usageError) Error() string { return e.msg }

// hint says how to get it right; prefix is how the mode starts a command
// ("memdb " on the command line).
func (e *usageError) hint(prefix, help string) string {
	if e.fix != "" {
		return e.fix
	}
	if e.usage == "" {
		return help + " lists the commands"
	}
	return "usage: " + prefix + e.usage + "; " + help + " lists the commands"
}

// input is a command's arguments as they were written.
type input struct {
	args []string
	// quoted[i] says whether args[i] was written (in part) in double
	// quotes, at the prompt or from a pipe. It is nil on the memdb command
	// line, where the shell has taken the quotes away.
	quoted []bool
}

// none reports whether argument i is the bare word (nil), which stands
// for no value; a quoted "(nil)" is the five bytes.
func (in input) none(i int) bool {
	return in.args[i] == nilWord && (i >= len(in.quoted) || !in.quoted[i])
}

// execute runs one command given as words: the command's name, then its
// arguments; quoted says which words were quoted (nil: none). It returns
// what to print, or whether to leave.
func execute(ctx context.Context, s *session, words []string, quoted []bool) (out string, leave bool, err error) {
	cmd, ok := lookup(words[0])
	if !ok {
		return "", false, &usageError{msg: fmt.Sprintf("unknown command %q", words[0])}
	}
	if n := len(words) - 1; n < cmd.min || n > cmd.max {
		return "", false, &usageError{msg: fmt.Sprintf("%s takes %s, not %d", cmd.name, arguments(cmd), n), usage: cmd.usage()}
	}
	if cmd.leave {
		return "", true, nil
	}
	in := input{args: words[1:]}
	if quoted != nil {
		in.quoted = quoted[1:]
	}
	out, err = cmd.do(ctx, s, in)
	return out, false, err
}

func (c *command) usage() string {
	if c.args == "" {
		return c.name
	}
	return c.name + " " + c.args
}

// arguments says how many arguments c takes: "no arguments", "1 argument",
// "1 or 2 arguments".
func arguments(c *command) string {
	switch {
	case c.max == 0:
		return "no arguments"
	case c.max == 1 && c.min == 1:
		return "1 argument"
	case c.min == c.max:
		return fmt.Sprintf("%d arguments", c.min)
	}
	if c.max == c.min+1 {
		return fmt.Sprintf("%d or %d arguments", c.min, c.max)
	}
	return fmt.Sprintf("%d to %d arguments", c.min, c.max)
}

func doSet(ctx context.Context, s *session, in input) (string, error) {
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	if err := c.Set(ctx, in.args[0], []byte(in.args[1])); err != nil {
		return "", err
	}
	return "ok", nil
}

func doGet(ctx context.Context, s *session, in input) (string, error) {
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	v, err := c.Get(ctx, in.args[0])
	if errors.Is(err, client.ErrNotFound) {
		return nilWord, nil
	}
	if err != nil {
		return "", err
	}
	return format(v), nil
}

// errSerialDelete is del at -consistency serial, which nodes refuse: a
// delete is not made through Paxos.
var errSerialDelete = &usageError{
	msg: "del cannot be serial: a delete is not made through Paxos",
	fix: "run del with -consistency one, quorum or all",
}

func doDel(ctx context.Context, s *session, in input) (string, error) {
	if s.opts.Consistency == net.Serial {
		return "", errSerialDelete
	}
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	if err := c.Delete(ctx, in.args[0]); err != nil {
		return "", err
	}
	return "ok", nil
}

func doExists(ctx context.Context, s *session, in input) (string, error) {
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	ok, err := c.Contains(ctx, in.args[0])
	if err != nil {
		return "", err
	}
	return fmt.Sprint(ok), nil
}

// doCAS runs cas KEY OLD NEW. A bare (nil) for OLD means KEY must have no
// value, so what get prints can be given back as OLD. A CAS is always
// serial, whatever -consistency says.
func doCAS(ctx context.Context, s *session, in input) (string, error) {
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	var old []byte // nil: absent
	if !in.none(1) {
		old = append([]byte{}, in.args[1]...)
	}
	swapped, err := c.CAS(ctx, in.args[0], old, []byte(in.args[2]))
	if err != nil {
		return "", err
	}
	return fmt.Sprint(swapped), nil
}

func doCompact(ctx context.Context, s *session, _ input) (string, error) {
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	if err := c.Compact(ctx); err != nil {
		return "", err
	}
	return "ok", nil
}

func doHelp(context.Context, *session, input) (string, error) {
	var b strings.Builder
	writeCommands(&b)
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// counterUsage refuses what no counter command takes: the serial level
// (counters are not made through Paxos), and for incr and decr an N that
// is not a nonzero int64. It returns N (1 if not given).
func counterUsage(s *session, name string, in input, withN bool) (int64, error) {
	if s.opts.Consistency == net.Serial {
		return 0, &usageError{
			msg: name + " cannot be serial: counters are not made through Paxos",
			fix: "run " + name + " with -consistency one, quorum or all",
		}
	}
	if !withN || len(in.args) < 2 {
		return 1, nil
	}
	cmd, _ := lookup(name)
	n, err := strconv.ParseInt(in.args[1], 10, 64)
	switch {
	case err != nil:
		return 0, &usageError{msg: fmt.Sprintf("%s: N must be an integer from %d to %d, not %q", name, math.MinInt64, math.MaxInt64, in.args[1]), usage: cmd.usage()}
	case n == 0:
		return 0, &usageError{msg: name + ": N must not be 0", fix: "read a counter with counter KEY"}
	case name == "decr" && n == math.MinInt64:
		return 0, &usageError{msg: fmt.Sprintf("decr: N %d cannot be negated: it is out of range", n), usage: cmd.usage()}
	}
	return n, nil
}

// doIncr runs incr KEY [N]. The client retries an increment whose outcome
// is unknown at the same node until -timeout (never counting it twice);
// if it still does not know, the command fails with "outcome unknown".
func doIncr(ctx context.Context, s *session, in input) (string, error) {
	n, err := counterUsage(s, "incr", in, true)
	if err != nil {
		return "", err
	}
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	v, err := c.Incr(ctx, in.args[0], n)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

func doDecr(ctx context.Context, s *session, in input) (string, error) {
	n, err := counterUsage(s, "decr", in, true)
	if err != nil {
		return "", err
	}
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	v, err := c.Decr(ctx, in.args[0], n)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

func doCounter(ctx context.Context, s *session, in input) (string, error) {
	if _, err := counterUsage(s, "counter", in, false); err != nil {
		return "", err
	}
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	v, err := c.Counter(ctx, in.args[0])
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

// doMset runs mset KEY VALUE [KEY VALUE ...]: one batch of sets.
func doMset(ctx context.Context, s *session, in input) (string, error) {
	cmd, _ := lookup("mset")
	if len(in.args)%2 != 0 {
		return "", &usageError{msg: fmt.Sprintf("mset takes KEY VALUE pairs, not %d words", len(in.args)), usage: cmd.usage()}
	}
	var ws []client.Write
	for i := 0; i < len(in.args); i += 2 {
		ws = append(ws, client.Write{Key: in.args[i], Value: []byte(in.args[i+1])})
	}
	return runBatch(ctx, s, ws)
}

// doBatch runs batch set KEY VALUE | del KEY ...: one batch of sets and
// deletes.
func doBatch(ctx context.Context, s *session, in input) (string, error) {
	cmd, _ := lookup("batch")
	var ws []client.Write
	for i := 0; i < len(in.args); {
		switch op := strings.ToLower(in.args[i]); {
		case op == "set" && i+2 < len(in.args):
			ws = append(ws, client.Write{Key: in.args[i+1], Value: []byte(in.args[i+2])})
			i += 3
		case op == "del" && i+1 < len(in.args):
			ws = append(ws, client.Write{Key: in.args[i+1], Delete: true})
			i += 2
		default:
			return "", &usageError{msg: fmt.Sprintf("batch: %q at word %d is not set KEY VALUE or del KEY", strings.Join(in.args[i:min(i+3, len(in.args))], " "), i+1), usage: cmd.usage()}
		}
	}
	return runBatch(ctx, s, ws)
}

func runBatch(ctx context.Context, s *session, ws []client.Write) (string, error) {
	if err := net.CheckBatch(batchWrites(ws)); err != nil {
		return "", &usageError{msg: "batch: " + err.Error(), fix: fmt.Sprintf("a batch writes each key once, at most %d keys and %d bytes", net.MaxBatchKeys, net.MaxBatchBytes)}
	}
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	if err := c.Batch(ctx, ws); err != nil {
		return "", err
	}
	return "ok", nil
}

func batchWrites(ws []client.Write) []net.BatchWrite {
	out := make([]net.BatchWrite, len(ws))
	for i, w := range ws {
		out[i] = net.BatchWrite{Key: []byte(w.Key), Value: w.Value, Deleted: w.Delete}
	}
	return out
}
