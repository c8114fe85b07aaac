package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds memdbd and memdb once per test run.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "memdb-e2e-bin")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "github.com/memdb/memdb/cmd/memdbd", "github.com/memdb/memdb/cmd/memdb")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// daemon is a running memdbd.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`ready.* listen=(\S+)`)

// startDaemon starts memdbd with args (plus a loopback port and a temp data
// dir unless given) and waits for its ready line.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	bin := binaries(t)
	all := append([]string{"-listen", "127.0.0.1:0", "-http", "", "-data", t.TempDir()}, args...)
	d := &daemon{t: t, log: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(filepath.Join(bin, "memdbd"), all...)
	d.cmd.Env = append(os.Environ(), "MEMDB_CLIENT_KEY=")
	pr, pw := io.Pipe()
	d.cmd.Stderr = io.MultiWriter(d.log, pw)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case d.addr = <-ready:
	case err := <-d.done:
		t.Fatalf("memdbd exited before ready: %v\n%s", err, d.log)
	case <-time.After(20 * time.Second):
		t.Fatalf("memdbd not ready after 20s:\n%s", d.log)
	}
	return d
}

// stop sends sig and returns the exit code.
func (d *daemon) stop(sig syscall.Signal) int {
	d.t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.t.Fatalf("memdbd did not stop within 20s of %v:\n%s", sig, d.log)
	}
	return d.cmd.ProcessState.ExitCode()
}

// memdb runs the command-line client and returns stdout, stderr and the
// exit code.
func memdb(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binaries(t), "memdb"), args...)
	cmd.Env = append(os.Environ(), "MEMDB_CLIENT_KEY=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("memdb %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestCommandsAgainstRealDaemon(t *testing.T) {
	d := startDaemon(t, "-client-key", "s3cret")
	a := []string{"-addr", d.addr, "-key", "s3cret"}
	steps := []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"get", "city"}, "(nil)\n", 0},
		{[]string{"exists", "city"}, "false\n", 0},
		{[]string{"set", "city", "Lisbon"}, "ok\n", 0},
		{[]string{"get", "city"}, "Lisbon\n", 0},
		{[]string{"exists", "city"}, "true\n", 0},
		{[]string{"del", "city"}, "ok\n", 0},
		{[]string{"get", "city"}, "(nil)\n", 0},
		{[]string{"set", "phrase", "hello world"}, "ok\n", 0},
		{[]string{"get", "phrase"}, "hello world\n", 0},
		{[]string{"mset", "a", "1", "b", "2", "c", "3"}, "ok\n", 0},
		{[]string{"get", "b"}, "2\n", 0},
		{[]string{"batch", "set", "a", "4", "del", "b", "set", "c", "5"}, "ok\n", 0},
		{[]string{"get", "a"}, "4\n", 0},
		{[]string{"get", "b"}, "(nil)\n", 0},
		{[]string{"get", "c"}, "5\n", 0},
		{[]string{"mset", "a", "1", "b"}, "", 2},
		{[]string{"mset", "a", "1", "a", "2"}, "", 2},
		{[]string{"batch", "set", "a"}, "", 2},
		{[]string{"batch", "put", "a", "1"}, "", 2},
	}
	for _, s := range steps {
		out, errOut, code := memdb(t, "", append(a, s.args...)...)
		if out != s.out || code != s.code {
			t.Fatalf("memdb %s: got %q exit %d (stderr %q), want %q exit %d", strings.Join(s.args, " "), out, code, errOut, s.out, s.code)
		}
	}

	// The key can come from the environment too.
	t.Setenv("MEMDB_CLIENT_KEY", "s3cret")
	cmd := exec.Command(filepath.Join(binaries(t), "memdb"), "-addr", d.addr, "get", "phrase")
	out, err := cmd.Output()
	if err != nil || string(out) != "hello world\n" {
		t.Fatalf("memdb with MEMDB_CLIENT_KEY: %q, %v", out, err)
	}

	// Usage errors exit 2.
	if _, errOut, code := memdb(t, "", append(a, "frobnicate", "x")...); code != 2 || !strings.HasPrefix(errOut, "error: ") {
		t.Fatalf("unknown command: exit %d, stderr %q; want 2 and an error line", code, errOut)
	}
	if _, _, code := memdb(t, "", append(a, "get")...); code != 2 {
		t.Fatalf("get without a key: exit %d, want 2", code)
	}

	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("memdbd exit %d after SIGTERM, want 0:\n%s", code, d.log)
	}
	if !strings.Contains(d.log.String(), "stopped") {
		t.Fatalf("memdbd log has no stop line:\n%s", d.log)
	}
}

