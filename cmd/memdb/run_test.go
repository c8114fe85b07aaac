package main

import (
	"bufio"
	"errors"
	"flag"
	"io"
	stdnet "net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/host"
	"github.com/memdb/memdb/net"
)

const testKey = "secret"

// startNode runs a real node in-process, stopped when the test ends.
func startNode(t *testing.T) string {
	t.Helper()
	cfg := host.DefaultConfig()
	cfg.Listen, cfg.HTTP, cfg.DataDir, cfg.Fsync = "127.0.0.1:0", "", t.TempDir(), "none"
	cfg.ClientKey = testKey
	srv, err := host.Start(cfg, nil)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// memdb runs the command in-process and returns its exit status and
// output.
func memdb(stdin string, env func(string) string, args ...string) (status int, stdout, stderr string) {
	var out, errOut strings.Builder
	status = run(args, strings.NewReader(stdin), &out, &errOut, env)
	return status, out.String(), errOut.String()
}

func TestParseArgs(t *testing.T) {
	env := func(k string) string {
		if k == keyEnv {
			return "from-env"
		}
		return ""
	}
	defaults := client.Options{Addrs: []string{client.DefaultAddr}, Key: "from-env", Consistency: net.Quorum, Timeout: client.DefaultTimeout}
	with := func(f func(*config)) config {
		c := config{opts: defaults}
		c.opts.Addrs = append([]string(nil), defaults.Addrs...)
		f(&c)
		return c
	}
	tests := []struct {
		args []string
		want config
	}{
		{nil, with(func(*config) {})},
		{[]string{"get", "k"}, with(func(c *config) { c.command = []string{"get", "k"} })},
		{[]string{"-addr", "a:1, b:2,", "get", "-k"}, with(func(c *config) {
			c.opts.Addrs = []string{"a:1", "b:2"}
			c.command = []string{"get", "-k"}
		})},
		{[]string{"-key", "flag"}, with(func(c *config) { c.opts.Key = "flag" })},
		{[]string{"-key="}, with(func(c *config) { c.opts.Key = "" })},
		{[]string{"-consistency", "serial", "-timeout", "250ms"}, with(func(c *config) {
			c.opts.Consistency, c.opts.Timeout = net.Serial, 250*time.Millisecond
		})},
		{[]string{"-consistency=one", "--", "set", "a", "b"}, with(func(c *config) {
			c.opts.Consistency, c.command = net.One, []string{"set", "a", "b"}
		})},
		{[]string{"-no-routing", "get", "k"}, with(func(c *config) {
			c.opts.NoRouting, c.command = true, []string{"get", "k"}
		})},
	}
	for _, tc := range tests {
		got, err := parseArgs(tc.args, env)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tc.args, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(config{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("parseArgs(%q) (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-bogus"}, "-bogus"},
		{[]string{"-addr", " , "}, "no address"},
		{[]string{"-consistency", "two"}, `"two"`},
		{[]string{"-timeout", "0s"}, "positive"},
		{[]string{"-timeout", "soon"}, "soon"},
		{[]string{"-key"}, "key"},
	}
	for _, tc := range tests {
		_, err := parseArgs(tc.args, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseArgs(%q): got %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, err := parseArgs([]string{"-h"}, noEnv); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseArgs(-h): got %v, want flag.ErrHelp", err)
	}
}

func TestOneShot(t *testing.T) {
	addr := startNode(t)
	env := func(k string) string {
		if k == keyEnv {
			return testKey
		}
		return ""
	}
	tests := []struct {
		args   []string
		status int
		stdout string
		stderr string // a substring of stderr; "" means stderr must be empty
	}{
		{[]string{"get", "k"}, exitOK, "(nil)\n", ""},
		{[]string{"exists", "k"}, exitOK, "false\n", ""},
		{[]string{"set", "k", "hello world"}, exitOK, "ok\n", ""},
		{[]string{"get", "k"}, exitOK, "hello world\n", ""},
		{[]string{"GET", "k"}, exitOK, "hello world\n", ""},
		{[]string{"-consistency", "one", "exists", "k"}, exitOK, "true\n", ""},
		{[]string{"set", "e", ""}, exitOK, "ok\n", ""},
		{[]string{"get", "e"}, exitOK, "\"\"\n", ""},
		{[]string{"del", "k"}, exitOK, "ok\n", ""},
		{[]string{"get", "k"}, exitOK, "(nil)\n", ""},
		{[]string{"exit"}, exitOK, "", ""},
		{[]string{"set", "k"}, exitUsage, "", "error: set takes 2 arguments, not 1 (usage: memdb set KEY VALUE"},
		{[]string{"get"}, exitUsage, "", "usage: memdb get KEY"},
		{[]string{"frobnicate", "k"}, exitUsage, "", `error: unknown command "frobnicate"`},
		{[]string{"-bogus"}, exitUsage, "", "error: flag provided but not defined: -bogus"},
		{[]string{"cas", "c", "(nil)", "v1"}, exitOK, "true\n", ""},
		{[]string{"cas", "c", "(nil)", "v2"}, exitOK, "false\n", ""},
		{[]string{"cas", "c", "v0", "v2"}, exitOK, "false\n", ""},
		{[]string{"cas", "c", "v1", "v2"}, exitOK, "true\n", ""},
		{[]string{"-consistency", "serial", "get", "c"}, exitOK, "v2\n", ""},
		{[]string{"-consistency", "serial", "exists", "c"}, exitOK, "true\n", ""},
		{[]string{"-consistency", "serial", "set", "c", "v3"}, exitOK, "ok\n", ""},
		{[]string{"-consistency", "serial", "get", "c"}, exitOK, "v3\n", ""},
		{[]string{"-consistency", "serial", "del", "c"}, exitUsage, "", "error: del cannot be serial"},
		{[]string{"cas", "c", "v3"}, exitUsage, "", "usage: memdb cas KEY OLD NEW"},
		{[]string{"incr", "k", "one"}, exitUsage, "", "error: incr: N must be an integer"},
		{[]string{"-key", "wrong", "get", "k"}, exitFailed, "", "auth refused"},
		{[]string{"set", "", "v"}, exitFailed, "", "bad key"},
	}
	for _, tc := range tests {
		args := append([]string{"-addr", addr}, tc.args...)
		status, stdout, stderr := memdb("", env, args...)
		if status != tc.status || stdout != tc.stdout ||
			(tc.stderr == "") != (stderr == "") || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("memdb %q:\ngot  status %d, stdout %q, stderr %q\nwant status %d, stdout %q, stderr containing %q",
				tc.args, status, stdout, stderr, tc.status, tc.stdout, tc.stderr)
		}
		if stderr != "" && (!strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "\n") != 1) {
			t.Errorf("memdb %q: stderr %q is not one line starting \"error: \"", tc.args, stderr)
		}
	}
}

// -addr takes a list: a dead first address falls back to the next, with
// routing or without.
func TestAddrList(t *testing.T) {
	addr := startNode(t)
	list := closedAddr(t) + "," + addr
	for _, extra := range [][]string{nil, {"-no-routing"}} {
		args := append([]string{"-addr", list, "-key", testKey}, extra...)
		if status, stdout, stderr := memdb("", noEnv, append(args, "set", "k", "v")...); status != exitOK || stdout != "ok\n" {
			t.Errorf("memdb %q set: status %d, stdout %q, stderr %q; want 0 and ok", args, status, stdout, stderr)
		}
		if status, stdout, stderr := memdb("", noEnv, append(args, "get", "k")...); status != exitOK || stdout != "v\n" {
			t.Errorf("memdb %q get: status %d, stdout %q, stderr %q; want 0 and v", args, status, stdout, stderr)
		}
	}
}

func TestOneShotUnreachable(t *testing.T) {
	status, stdout, stderr := memdb("", noEnv, "-addr", closedAddr(t), "get", "k")
	if status != exitFailed || stdout != "" || !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, "unreachable") {
		t.Errorf("get from a dead address: got status %d, stdout %q, stderr %q; want 1 and an error saying unreachable", status, stdout, stderr)
	}
}

