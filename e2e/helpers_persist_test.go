package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A write is one set line sent by a co-process, and whether memdb printed
// ok for it.
type write struct {
	value string
	acked bool
}

// ledger records, per key, every set sent in order and which of them were
// acknowledged. It is what a restarted node is checked against.
type ledger struct {
	mu     sync.Mutex
	writes map[string][]write
	acks   int
	// errs are problems the co-processes saw that are not the daemon
	// dying: an answer that is neither ok nor an error line.
	errs []string
}

func newLedger() *ledger { return &ledger{writes: make(map[string][]write)} }

func (l *ledger) sent(key, value string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[key] = append(l.writes[key], write{value: value})
	return len(l.writes[key]) - 1
}

func (l *ledger) ack(key string, i int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[key][i].acked = true
	l.acks++
}

func (l *ledger) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

func (l *ledger) ackCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

// allowed returns the answers a get of key may give after a crash: the
// value of the last acknowledged write, or of any write sent after it (it
// was in flight, so it may or may not have been made durable), and (nil)
// only if no write of key was ever acknowledged.
func (l *ledger) allowed(key string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ws := l.writes[key]
	from := -1
	for i, w := range ws {
		if w.acked {
			from = i
		}
	}
	var ok []string
	if from < 0 {
		ok = append(ok, "(nil)")
		from = 0
	}
	for _, w := range ws[from:] {
		ok = append(ok, w.value)
	}
	return ok
}

// keys returns every key written, sorted.
func (l *ledger) keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ks []string
	for k := range l.writes {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// acked returns the number of keys with at least one acknowledged write.
func (l *ledger) ackedKeys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ws := range l.writes {
		if slices.ContainsFunc(ws, func(w write) bool { return w.acked }) {
			n++
		}
	}
	return n
}

// kv is one write to send: a set, or a delete when value is deleted.
type kv struct{ key, value string }

// deleted is the value of a delete in a kv and in the ledger: what get
// prints for an absent key, so the ledger's rules cover deletes too.
const deleted = "(nil)"

// stream is a set of memdb co-processes in pipe mode writing to one node.
type stream struct {
	led  *ledger
	wg   sync.WaitGroup
	done chan struct{}
}

// startStream starts procs memdb processes in pipe mode against addr, and
// deals the writes among them round-robin (so writes of one key keep their
// order only if they are procs apart; callers write each key once per
// stream). Each process gets one line at a time
// and its answer is read before the next line is written, so at most procs
// writes are in flight at any moment, and which ones were acknowledged is
// known exactly. A process stops at its first error line (the node is
// gone), so only the write that got the error can be in flight at a crash.
func startStream(t *testing.T, addr string, led *ledger, sets []kv, procs int) *stream {
	t.Helper()
	bin := filepath.Join(binaries(t), "memdb")
	s := &stream{led: led, done: make(chan struct{})}
	for p := range procs {
		var mine []kv
		for i := p; i < len(sets); i += procs {
			mine = append(mine, sets[i])
		}
		cmd := exec.Command(bin, "-addr", addr, "-timeout", "5s")
		cmd.Env = append(os.Environ(), "MEMDB_CLIENT_KEY=")
		var errb syncBuffer
		cmd.Stderr = &errb
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		outPipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.wg.Go(func() {
			defer func() {
				in.Close()
				io.Copy(io.Discard, outPipe)
				cmd.Wait()
				if e := errb.String(); e != "" {
					led.fail("memdb co-process %d wrote to stderr: %q", p, e)
				}
			}()
			out := bufio.NewReader(outPipe)
			for _, w := range mine {
				i := led.sent(w.key, w.value)
				cmdLine := fmt.Sprintf("set %s %s\n", w.key, w.value)
				if w.value == deleted {
					cmdLine = fmt.Sprintf("del %s\n", w.key)
				}
				if _, err := io.WriteString(in, cmdLine); err != nil {
					led.fail("co-process %d: write stdin: %v", p, err)
					return
				}
				line, err := out.ReadString('\n')
				line = strings.TrimSuffix(line, "\n")
				switch {
				case err != nil:
					led.fail("co-process %d: no answer to %q: %v (got %q)", p, cmdLine, err, line)
					return
				case line == "ok":
					led.ack(w.key, i)
				case strings.HasPrefix(line, "error: "):
					return // the node is gone; the write may be in flight
				default:
					led.fail("co-process %d: %q answered %q, want ok or an error line", p, cmdLine, line)
					return
				}
			}
		})
	}
	go func() { s.wg.Wait(); close(s.done) }()
	return s
}