func TestPipeMode(t *testing.T) {
	d := startDaemon(t)
	in := "set a 1\nget a\n\nexists a\nbogus\ndel a\nget a\n"
	out, _, code := memdb(t, in, "-addr", d.addr)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{"ok", "1", "true", "error: ", "ok", "(nil)"}
	if len(lines) != len(want) {
		t.Fatalf("pipe output %q, want %d lines like %q", out, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Fatalf("line %d = %q, want %q (all output %q)", i, lines[i], want[i], out)
		}
	}
	if code != 1 {
		t.Fatalf("pipe mode with a failed line exited %d, want 1", code)
	}
}

func TestWrongKeyRefused(t *testing.T) {
	d := startDaemon(t, "-client-key", "right")
	_, errOut, code := memdb(t, "", "-addr", d.addr, "-key", "wrong", "get", "x")
	if code != 1 || !strings.HasPrefix(errOut, "error: ") || !strings.Contains(errOut, "auth") {
		t.Fatalf("wrong key: exit %d, stderr %q; want exit 1 and an auth error", code, errOut)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, errOut, code := memdb(t, "", "-addr", addr, "-timeout", "2s", "get", "x")
	if code != 1 || !strings.HasPrefix(errOut, "error: ") {
		t.Fatalf("unreachable node: exit %d, stderr %q; want exit 1 and an error line", code, errOut)
	}
}

// A malformed frame gets an error frame and its connection closed; the
// daemon keeps serving.
func TestMalformedFrameSurvived(t *testing.T) {
	d := startDaemon(t)
	memdb(t, "", "-addr", d.addr, "set", "survivor", "yes")
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		append([]byte{0, 0, 0, 30}, bytes.Repeat([]byte{0xab}, 30)...), // a whole frame, bad CRC
		bytes.Repeat([]byte{0xff}, 100),
	} {
		nc, err := stdnet.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		nc.Write(junk)
		// The server answers (challenge, then an error frame) and closes.
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("after junk %q: %v", junk, err)
		}
		nc.Close()
	}
	out, _, code := memdb(t, "", "-addr", d.addr, "get", "survivor")
	if out != "yes\n" || code != 0 {
		t.Fatalf("after malformed frames: %q exit %d", out, code)
	}
}

func TestConfig(t *testing.T) {
	bin := binaries(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want string // in stderr
	}{
		{"missing explicit file", []string{"-config", filepath.Join(dir, "absent.toml")}, nil, "absent.toml"},
		{"unknown key", []string{"-config", write("unknown.toml", "id = 3\nbogus_key = 1\n")}, nil, "bogus_key"},
		{"bad value in file", []string{"-config", write("bad.toml", "fsync = \"sometimes\"\n")}, nil, "fsync"},
		{"bad flag value", []string{"-id", "0"}, nil, "id"},
		{"bad env value", nil, []string{"MEMDB_REPLICATION_FACTOR=lots"}, "MEMDB_REPLICATION_FACTOR"},
		{"unknown flag", []string{"-nonsense"}, nil, "nonsense"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(bin, "memdbd"), append(tt.args, "-data", dir)...)
			cmd.Env = append(os.Environ(), tt.env...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2; stderr:\n%s", err, errb.String())
			}
			if !strings.Contains(errb.String(), "error: ") || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr %q does not name %q", errb.String(), tt.want)
			}
		})
	}

	// Precedence: flag > env > file > default.
	cfg := write("good.toml", "id = 7\nhttp = \"\"\nlisten = \"127.0.0.1:1\"\n[auth]\nclient_key = \"fromfile\"\n")
	d := startDaemon(t, "-config", cfg, "-listen", "127.0.0.1:0")
	if !strings.Contains(d.log.String(), "id=7") {
		t.Fatalf("id from the file not used:\n%s", d.log)
	}
	if _, _, code := memdb(t, "", "-addr", d.addr, "-key", "fromfile", "get", "x"); code != 0 {
		t.Fatalf("client key from the file not used (exit %d)", code)
	}
}
