package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // the operation failed or its outcome is unknown
	exitUsage  = 2
)

// keyEnv holds the client key when -key is not given.
const keyEnv = "MEMDB_CLIENT_KEY"

// config is what the command line says.
type config struct {
	opts    client.Options
	command []string // the command and its arguments; empty for line mode
}

// parseArgs reads the flags. It returns flag.ErrHelp for -h, and an error
// for people otherwise.
func parseArgs(args []string, env func(string) string) (config, error) {
	fs := flag.NewFlagSet("memdb", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	addrs := fs.String("addr", client.DefaultAddr, "node addresses, comma-separated; the ring is learnt from the first that answers")
	noRouting := fs.Bool("no-routing", false, "send every command to the first node that answers, not to a replica of its key")
	key := fs.String("key", "", "client key (default $"+keyEnv+")")
	level := fs.String("consistency", "quorum", "one, quorum, all or serial (through Paxos; not for del, incr, decr, counter)")
	timeout := fs.Duration("timeout", client.DefaultTimeout, "bound on each command, connecting included")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{command: fs.Args()}
	for _, a := range strings.Split(*addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.opts.Addrs = append(cfg.opts.Addrs, a)
		}
	}
	if len(cfg.opts.Addrs) == 0 {
		return config{}, fmt.Errorf("-addr %q names no address", *addrs)
	}
	cfg.opts.NoRouting = *noRouting
	cfg.opts.Key = env(keyEnv)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "key" {
			cfg.opts.Key = *key
		}
	})
	var err error
	if cfg.opts.Consistency, err = net.ParseConsistency(*level); err != nil {
		return config{}, fmt.Errorf("-consistency: %w", err)
	}
	if *timeout <= 0 {
		return config{}, fmt.Errorf("-timeout %v must be positive", *timeout)
	}
	cfg.opts.Timeout = *timeout
	return cfg, nil
}

// run is the whole command; main only binds it to the process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	cfg, err := parseArgs(args, env)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v (memdb -h lists the flags)\n", err)
		return exitUsage
	}
	if len(cfg.command) > 0 && cfg.command[0] == "bench" {
		return bench(cfg.opts, cfg.command[1:], stdout, stderr)
	}
	s := &session{opts: cfg.opts}
	defer s.close()
	if len(cfg.command) > 0 {
		return oneShot(s, cfg.command, stdout, stderr)
	}
	if in, out, ok := terminal(stdin, stdout); ok {
		return prompt(s, in, out, stderr)
	}
	return lines(s, stdin, stdout)
}

// oneShot runs the command given on the command line.
func oneShot(s *session, words []string, stdout, stderr io.Writer) int {
	out, leave, err := s.execute(words, nil)
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "error: %v (%s)\n", err, ue.hint("memdb ", "memdb -h"))
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "error: %s\n", describe(err))
		return exitFailed
	case !leave:
		fmt.Fprintln(stdout, out)
	}
	return exitOK
}

// lines runs the commands read from r, one per line, and prints one line
// for each as soon as it is known: its answer, or "error: ..." in its place.
// It returns exitFailed if any line failed.
func lines(s *session, r io.Reader, w io.Writer) int {
	sc := bufio.NewScanner(r)
	// Room for the largest value written with every byte escaped.
	sc.Buffer(make([]byte, 64<<10), 4*net.MaxValue+4*net.MaxKey+1024)
	status := exitOK
	for sc.Scan() {
		out, leave, err := s.line(sc.Text())
		if leave {
			break
		}
		if err != nil {
			out = "error: " + describe(err)
			status = exitFailed
		}
		if out != "" || err != nil {
			fmt.Fprintln(w, out)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "error: reading commands: %v\n", err)
		status = exitFailed
	}
	return status
}

// session is the state commands share: the options, and the client,
// dialed when a command first needs it and kept for the commands after.
type session struct {
	opts client.Options
	c    *client.Client
}

// client returns the session's client, dialing it if needed. A failed dial
// is tried again by the next command.
func (s *session) client(ctx context.Context) (*client.Client, error) {
	if s.c == nil {
		c, err := client.Dial(ctx, s.opts)
		if err != nil {
			return nil, err
		}
		s.c = c
	}
	return s.c, nil
}

func (s *session) close() {
	if s.c != nil {
		s.c.Close()
	}
}

// execute runs one command within the session's timeout; quoted says
// which words were quoted (nil: none, as on the command line).
func (s *session) execute(words []string, quoted []bool) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	return execute(ctx, s, words, quoted)
}

// line runs one line of input; a blank line does nothing.
func (s *session) line(text string) (string, bool, error) {
	words, quoted, err := splitQuoted(strings.TrimSuffix(text, "\r"))
	if err != nil || len(words) == 0 {
		return "", false, err
	}
	return s.execute(words, quoted)
}

// describe says what went wrong and what to do about it.
func describe(err error) string {
	msg := err.Error()
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return msg + " (" + ue.hint("", "help") + ")"
	case errors.Is(err, errQuote):
		return msg + ` (quote a word with blanks as "a b")`
	case errors.Is(err, client.ErrAuth):
		return msg + " (check -key or $" + keyEnv + ")"
	case errors.Is(err, client.ErrUnknownOutcome) && (strings.HasPrefix(msg, "incr ") || strings.HasPrefix(msg, "decr ")):
		return msg + " (the increment may or may not have been applied, and never twice: it was retried at the same node until -timeout; read the counter to find out)"
	case errors.Is(err, client.ErrUnknownOutcome):
		return msg + " (the write may or may not have happened; read the key to find out)"
	case errors.Is(err, client.ErrWrongKind):
		return msg + " (counters are read with counter and changed with incr and decr; plain values with get, set and del)"
	case errors.Is(err, client.ErrContention):
		return msg + " (other writers of the key kept winning; it did not take effect, so it is safe to retry)"
	case errors.Is(err, client.ErrUnreachable):
		return msg + " (check -addr and that memdbd is running there)"
	case errors.Is(err, client.ErrTimeout):
		return msg + " (no reply within -timeout; retry, or allow a longer one)"
	case errors.Is(err, client.ErrQuorum):
		return msg + " (too few replicas answered; retry when more are up, or use -consistency one)"
	}
	return msg
}

// terminal reports whether stdin and stdout are both a terminal, the
// condition for the interactive prompt.
func terminal(stdin io.Reader, stdout io.Writer) (*os.File, *os.File, bool) {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !isTerminal(in) || !isTerminal(out) {
		return nil, nil, false
	}
	return in, out, true
}