func TestHelp(t *testing.T) {
	status, stdout, stderr := memdb("", noEnv, "-h")
	if status != exitOK || stderr != "" {
		t.Fatalf("memdb -h: status %d, stderr %q; want 0 and nothing", status, stderr)
	}
	for _, want := range []string{"set KEY VALUE", "get KEY", "del KEY", "exists KEY", "cas KEY OLD NEW",
		"incr KEY [N]", "decr KEY [N]", "counter KEY", "exit, quit", "-addr", "-key", "-consistency", "-timeout", "-no-routing",
		keyEnv, `"hello world"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("memdb -h does not mention %q", want)
		}
	}
}

func TestPipe(t *testing.T) {
	addr := startNode(t)
	input := strings.Join([]string{
		`set greeting "hello world"`,
		`get greeting`,
		``,
		`get nothing`,
		`set x`,
		`exists greeting`,
		`nope`,
		`set q "unterminated`,
		`set nl "two\nlines"`,
		`get nl`,
		`cas greeting a b`,
		`cas greeting "hello world" (nil)`,
		`get greeting`,
		`cas greeting (nil) x`,
		`cas greeting "(nil)" x`,
		`get greeting`,
		`del greeting`,
		"exists greeting\r",
		`quit`,
		`get never-run`,
	}, "\n")
	want := strings.Join([]string{
		`ok`,
		`hello world`,
		`(nil)`,
		`error: set takes 2 arguments, not 1 (usage: set KEY VALUE; help lists the commands)`,
		`true`,
		`error: unknown command "nope" (help lists the commands)`,
		`error: bad quoting: a double quote is not closed (quote a word with blanks as "a b")`,
		`ok`,
		`"two\nlines"`,
		`false`,
		`true`,
		`"(nil)"`,
		`false`,
		`true`,
		`x`,
		`ok`,
		`false`,
	}, "\n") + "\n"
	status, stdout, stderr := memdb(input, noEnv, "-addr", addr, "-key", testKey)
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("pipe output (-want +got):\n%s", diff)
	}
	if status != exitFailed || stderr != "" {
		t.Errorf("pipe with failed lines: status %d, stderr %q; want 1 and nothing", status, stderr)
	}

	status, stdout, _ = memdb("set a b\n\nget a\n", noEnv, "-addr", addr, "-key", testKey)
	if status != exitOK || stdout != "ok\nb\n" {
		t.Errorf("pipe without failures: status %d, stdout %q; want 0 and \"ok\\nb\\n\"", status, stdout)
	}
}

