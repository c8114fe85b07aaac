package node

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
)

// hits is the node's probes that counted anything.
func (h *harness) hits() map[string]uint64 {
	out := map[string]uint64{}
	for _, p := range h.n.ProbeCounts() {
		if p.Count > 0 {
			out[p.Name] = p.Count
		}
	}
	return out
}

// appendGarbage writes bytes past the end of the newest log segment and
// makes them durable, as a crash in the middle of an append leaves it.
func (h *harness) appendGarbage(b []byte) {
	h.t.Helper()
	names, err := h.mem.List()
	if err != nil {
		h.t.Fatal(err)
	}
	var segs []string
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			segs = append(segs, name)
		}
	}
	if len(segs) == 0 {
		h.t.Fatalf("no log segment among %v", names)
	}
	sort.Strings(segs)
	f, err := h.mem.OpenAppend(segs[len(segs)-1])
	if err != nil {
		h.t.Fatal(err)
	}
	if err := f.Write(b); err != nil {
		h.t.Fatal(err)
	}
	synced := errNotCalled
	f.Sync(func(err error) { synced = err })
	h.drain()
	if synced != nil {
		h.t.Fatalf("sync the garbage: %v", synced)
	}
}

// TestProbesCounted drives one node into states a probe names, and
// checks that exactly the expected probes counted them (counts start at
// zero on every boot, so after a restart only the new incarnation's are
// seen).
func TestProbesCounted(t *testing.T) {
	tests := []struct {
		name string
		run  func(h *harness)
		want map[string]uint64
	}{
		{"a plain write and read", func(h *harness) {
			h.request(1, &net.Set{Key: []byte("k"), Value: []byte("v")})
			h.drain()
			h.request(2, &net.Get{Key: []byte("k")})
		}, map[string]uint64{}},
		{"a serial read of a committed value", func(h *harness) {
			h.commitAt("k", "v", h.ballotPast(1))
			h.request(1, &net.Get{Level: net.Serial, Key: []byte("k")})
			h.drain()
		}, map[string]uint64{}},
		{"a serial read that finds a proposal in progress", func(h *harness) {
			h.commitAt("k", "v", h.ballotPast(1))
			b := h.ballotPast(5)
			h.prepareAt("k", b)
			h.acceptAt("k", "w", b)
			h.request(1, &net.Get{Level: net.Serial, Key: []byte("k")})
			h.drain()
		}, map[string]uint64{ProbeReadFallbackInProgress: 1, ProbePaxosFinishOther: 1}},
		{"a duplicated proposal", func(h *harness) {
			b := h.ballotPast(5)
			h.prepareAt("k", b)
			h.acceptAt("k", "w", b)
			h.prepareAt("k", h.ballotPast(10))
			h.acceptAt("k", "w", b) // answered OK though a higher ballot is promised
		}, map[string]uint64{ProbeAcceptDuplicate: 1}},
		{"a clean restart", func(h *harness) {
			h.request(1, &net.Set{Key: []byte("k"), Value: []byte("v")})
			h.drain()
			h.crash()
		}, map[string]uint64{}},
		{"a restart with a proposal in progress", func(h *harness) {
			b := h.ballotPast(5)
			h.prepareAt("k", b)
			h.acceptAt("k", "w", b)
			h.crash()
		}, map[string]uint64{ProbeAcceptorRestored: 1}},
		{"a restart over a torn tail", func(h *harness) {
			h.request(1, &net.Set{Key: []byte("k"), Value: []byte("v")})
			h.drain()
			h.appendGarbage([]byte{0xde, 0xad, 0xbe})
			h.crash()
		}, map[string]uint64{ProbeTornTail: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.drain()
			tt.run(h)
			if diff := cmp.Diff(tt.want, h.hits()); diff != "" {
				t.Errorf("probes hit (-want +got):\n%s", diff)
			}
		})
	}
}

var probeName = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)

// TestProbesListed checks the catalogue against the code: every Probe*
// constant is in Probes once, with a kebab-case name and a doc comment,
// and is counted somewhere in node code; every probe/probeIf call names
// one of them. A probe that no code counts would always be reported as
// never hit, and one missing from Probes would never be reported at all.
func TestProbesListed(t *testing.T) {
	fset := token.NewFileSet()
	consts := map[string]string{} // constant name → value
	documented := map[string]bool{}
	used := map[string]int{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// node/stream's Driver counts its probes through stream.Node's Probe,
	// which streamer forwards; node's Probe constants for them are its.
	driver, err := filepath.Glob("stream/*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, driver...)
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(x ast.Node) bool {
			switch x := x.(type) {
			case *ast.ValueSpec:
				for i, id := range x.Names {
					if !strings.HasPrefix(id.Name, "Probe") || i >= len(x.Values) {
						continue
					}
					lit, ok := x.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					consts[id.Name] = v
					documented[id.Name] = x.Doc != nil && strings.HasPrefix(x.Doc.Text(), id.Name+":")
				}
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				counts := sel.Sel.Name == "probe" || sel.Sel.Name == "probeIf"
				if strings.HasPrefix(path, "stream/") {
					counts = sel.Sel.Name == "Probe"
				}
				if !counts || path == "probe.go" {
					return true
				}
				arg := x.Args[len(x.Args)-1]
				id, ok := arg.(*ast.Ident)
				if ok && path == "stream.go" && id.Name == "name" {
					return true // streamer.Probe forwards the Driver's
				}
				if !ok {
					t.Errorf("%v: %s must name a Probe constant, not %T", fset.Position(x.Pos()), sel.Sel.Name, arg)
					return true
				}
				used[id.Name]++
			}
			return true
		})
	}
	if len(consts) == 0 {
		t.Fatal("found no Probe constants: the test checked nothing")
	}
	for name, v := range consts {
		switch {
		case !probeName.MatchString(v):
			t.Errorf("%s = %q: want a kebab-case name", name, v)
		case !documented[name]:
			t.Errorf("%s has no doc comment starting %q", name, name+":")
		case !slices.Contains(Probes, v):
			t.Errorf("%s = %q is not in Probes", name, v)
		case used[name] == 0:
			t.Errorf("%s = %q is never counted (no probe or probeIf call names it)", name, v)
		}
	}
	for name := range used {
		if _, ok := consts[name]; !ok {
			t.Errorf("a probe call names %s, which is not a Probe constant", name)
		}
	}
	seen := map[string]bool{}
	for _, p := range Probes {
		if seen[p] {
			t.Errorf("Probes lists %q twice", p)
		}
		seen[p] = true
	}
	if len(Probes) != len(consts) {
		t.Errorf("Probes has %d names, the code %d Probe constants", len(Probes), len(consts))
	}
	if !IsProbe(Probes[0]) || IsProbe("no-such-probe") {
		t.Error("IsProbe does not agree with Probes")
	}
}
