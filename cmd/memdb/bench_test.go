package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestBench runs a short benchmark of each test against a node and checks
// it prints one result line per test; the numbers are not judged.
func TestBench(t *testing.T) {
	n := startFake(t)
	var out, errb bytes.Buffer
	code := run([]string{"-addr", n.addr(), "-key", testKey, "bench", "-c", "3", "-n", "300", "-P", "4", "-d", "10", "-r", "50", "-t", "set,get,cas,incr"}, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	if code != exitOK {
		t.Fatalf("memdb bench exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	line := regexp.MustCompile(`^(SET|GET|CAS|INCR): [0-9]+ requests per second, p50=[0-9.]+ p95=[0-9.]+ p99=[0-9.]+ max=[0-9.]+ msec$`)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 result lines, got:\n%s", out.String())
	}
	for i, want := range []string{"SET", "GET", "CAS", "INCR"} {
		if m := line.FindStringSubmatch(lines[i]); m == nil || m[1] != want {
			t.Errorf("line %d: %q, want a %s result", i+1, lines[i], want)
		}
	}
	// Every request reached the node: 300 per test.
	if got := len(n.take()); got < 1200 {
		t.Errorf("the node saw %d requests, want at least 1200", got)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{"-t", "decr"}, {"-t", "nope"}, {"-c", "0"}, {"-consistency", "most"}, {"extra"}} {
		var out, errb bytes.Buffer
		code := run(append([]string{"bench"}, args...), strings.NewReader(""), &out, &errb, func(string) string { return "" })
		if code != exitUsage || !strings.HasPrefix(errb.String(), "error: bench: ") {
			t.Errorf("bench %v: exit %d, stderr %q; want 2 and an error line", args, code, errb.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"bench", "-h"}, strings.NewReader(""), &out, &out, func(string) string { return "" }); code != exitOK || !strings.Contains(out.String(), "-P N") {
		t.Errorf("bench -h: exit %d, %q", code, out.String())
	}
}
