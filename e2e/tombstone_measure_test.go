package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What tombstone collection gives back (issue 22; PAPER): one memdbd (rf 1,
// fsync none, grace 2s) takes -tomb.mem keys of 100-byte values, deletes
// them all, drops their tombstones and compacts; its keys, resident memory
// (VmRSS) and data directory are read at each step, then the resident
// memory every 10 s for -tomb.watch (the Go runtime hands freed memory
// back gradually, and collects at least every 2 minutes when nothing
// allocates). Then Redis, when redis-server is installed, on the same
// keys: used_memory and RSS after the sets and after DEL of every key. A
// measurement, not a test (no threshold):
//
//	nice -n 10 go test ./e2e -run TestTombstoneMemory -tomb.mem 500000 -v -timeout 30m
var (
	tombMem   = flag.Int("tomb.mem", 0, "keys TestTombstoneMemory sets and deletes (0 skips it)")
	tombWatch = flag.Duration("tomb.watch", 150*time.Second, "how long TestTombstoneMemory samples resident memory after the compaction")
)

func TestTombstoneMemory(t *testing.T) {
	if *tombMem == 0 {
		t.Skip("a measurement: run with -tomb.mem N")
	}
	n := *tombMem
	c := newCluster(t, 1, 1)
	node := c.node(1)
	node.extra = []string{"-fsync", "none", "-tombstone-grace", "2s"}
	c.startAll()
	c.waitNormal(moveDeadline)
	pid := node.d.cmd.Process.Pid
	start := time.Now()
	var table strings.Builder
	fmt.Fprintf(&table, "| step | at | keys | tombstones | dropped | store bytes | VmRSS MiB | data dir bytes |\n|---|---|---|---|---|---|---|---|\n")
	point := func(what string) {
		st := node.status(t)
		fmt.Fprintf(&table, "| %s | %v | %d | %d | %d | %d | %.1f | %d |\n", what, time.Since(start).Round(time.Second),
			st.Keys, st.Tombstones, st.TombstonesDropped, st.Bytes, float64(rss(t, pid))/(1<<20), dirSize(t, node.dir))
	}
	point("before loading")
	cl := dialNodes(t, false, node.listen)
	value := []byte(strings.Repeat("v", 100))
	took := time.Now()
	forEach(t, "set", n, func(i int) error { return cl.Set(context.Background(), tombKey(i), value) })
	t.Logf("%d sets: %v", n, time.Since(took).Round(time.Millisecond))
	point("after loading")
	took = time.Now()
	forEach(t, "delete", n, func(i int) error { return cl.Delete(context.Background(), tombKey(i)) })
	deleted := time.Now()
	t.Logf("%d deletes: %v", n, deleted.Sub(took).Round(time.Millisecond))
	point("after deleting")
	waitDropped(t, c, 1, n)
	t.Logf("every tombstone dropped %v after the last delete (grace 2s)", time.Since(deleted).Round(time.Millisecond))
	point("after dropping")
	took = time.Now()
	if code, body, err := node.post("/v1/compact"); err != nil || code != 200 {
		t.Fatalf("POST /v1/compact: %d %s %v", code, body, err)
	} else {
		t.Logf("compaction: %v: %s", time.Since(took).Round(time.Millisecond), strings.TrimSpace(body))
	}
	point("after compacting")
	for end := time.Now().Add(*tombWatch); time.Now().Before(end); {
		time.Sleep(10 * time.Second)
		point("idle")
	}
	mustBeGone(t, cl, n, "after the measurement")
	t.Logf("memdbd, %d keys of 100-byte values:\n%s", n, table.String())
	redisTombstones(t, n)
}

// redisTombstones loads n keys of 100-byte values into a redis-server
// with no persistence, DELs them all, and logs INFO memory and VmRSS at
// each step; it skips if redis-server is not installed.
func redisTombstones(t *testing.T, n int) {
	srv, err := exec.LookPath("redis-server")
	if err != nil {
		t.Log("redis-server not installed: no Redis comparison (scripts/need.sh installs it: redis-server)")
		return
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Log("redis-cli not installed: no Redis comparison")
		return
	}
	port := strings.Split(freeAddr(t), ":")[1]
	cmd := exec.Command(srv, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	run := func(stdin string, args ...string) string {
		c := exec.Command(cli, append([]string{"-p", port}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if c := exec.Command(cli, "-p", port, "PING"); c.Run() == nil {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("redis-server did not answer PING within 20s")
		}
	}
	pipe := func(verb string, args func(i int) []string) {
		var b strings.Builder
		for i := range n {
			a := append([]string{verb}, args(i)...)
			fmt.Fprintf(&b, "*%d\r\n", len(a))
			for _, s := range a {
				fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(s), s)
			}
		}
		out := run(b.String(), "--pipe")
		if !strings.Contains(out, "errors: 0") {
			t.Fatalf("redis-cli --pipe %s: %s", verb, out)
		}
	}
	info := func() map[string]string {
		m := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(run("", "INFO", "memory")))
		for sc.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
				m[k] = v
			}
		}
		return m
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| step | dbsize | used_memory MiB | used_memory_rss MiB | VmRSS MiB |\n|---|---|---|---|---|\n")
	point := func(what string) {
		m := info()
		mib := func(k string) float64 { v, _ := strconv.ParseFloat(m[k], 64); return v / (1 << 20) }
		fmt.Fprintf(&table, "| %s | %s | %.1f | %.1f | %.1f |\n", what, strings.TrimSpace(run("", "DBSIZE")),
			mib("used_memory"), mib("used_memory_rss"), float64(rss(t, cmd.Process.Pid))/(1<<20))
	}
	point("before loading")
	value := strings.Repeat("v", 100)
	pipe("SET", func(i int) []string { return []string{tombKey(i), value} })
	point("after SET")
	pipe("DEL", func(i int) []string { return []string{tombKey(i)} })
	point("after DEL")
	time.Sleep(10 * time.Second)
	point("10 s later")
	run("", "MEMORY", "PURGE")
	point("after MEMORY PURGE")
	fmt.Fprintf(&table, "\n(%s)", strings.TrimSpace(readVersion(srv)))
	t.Logf("redis-server, %d keys of 100-byte values:\n%s", n, table.String())
}

// readVersion returns what the server binary says its version is.
func readVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return err.Error()
	}
	return string(out)
}
