package node

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// banned lists what node code must never use: each would let something
// other than the seed decide what a node does, or let the node touch the
// world behind its Env's back.
var banned = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`\bgo\s+(func\b|[A-Za-z_][\w.]*\()`), "goroutines (the host owns concurrency)"},
	{regexp.MustCompile(`\bchan\b`), "channels"},
	{regexp.MustCompile(`\bselect\s*\{`), "select"},
	{regexp.MustCompile(`\btime\.(Now|Since|Until|Sleep|After|AfterFunc|Tick|NewTimer|NewTicker)\(`), "the wall clock (use Env.Clock)"},
	{regexp.MustCompile(`"math/rand"`), "math/rand (use Env.Rand, a *rand.Rand from math/rand/v2)"},
	{regexp.MustCompile(`\brand\.(Int|IntN|Int32|Int64|Uint32|Uint64|Float32|Float64|Perm|Shuffle|N|Int32N|Int64N|Uint32N|Uint64N|UintN)\(`), "global randomness (use Env.Rand)"},
	{regexp.MustCompile(`"net"`), "stdlib net (use Env.Transport)"},
	{regexp.MustCompile(`"os"`), "os (use Env.Disk)"},
	{regexp.MustCompile(`"os/`), "os/... packages"},
	{regexp.MustCompile(`"hash/maphash"`), "hash/maphash (random per process)"},
	{regexp.MustCompile(`"sync"`), "sync (the node is single-threaded)"},
	{regexp.MustCompile(`"crypto/rand"`), "crypto/rand (use Env.Rand)"},
}

// TestNodeIsDeterministic fails if any non-test file under node/ uses what
// banned lists. Test files may (this one reads files).
func TestNodeIsDeterministic(t *testing.T) {
	var files int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			code, _, _ := strings.Cut(line, "//")
			for _, b := range banned {
				if b.re.MatchString(code) {
					t.Errorf("%s:%d uses %s: %s", path, i+1, b.why, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("found no node source files: the lint checked nothing")
	}
}

// TestLintCatches proves each rule can fail: a lint that cannot fail is a
// defect.
func TestLintCatches(t *testing.T) {
	samples := []string{
		"\tgo n.loop()", "\tgo func() {}()", "c := make(chan int)", "select {", "t := time.Now()",
		`import "math/rand"`, "x := rand.IntN(3)", `import "net"`, `import "os"`, `"os/exec"`,
		`"hash/maphash"`, `"sync"`, `"crypto/rand"`, "time.Sleep(d)",
	}
	for _, s := range samples {
		hit := false
		for _, b := range banned {
			hit = hit || b.re.MatchString(s)
		}
		if !hit {
			t.Errorf("no rule catches %q", s)
		}
	}
	for _, ok := range []string{"n.env.Rand.IntN(3)", `"math/rand/v2"`, `"github.com/memdb/memdb/net"`, "timeout time.Duration", "n.goal()"} {
		for _, b := range banned {
			if b.re.MatchString(ok) {
				t.Errorf("rule for %s wrongly catches %q", b.why, ok)
			}
		}
	}
}
