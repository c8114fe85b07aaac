package quorum

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/memdb/memdb/net"
)

// TestScripts runs the scripts in testdata/: joint configurations and the
// verdicts they give. Regenerate the expected output with
// go test ./node/quorum -run TestScripts -rewrite.
//
//	joint            the input's lines are the groups, one per line
//	need level=L n=N prints Need(L, N)
//	vote level=L asked=(..) yes=(..) no=(..)
//	                 prints Met(L, yes) and Result(L, asked, yes, no) for
//	                 the current joint
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var j Joint
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "joint":
				j = nil
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					if line = strings.TrimSpace(line); line != "" {
						j = append(j, parseIDs(t, d, strings.Fields(line)))
					}
				}
				return fmt.Sprintf("%v all=%v\n", [][]uint16(j), j.All())
			case "need":
				var n int
				d.ScanArgs(t, "n", &n)
				return fmt.Sprintln(Need(level(t, d), n))
			case "vote":
				asked, yes, no := ids(t, d, "asked"), ids(t, d, "yes"), ids(t, d, "no")
				if asked == nil {
					asked = j.All()
				}
				l := level(t, d)
				return fmt.Sprintf("met=%v result=%v\n", j.Met(l, yes), j.Result(l, asked, yes, no))
			default:
				t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
				return ""
			}
		})
	})
}

func level(t *testing.T, d *datadriven.TestData) net.Consistency {
	s := "quorum"
	d.MaybeScanArgs(t, "level", &s)
	l, err := net.ParseConsistency(s)
	if err != nil {
		t.Fatalf("%s: %v", d.Pos, err)
	}
	return l
}

// ids reads argument key as a list of replica ids; nil if absent.
func ids(t *testing.T, d *datadriven.TestData, key string) []uint16 {
	arg, ok := d.Arg(key)
	if !ok {
		return nil
	}
	return parseIDs(t, d, arg.Vals)
}

func parseIDs(t *testing.T, d *datadriven.TestData, ss []string) []uint16 {
	out := []uint16{}
	for _, s := range ss {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		v, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			t.Fatalf("%s: replica id %q: %v", d.Pos, s, err)
		}
		out = append(out, uint16(v))
	}
	return out
}
