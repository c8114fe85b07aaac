package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The RESP front door with real processes: Redis's own tools (redis-cli,
// redis-benchmark) against memdbd, unmodified, and a Redis client library
// against a 3-node cluster, through every node. `make test` installs
// redis-tools with apt-get when it is missing; where it cannot, the tests
// that need the tools skip and say so.

// redisTool returns the path of a Redis tool, or skips the test.
func redisTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (make test installs redis-tools with apt-get where it can; by hand: apt-get install redis-tools): skipping", name)
	}
	return p
}

// runTool runs a Redis tool with args and stdin and returns its stdout.
func runTool(t *testing.T, stdin string, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", path, args, err, out.String(), errb.String())
	}
	return out.String()
}

// startRESPDaemon starts one memdbd (rf 1) with the front door on a free
// port and the client key s3cret; it returns the RESP address.
func startRESPDaemon(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	d := startDaemon(t, "-rf", "1", "-fsync", "none", "-resp", addr, "-client-key", "s3cret")
	if !strings.Contains(d.log.String(), "resp="+addr) {
		t.Fatalf("memdbd's ready line does not name the RESP address %s:\n%s", addr, d.log)
	}
	return addr
}

func TestRedisCLIAgainstDaemon(t *testing.T) {
	cli := redisTool(t, "redis-cli")
	addr := startRESPDaemon(t)
	host, port, _ := strings.Cut(addr, ":")
	base := []string{"-h", host, "-p", port, "-a", "s3cret", "--no-auth-warning"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "hello", "world"}, "OK\n"},
		{[]string{"get", "hello"}, "world\n"},
		{[]string{"exists", "hello", "nope"}, "1\n"},
		{[]string{"del", "hello", "nope"}, "1\n"},
		{[]string{"get", "hello"}, "\n"},
		{[]string{"set", "n", "1", "nx"}, "OK\n"},
		// Counters (these two rows need the node side of counters: they
		// fail on a node that does not serve them): n holds a plain value.
		{[]string{"incr", "n"}, "WRONGTYPE Operation against a key holding the wrong kind of value\n\n"},
		{[]string{"incrby", "hits", "5"}, "5\n"},
		{[]string{"-3", "memdb.consistency", "all"}, "OK\n"},
	} {
		if got := runTool(t, "", cli, append(base, tc.args...)...); got != tc.want {
			t.Errorf("redis-cli %s: got %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	// Without a command, redis-cli reads commands from its standard input.
	got := runTool(t, "set a 1\nmget a n missing\nping\n", cli, base...)
	if want := "OK\n1\n1\n\nPONG\n"; got != want {
		t.Errorf("redis-cli reading commands from stdin: got %q, want %q", got, want)
	}
	// Without the key, commands are refused.
	if got := runTool(t, "", cli, "-h", host, "-p", port, "get", "a"); !strings.Contains(got, "NOAUTH") {
		t.Errorf("redis-cli without -a: got %q, want NOAUTH", got)
	}
}

var benchLine = regexp.MustCompile(`(?m)^"?(SET|GET)"?[:,]\s*"?([0-9.]+)`)

func TestRedisBenchmarkAgainstDaemon(t *testing.T) {
	bench := redisTool(t, "redis-benchmark")
	addr := startRESPDaemon(t)
	host, port, _ := strings.Cut(addr, ":")
	out := runTool(t, "", bench, "-h", host, "-p", port, "-a", "s3cret", "-t", "set,get", "-n", "2000", "-c", "10", "--csv")
	got := map[string]bool{}
	for _, m := range benchLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = true
		t.Logf("redis-benchmark %s: %s requests/s (not a measurement: a test run)", m[1], m[2])
	}
	if !got["SET"] || !got["GET"] {
		t.Fatalf("redis-benchmark printed no SET and GET results:\n%s", out)
	}
	// What redis-benchmark wrote is there: its key, its 3-byte value.
	cli := redisTool(t, "redis-cli")
	if v := runTool(t, "", cli, "-h", host, "-p", port, "-a", "s3cret", "--no-auth-warning", "get", "key:__rand_int__"); len(v) != len("xxx\n") {
		t.Errorf("the key redis-benchmark set: %q, want a 3-byte value", v)
	}
}

// TestGoRedisAgainstCluster: every node serves RESP; a write through one
// node is read at quorum through the others, and SET NX decides once.
func TestGoRedisAgainstCluster(t *testing.T) {
	c := &cluster{t: t, rf: 3}
	for i := range 3 {
		c.nodes = append(c.nodes, &cnode{id: i + 1, listen: freeAddr(t), dir: t.TempDir()})
		c.nodes[i].extra = []string{"-resp", freeAddr(t)}
	}
	for i := range 3 {
		c.start(i + 1)
	}
	c.waitNormal(30 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rcs []*redis.Client
	for _, n := range c.nodes {
		rc := redis.NewClient(&redis.Options{Addr: n.extra[1]})
		defer rc.Close()
		rcs = append(rcs, rc)
	}
	for i := range 30 {
		k := fmt.Sprint("k", i)
		if err := rcs[i%3].Set(ctx, k, fmt.Sprint("v", i), 0).Err(); err != nil {
			t.Fatalf("set %s through node %d: %v", k, i%3+1, err)
		}
		for j, rc := range rcs {
			if v, err := rc.Get(ctx, k).Result(); err != nil || v != fmt.Sprint("v", i) {
				t.Fatalf("get %s through node %d = %q, %v; want v%d", k, j+1, v, err, i)
			}
		}
	}
	won := 0
	for i, rc := range rcs {
		ok, err := rc.SetNX(ctx, "once", fmt.Sprint(i), 0).Result()
		if err != nil {
			t.Fatalf("setnx through node %d: %v", i+1, err)
		}
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("SET NX of one key through 3 nodes succeeded %d times, want once", won)
	}
}
