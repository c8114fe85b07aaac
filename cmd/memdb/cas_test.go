package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/memdb/memdb/net"
)

// cas and -consistency serial, one command at a time: what memdb prints,
// its exit status, and what it sent.
func TestCASOneShot(t *testing.T) {
	n := startFake(t)
	tests := []struct {
		args   []string
		status int
		stdout string
		stderr []string // substrings of stderr; none means stderr must be empty
		sent   []net.Message
	}{
		{
			args: []string{"cas", "k", "(nil)", "v1"}, status: exitOK, stdout: "true\n",
			sent: []net.Message{&net.CAS{Key: []byte("k"), OldFound: false, New: []byte("v1")}},
		},
		{
			args: []string{"cas", "k", "(nil)", "v2"}, status: exitOK, stdout: "false\n",
			sent: []net.Message{&net.CAS{Key: []byte("k"), OldFound: false, New: []byte("v2")}},
		},
		{
			args: []string{"cas", "k", "v1", ""}, status: exitOK, stdout: "true\n",
			sent: []net.Message{&net.CAS{Key: []byte("k"), OldFound: true, Old: []byte("v1"), New: []byte{}}},
		},
		{
			// The empty value is a value, not absence.
			args: []string{"cas", "k", "", "v3"}, status: exitOK, stdout: "true\n",
			sent: []net.Message{&net.CAS{Key: []byte("k"), OldFound: true, Old: []byte{}, New: []byte("v3")}},
		},
		{
			// A CAS has no level: -consistency does not change it.
			args: []string{"-consistency", "one", "cas", "k", "v3", "v4"}, status: exitOK, stdout: "true\n",
			sent: []net.Message{&net.CAS{Key: []byte("k"), OldFound: true, Old: []byte("v3"), New: []byte("v4")}},
		},
		{
			args: []string{"cas", "contended", "a", "b"}, status: exitFailed,
			stderr: []string{"contention", "lost to other proposers", "did not take effect", "safe to retry"},
			sent:   []net.Message{&net.CAS{Key: []byte("contended"), OldFound: true, Old: []byte("a"), New: []byte("b")}},
		},
		{
			args: []string{"cas", "unknown", "(nil)", "b"}, status: exitFailed,
			stderr: []string{"outcome unknown", "may or may not have happened"},
			sent:   []net.Message{&net.CAS{Key: []byte("unknown"), OldFound: false, New: []byte("b")}},
		},
		{
			args: []string{"cas", "k", "v4"}, status: exitUsage,
			stderr: []string{"cas takes 3 arguments, not 2", "usage: memdb cas KEY OLD NEW"},
		},
		{
			args: []string{"cas", "", "a", "b"}, status: exitFailed, stderr: []string{"bad key"},
		},
		{
			args: []string{"-consistency", "serial", "get", "k"}, status: exitOK, stdout: "v4\n",
			sent: []net.Message{&net.Get{Level: net.Serial, Key: []byte("k")}},
		},
		{
			args: []string{"-consistency", "serial", "exists", "k"}, status: exitOK, stdout: "true\n",
			sent: []net.Message{&net.Contains{Level: net.Serial, Key: []byte("k")}},
		},
		{
			args: []string{"-consistency", "serial", "set", "k", "v5"}, status: exitOK, stdout: "ok\n",
			sent: []net.Message{&net.Set{Level: net.Serial, Key: []byte("k"), Value: []byte("v5")}},
		},
		{
			args: []string{"-consistency", "serial", "get", "contended"}, status: exitFailed,
			stderr: []string{"contention", "safe to retry"},
			sent:   []net.Message{&net.Get{Level: net.Serial, Key: []byte("contended")}},
		},
		{
			args: []string{"-consistency", "serial", "set", "unknown", "v"}, status: exitFailed,
			stderr: []string{"outcome unknown"},
			sent:   []net.Message{&net.Set{Level: net.Serial, Key: []byte("unknown"), Value: []byte("v")}},
		},
		{
			// Refused before anything is sent.
			args: []string{"-consistency", "serial", "del", "k"}, status: exitUsage,
			stderr: []string{"del cannot be serial", "-consistency one, quorum or all"},
		},
		{
			args: []string{"get", "k"}, status: exitOK, stdout: "v5\n",
			sent: []net.Message{&net.Get{Level: net.Quorum, Key: []byte("k")}},
		},
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
		if diff := cmp.Diff(tc.sent, n.take(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("memdb %q: requests sent (-want +got):\n%s", tc.args, diff)
		}
	}
}

// From a pipe, a bare (nil) as cas's OLD is no value and a quoted "(nil)"
// is the value, as get prints them; contention and a serial del fail
// their own line only.
func TestCASPipe(t *testing.T) {
	n := startFake(t)
	input := strings.Join([]string{
		`get k`,
		`cas k (nil) (nil)`,
		`get k`,
		`cas k (nil) x`,
		`cas k "(nil)" x`,
		`cas k x "a (nil)"`,
		`get k`,
		`cas contended x y`,
		`exists k`,
	}, "\n")
	want := strings.Join([]string{
		`(nil)`,
		`true`,
		`"(nil)"`,
		`false`,
		`true`,
		`true`,
		`a (nil)`,
		`error: cas "contended": contention: lost to other proposers (other writers of the key kept winning; it did not take effect, so it is safe to retry)`,
		`true`,
	}, "\n") + "\n"
	status, stdout, stderr := memdb(input, noEnv, "-addr", n.addr(), "-key", testKey)
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("pipe output (-want +got):\n%s", diff)
	}
	if status != exitFailed || stderr != "" {
		t.Errorf("pipe with a failed line: status %d, stderr %q; want 1 and nothing", status, stderr)
	}
	var cases []*net.CAS
	for _, m := range n.take() {
		if c, ok := m.(*net.CAS); ok {
			cases = append(cases, c)
		}
	}
	wantCAS := []*net.CAS{
		{Key: []byte("k"), OldFound: false, New: []byte("(nil)")},
		{Key: []byte("k"), OldFound: false, New: []byte("x")},
		{Key: []byte("k"), OldFound: true, Old: []byte("(nil)"), New: []byte("x")},
		{Key: []byte("k"), OldFound: true, Old: []byte("x"), New: []byte("a (nil)")},
		{Key: []byte("contended"), OldFound: true, Old: []byte("x"), New: []byte("y")},
	}
	if diff := cmp.Diff(wantCAS, cases, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("CAS requests sent (-want +got):\n%s", diff)
	}

	status, stdout, _ = memdb("del k\nget k\n", noEnv, "-addr", n.addr(), "-key", testKey, "-consistency", "serial")
	want = "error: del cannot be serial: a delete is not made through Paxos (run del with -consistency one, quorum or all)\na (nil)\n"
	if status != exitFailed || stdout != want {
		t.Errorf("serial del from a pipe: status %d, stdout %q; want 1 and %q", status, stdout, want)
	}
}
