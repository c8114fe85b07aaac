package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// incr, decr and counter, one command at a time: what memdb prints, its
// exit status, and what it sent (an Incr's session and seq are the
// client's, so only the rest is compared).
func TestCounterOneShot(t *testing.T) {
	n := startFake(t)
	tests := []struct {
		args   []string
		status int
		stdout string
		stderr []string // substrings of stderr; none means stderr must be empty
		sent   []net.Message
	}{
		{args: []string{"counter", "c"}, status: exitOK, stdout: "0\n",
			sent: []net.Message{&net.GetCounter{Level: net.Quorum, Key: []byte("c")}}},
		{args: []string{"incr", "c"}, status: exitOK, stdout: "1\n",
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("c"), Delta: 1}}},
		{args: []string{"incr", "c", "41"}, status: exitOK, stdout: "42\n",
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("c"), Delta: 41}}},
		{args: []string{"-consistency", "all", "decr", "c"}, status: exitOK, stdout: "41\n",
			sent: []net.Message{&net.Incr{Level: net.All, Key: []byte("c"), Delta: -1}}},
		{args: []string{"decr", "c", "50"}, status: exitOK, stdout: "-9\n",
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("c"), Delta: -50}}},
		{args: []string{"incr", "c", "-1"}, status: exitOK, stdout: "-10\n",
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("c"), Delta: -1}}},
		{args: []string{"decr", "c", "-10"}, status: exitOK, stdout: "0\n",
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("c"), Delta: 10}}},
		{args: []string{"-consistency", "one", "counter", "c"}, status: exitOK, stdout: "0\n",
			sent: []net.Message{&net.GetCounter{Level: net.One, Key: []byte("c")}}},
		{args: []string{"INCR", "big", "9223372036854775807"}, status: exitOK, stdout: "9223372036854775807\n",
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("big"), Delta: 9223372036854775807}}},
		{args: []string{"incr", "big"}, status: exitFailed, stderr: []string{"overflow"},
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("big"), Delta: 1}}},

		// Usage errors: nothing is sent.
		{args: []string{"incr", "c", "x"}, status: exitUsage, stderr: []string{"N must be an integer", "usage: memdb incr KEY [N]"}},
		{args: []string{"incr", "c", "1.5"}, status: exitUsage, stderr: []string{"N must be an integer"}},
		{args: []string{"incr", "c", "9223372036854775808"}, status: exitUsage, stderr: []string{"N must be an integer"}},
		{args: []string{"decr", "c", "0"}, status: exitUsage, stderr: []string{"N must not be 0", "counter KEY"}},
		{args: []string{"incr", "c", "0"}, status: exitUsage, stderr: []string{"N must not be 0"}},
		{args: []string{"decr", "c", "-9223372036854775808"}, status: exitUsage, stderr: []string{"cannot be negated"}},
		{args: []string{"incr"}, status: exitUsage, stderr: []string{"incr takes 1 or 2 arguments, not 0"}},
		{args: []string{"incr", "c", "1", "2"}, status: exitUsage, stderr: []string{"usage: memdb incr KEY [N]"}},
		{args: []string{"counter", "c", "1"}, status: exitUsage, stderr: []string{"counter takes 1 argument, not 2"}},
		{args: []string{"-consistency", "serial", "incr", "c"}, status: exitUsage, stderr: []string{"incr cannot be serial", "-consistency one, quorum or all"}},
		{args: []string{"-consistency", "serial", "counter", "c"}, status: exitUsage, stderr: []string{"counter cannot be serial"}},

		// Kinds: a counter is not a value.
		{args: []string{"set", "v", "x"}, status: exitOK, stdout: "ok\n",
			sent: []net.Message{&net.Set{Level: net.Quorum, Key: []byte("v"), Value: []byte("x")}}},
		{args: []string{"incr", "v"}, status: exitFailed, stderr: []string{"wrong kind of value", "counters are read with counter"},
			sent: []net.Message{&net.Incr{Level: net.Quorum, Key: []byte("v"), Delta: 1}}},
		{args: []string{"counter", "v"}, status: exitFailed, stderr: []string{"wrong kind of value"},
			sent: []net.Message{&net.GetCounter{Level: net.Quorum, Key: []byte("v")}}},
		{args: []string{"get", "c"}, status: exitFailed, stderr: []string{"wrong kind of value"},
			sent: []net.Message{&net.Get{Level: net.Quorum, Key: []byte("c")}}},
		{args: []string{"incr", "", "1"}, status: exitFailed, stderr: []string{"bad key"}},
	}
	for _, tc := range tests {
		args := append([]string{"-addr", n.addr(), "-key", testKey}, tc.args...)
		status, stdout, stderr := memdb("", noEnv, args...)
		if status != tc.status || stdout != tc.stdout || (len(tc.stderr) == 0) != (stderr == "") {
			t.Errorf("memdb %q:\ngot  status %d, stdout %q, stderr %q\nwant status %d, stdout %q, stderr containing %q",
				tc.args, status, stdout, stderr, tc.status, tc.stdout, tc.stderr)
		}
		for _, want := range tc.stderr {
			if !strings.Contains(stderr, want) {
				t.Errorf("memdb %q: stderr %q does not say %q", tc.args, stderr, want)
			}
		}
		if stderr != "" && (!strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "\n") != 1) {
			t.Errorf("memdb %q: stderr %q is not one line starting \"error: \"", tc.args, stderr)
		}
		if diff := cmp.Diff(tc.sent, withoutOpIDs(n.take()), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("memdb %q: requests sent (-want +got):\n%s", tc.args, diff)
		}
	}
}

