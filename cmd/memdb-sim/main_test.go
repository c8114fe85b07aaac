package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func call(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		err  string // the one stderr line, if any
	}{
		{nil, exitUsage, "error: no command given"},
		{[]string{"frob"}, exitUsage, `error: unknown command "frob"`},
		{[]string{"run", "-bogus"}, exitUsage, "error: run: flag provided but not defined"},
		{[]string{"run", "-seeds", "0"}, exitUsage, "error: -seeds must be"},
		{[]string{"run", "-scenario", "nope"}, exitUsage, `error: unknown scenario "nope"`},
		{[]string{"replay"}, exitUsage, "error: replay takes one trace file"},
		{[]string{"replay", "/no/such/trace.json"}, exitUsage, "error: read trace"},
		{[]string{"shrink", "x.json"}, exitUsage, "error: read trace"},
		{[]string{"run", "-j", "0"}, exitUsage, "error: -j must be 1..1024, not 0"},
		{[]string{"-h"}, exitPass, ""},
		{[]string{"run", "-h"}, exitPass, ""},
		{[]string{"list", "extra"}, exitUsage, "error: list takes no arguments"},
	}
	for _, tc := range tests {
		code, _, stderr := call(tc.args...)
		last := ""
		if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) > 0 {
			last = lines[len(lines)-1]
		}
		if code != tc.code || !strings.HasPrefix(last, tc.err) {
			t.Errorf("memdb-sim %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.err)
		}
	}
}

func TestList(t *testing.T) {
	code, out, _ := call("list")
	if code != 0 || !strings.Contains(out, "single-node") {
		t.Errorf("list: exit %d, %q", code, out)
	}
}

var summary = regexp.MustCompile(`(?m)^seeds: 2  failed: 0  sim/wall: [0-9]+\.[0-9]×$`)

func TestRunAndReplay(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := call("run", "-scenario", "single-node", "-seed", "5", "-seeds", "2", "-out", dir, "-keep")
	if code != 0 || !summary.MatchString(out) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	trace := filepath.Join(dir, "single-node-6", "trace.json")
	code, out, _ = call("replay", trace)
	if code != 0 || !strings.Contains(out, "event hash matches") {
		t.Errorf("replay: exit %d, %q", code, out)
	}

	// A tampered hash is nondeterminism: exit 5.
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`"event_hash": "[0-9a-f]{16}"`).ReplaceAll(b, []byte(`"event_hash": "0000000000000000"`))
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, b, 0o644)
	if code, out, _ := call("replay", bad); code != exitNondet || !strings.Contains(out, "MISMATCH") {
		t.Errorf("replay of a tampered trace: exit %d, %q; want %d", code, out, exitNondet)
	}
}
