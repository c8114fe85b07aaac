package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// prompt runs an interactive session on a terminal: line editing and
// history from x/term, answers and errors printed under each line. Ctrl-D,
// Ctrl-C, exit and quit leave it; the terminal is restored on every way
// out, a SIGTERM or SIGHUP included.
func prompt(s *session, in, out *os.File, stderr io.Writer) int {
	fd := int(in.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		fmt.Fprintf(stderr, "error: cannot set up the terminal: %v\n", err)
		return exitFailed
	}
	restored := make(chan struct{})
	defer func() {
		term.Restore(fd, old)
		close(restored)
	}()
	// In raw mode Ctrl-C is a key, not a signal; the signals that still
	// arrive must not leave the terminal raw.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			term.Restore(fd, old)
			os.Exit(exitFailed)
		case <-restored:
		}
	}()

	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, "memdb> ")
	if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 && h > 0 {
		t.SetSize(w, h)
	}
	fmt.Fprintf(t, "memdb %s: help lists the commands; exit or Ctrl-D leaves\n", s.opts.Addrs[0])
	for {
		line, err := t.ReadLine()
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(t, "error: reading the terminal: %v\n", err)
				return exitFailed
			}
			return exitOK
		}
		out, leave, err := s.line(line)
		switch {
		case leave:
			return exitOK
		case err != nil:
			fmt.Fprintf(t, "error: %s\n", describe(err))
		case out != "":
			fmt.Fprintln(t, out)
		}
	}
}