// waitAcks waits until the ledger counts n acknowledged writes, or the
// stream ended. It reports whether n were.
func (s *stream) waitAcks(t *testing.T, n int) bool {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for s.led.ackCount() < n {
		select {
		case <-s.done:
			return s.led.ackCount() >= n
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d writes acknowledged after 60s", s.led.ackCount(), n)
		}
	}
	return true
}

// wait waits for every co-process to end and fails the test on what they
// saw besides the node dying.
func (s *stream) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatal("memdb co-processes still running 60s after the node stopped")
	}
	s.led.mu.Lock()
	defer s.led.mu.Unlock()
	if len(s.led.errs) > 0 {
		t.Fatalf("co-processes:\n%s", strings.Join(s.led.errs, "\n"))
	}
}

// writeAll sends writes through the co-processes and waits for every one
// to be acknowledged.
func writeAll(t *testing.T, addr string, led *ledger, writes []kv) {
	t.Helper()
	before := led.ackCount()
	s := startStream(t, addr, led, writes, persistProcs)
	s.wait(t)
	if n := led.ackCount() - before; n != len(writes) {
		t.Fatalf("%d of %d writes acknowledged by a running node", n, len(writes))
	}
}

// check reads every key the ledger knows, plus keys never written, through
// memdb in pipe mode, and fails the test on any answer the ledger does not
// allow.
func check(t *testing.T, addr string, led *ledger, never []string) {
	t.Helper()
	keys := append(led.keys(), never...)
	var in strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&in, "get %s\n", k)
	}
	out, errOut, code := memdb(t, in.String(), "-addr", addr)
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(got) != len(keys) {
		t.Fatalf("reading back %d keys: exit %d, %d lines, stderr %q", len(keys), code, len(got), errOut)
	}
	var bad []string
	for i, k := range keys {
		ok := []string{"(nil)"}
		if i < len(keys)-len(never) {
			ok = led.allowed(k)
		}
		if !slices.Contains(ok, got[i]) {
			bad = append(bad, fmt.Sprintf("get %s = %q, want one of %q", k, got[i], ok))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d of %d keys wrong after restart (first 20):\n%s", len(bad), len(keys), strings.Join(bad[:min(20, len(bad))], "\n"))
	}
}

// sets returns n sets of keys prefix0000.. with values tag-i, unique per
// tag and key.
func sets(prefix, tag string, from, n int) []kv {
	out := make([]kv, n)
	for i := range out {
		out[i] = kv{fmt.Sprintf("%s%05d", prefix, from+i), fmt.Sprintf("%s-%d-%s", tag, from+i, strings.Repeat("x", (from+i)%17))}
	}
	return out
}

// segments returns the data dir's log segment files (NNNNNN.log), in
// name order, which is creation order.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	if len(m) == 0 {
		t.Fatalf("no *.log segment in %s", dir)
	}
	return m
}

// dirSize returns the bytes of the regular files in dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range es {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// runFailing runs memdbd with args, which must refuse to start, and returns
// its exit code and stderr. A memdbd that says ready (it started despite
// what the test broke), or is still running after 20s, is killed and fails
// the test.
func runFailing(t *testing.T, args ...string) (int, string) {
	t.Helper()
	all := append([]string{"-listen", "127.0.0.1:0", "-http", ""}, args...)
	cmd := exec.Command(filepath.Join(binaries(t), "memdbd"), all...)
	cmd.Env = append(os.Environ(), "MEMDB_CLIENT_KEY=")
	errb := &readyWatch{ready: make(chan struct{})}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("memdbd %v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), errb.String()
	case <-errb.ready:
		cmd.Process.Kill()
		<-done
		t.Fatalf("memdbd %v started; it should have refused to:\n%s", args, errb.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("memdbd %v still running after 20s; it should have refused to start:\n%s", args, errb.String())
	}
	return 0, ""
}

// readyWatch collects a daemon's stderr and closes ready at its ready line.
type readyWatch struct {
	syncBuffer
	ready chan struct{}
	once  sync.Once
}

func (w *readyWatch) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Contains(w.String(), "memdbd ready") {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

var httpRE = regexp.MustCompile(`ready.* http=(\S+)`)

// httpAddr returns the admin API address from the daemon's ready line.
func (d *daemon) httpAddr() string {
	d.t.Helper()
	m := httpRE.FindStringSubmatch(d.log.String())
	if m == nil || m[1] == `""` {
		d.t.Fatalf("no http address in the ready line:\n%s", d.log)
	}
	return m[1]
}

// kill kills the daemon with SIGKILL: no chance to sync or say goodbye.
func (d *daemon) kill() {
	d.t.Helper()
	if code := d.stop(syscall.SIGKILL); code != -1 {
		d.t.Fatalf("memdbd exited %d before SIGKILL took it:\n%s", code, d.log)
	}
}
