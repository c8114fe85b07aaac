package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// What the collector's setting costs in memory and in speed (issue 20;
// PAPER §5.19): for each -gc-percent in -mem.gc, a real memdbd (rf 1, fsync
// none) takes -mem.keys keys of 100-byte values from 64 writers; then its
// resident memory is read from /proc and reported per key, beside the
// bytes of keys and values it holds. A measurement, not a test (no
// threshold):
//
//	go test ./e2e -run TestMemoryPerKey -mem.keys 1000000 -v
var (
	memKeys = flag.Int("mem.keys", 0, "keys to load for TestMemoryPerKey (0 skips it)")
	memGC   = flag.String("mem.gc", "15,25,100", "the -gc-percent values TestMemoryPerKey compares")
)

func TestMemoryPerKey(t *testing.T) {
	if *memKeys == 0 {
		t.Skip("a measurement: run with -mem.keys N")
	}
	value := []byte(strings.Repeat("v", 100))
	for _, gc := range strings.Split(*memGC, ",") {
		d := startDaemon(t, "-rf", "1", "-fsync", "none", "-gc-percent", gc)
		rss0, cpu0 := rss(t, d.cmd.Process.Pid), cpu(t, d.cmd.Process.Pid)
		ctx := context.Background()
		cl, err := client.Dial(ctx, client.Options{Addrs: []string{d.addr}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(*memKeys) {
						return
					}
					if err := cl.Set(ctx, fmt.Sprintf("key:%012d", i), value, client.WithConsistency(net.One)); err != nil {
						t.Errorf("set: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		runtime.GC()
		time.Sleep(2 * time.Second) // let the node's own collector settle
		rss1, cpu1 := rss(t, d.cmd.Process.Pid), cpu(t, d.cmd.Process.Pid)
		n := float64(*memKeys)
		t.Logf("gc-percent %s: %d keys in %v (%.0f sets/s, node CPU %.1f µs a set); resident %d MiB → %d MiB: %.0f bytes per key (keys and values: %d bytes per key)",
			gc, *memKeys, took.Round(time.Millisecond), n/took.Seconds(), (cpu1-cpu0).Seconds()*1e6/n, rss0>>20, rss1>>20, float64(rss1-rss0)/n, len("key:000000000000")+len(value))
		cl.Close()
		d.stop(15)
	}
}

// cpu is the CPU time process pid has used, user and system (Linux
// /proc, in clock ticks of 10ms).
func cpu(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command's name, which is in parentheses.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		t.Fatalf("short /proc/%d/stat: %q", pid, b)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rss is process pid's resident memory in bytes (Linux /proc).
func rss(t *testing.T, pid int) int64 { return procStatus(t, pid, "VmRSS") }

// rssAnon is the part of rss that is the process's own memory: the heap
// and stacks, not the pages of its binary it has run (RssFile), which a
// node that has served more kinds of request has touched more of.
func rssAnon(t *testing.T, pid int) int64 { return procStatus(t, pid, "RssAnon") }

// procStatus is field (in kB) of process pid's /proc status, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
