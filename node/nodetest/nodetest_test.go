package nodetest

import (
	"flag"
	"os"
	"testing"

	"github.com/cockroachdb/datadriven"
)

var showLog = flag.Bool("nodelog", false, "write the nodes' debug logs to stderr")

// TestScripts runs every script under testdata/ on a fresh cluster.
// Regenerate the expected output with
// go test ./node/nodetest -run TestScripts -rewrite.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		c := New()
		if *showLog {
			c.Log = os.Stderr
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return c.Handle(t, d)
		})
	})
}