// withoutOpIDs blanks what differs per run in the Incr requests of ms.
func withoutOpIDs(ms []net.Message) []net.Message {
	for _, m := range ms {
		if in, ok := m.(*net.Incr); ok {
			in.Session, in.Seq, in.First = 0, 0, clock.Timestamp{}
		}
	}
	return ms
}

// From a pipe: one line per command, a failed line fails only itself, and
// the increments of one run are one session, numbered in order.
func TestCounterPipe(t *testing.T) {
	n := startFake(t)
	input := strings.Join([]string{
		`incr hits`,
		`incr hits 10`,
		`decr hits 3`,
		`decr hits`,
		`counter hits`,
		`incr hits 0`,
		`incr hits ten`,
		`set plain v`,
		`incr plain`,
		`counter nothing`,
		`"incr" "hits" "-7"`,
	}, "\n")
	want := strings.Join([]string{
		`1`,
		`11`,
		`8`,
		`7`,
		`7`,
		`error: incr: N must not be 0 (read a counter with counter KEY)`,
		`error: incr: N must be an integer from -9223372036854775808 to 9223372036854775807, not "ten" (usage: incr KEY [N]; help lists the commands)`,
		`ok`,
		`error: incr "plain": wrong kind of value: the key holds another kind of value (counters are read with counter and changed with incr and decr; plain values with get, set and del)`,
		`0`,
		`0`,
	}, "\n") + "\n"
	status, stdout, stderr := memdb(input, noEnv, "-addr", n.addr(), "-key", testKey)
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("pipe output (-want +got):\n%s", diff)
	}
	if status != exitFailed || stderr != "" {
		t.Errorf("pipe with failed lines: status %d, stderr %q; want 1 and nothing", status, stderr)
	}
	var incrs []*net.Incr
	for _, m := range n.take() {
		if in, ok := m.(*net.Incr); ok {
			incrs = append(incrs, in)
		}
	}
	if len(incrs) != 6 {
		t.Fatalf("%d increments sent; want 6", len(incrs))
	}
	for i, in := range incrs {
		if in.Session == 0 || in.Session != incrs[0].Session || in.Seq != incrs[0].Seq+uint64(i) || in.Attempt != 0 {
			t.Errorf("increment %d: session %x seq %d attempt %d; want session %x, seq %d, attempt 0",
				i, in.Session, in.Seq, in.Attempt, incrs[0].Session, incrs[0].Seq+uint64(i))
		}
	}
}

// An increment that stays unknown is retried until -timeout, then fails
// with exit status 1 and says it was never counted twice.
func TestCounterUnknown(t *testing.T) {
	n := startFake(t)
	status, stdout, stderr := memdb("", noEnv, "-addr", n.addr(), "-key", testKey, "-timeout", "300ms", "incr", "unknown-c")
	if status != exitFailed || stdout != "" || !strings.Contains(stderr, "outcome unknown") || !strings.Contains(stderr, "never twice") {
		t.Errorf("incr with an unknown outcome: status %d, stdout %q, stderr %q; want 1 and an error saying outcome unknown, never twice", status, stdout, stderr)
	}
	sent := n.take()
	if len(sent) < 2 {
		t.Errorf("%d attempts; want the increment retried until -timeout", len(sent))
	}
	for i, m := range sent {
		in, ok := m.(*net.Incr)
		if !ok || in.Seq != sent[0].(*net.Incr).Seq || in.Attempt != uint32(i) {
			t.Errorf("request %d is %+v; want attempt %d of the first increment", i, m, i)
		}
	}
}

// Against a real node, once it serves counters (skipped until then). End
// to end: run after the node side is merged.
func TestCounterOnNode(t *testing.T) {
	addr := startNode(t)
	run := func(args ...string) (int, string, string) {
		return memdb("", noEnv, append([]string{"-addr", addr, "-key", testKey, "-timeout", "5s"}, args...)...)
	}
	status, stdout, stderr := run("incr", "c", "5")
	if strings.Contains(stderr, "unknown command") || strings.Contains(stderr, "unsupported") {
		t.Skipf("the node does not serve counters: %s", stderr)
	}
	if status != exitOK || stdout != "5\n" {
		t.Fatalf("incr c 5: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	for _, step := range []struct {
		args []string
		out  string
	}{
		{[]string{"decr", "c", "7"}, "-2\n"},
		{[]string{"counter", "c"}, "-2\n"},
		{[]string{"-consistency", "all", "counter", "c"}, "-2\n"},
		{[]string{"counter", "never"}, "0\n"},
	} {
		if status, stdout, stderr := run(step.args...); status != exitOK || stdout != step.out {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want 0 and %q", step.args, status, stdout, stderr, step.out)
		}
	}
	if status, _, stderr := run("get", "c"); status != exitFailed || !strings.Contains(stderr, "wrong kind") {
		t.Errorf("get of a counter: status %d, stderr %q; want 1 and wrong kind", status, stderr)
	}
}