// A failed connection is reported on the line that needed it, and the
// lines after it still run.
func TestPipeUnreachable(t *testing.T) {
	status, stdout, _ := memdb("get a\nhelp\nget b\n", noEnv, "-addr", closedAddr(t))
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if status != exitFailed || len(lines) < 3 ||
		!strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], "unreachable") ||
		!strings.HasPrefix(lines[len(lines)-1], "error: ") {
		t.Errorf("pipe to a dead address: status %d, stdout %q; want 1, an error line for each get, and help between", status, stdout)
	}
}

// A program drives memdb as a co-process: it writes one command, waits for
// its answer, then writes the next. This works only if every answer is
// written as soon as it is known.
func TestCoProcess(t *testing.T) {
	addr := startNode(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-addr", addr, "-key", testKey}, inR, outW, io.Discard, noEnv)
		outW.Close()
	}()
	answers := bufio.NewScanner(outR)
	for _, step := range []struct{ command, answer string }{
		{"set k v1", "ok"},
		{"get k", "v1"},
		{"set k v2", "ok"},
		{"get k", "v2"},
		{"exists k", "true"},
	} {
		if _, err := io.WriteString(inW, step.command+"\n"); err != nil {
			t.Fatalf("write %q: %v", step.command, err)
		}
		got := make(chan string, 1)
		go func() {
			answers.Scan()
			got <- answers.Text()
		}()
		select {
		case line := <-got:
			if line != step.answer {
				t.Fatalf("%s: got %q, want %q", step.command, line, step.answer)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: no answer while the input stays open; answers must not wait for more input", step.command)
		}
	}
	inW.Close()
	if status := <-done; status != exitOK {
		t.Errorf("status %d, want 0", status)
	}
}
