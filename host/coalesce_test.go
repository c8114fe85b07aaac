package host

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRESPAcknowledgedIsWritten: under fsync none the log coalesces the
// writes of what one read brought (runLocked flushes it), and a reply
// leaves only once what it acknowledges is written to the OS, where a
// kill -9 cannot take it: every value acknowledged is in the log's files
// by the time its reply is read.
func TestRESPAcknowledgedIsWritten(t *testing.T) {
	s := startRESPServer(t, "")
	c := dialRESP(t, s.RESPAddr())
	var cmds strings.Builder
	const n = 16
	for i := range n {
		fmt.Fprintf(&cmds, "SET coalesced-%d value-%d-written\r\n", i, i)
	}
	c.send(cmds.String())
	for i := range n {
		if r := c.reply(); r != "+OK\r\n" {
			t.Fatalf("set %d: %q", i, r)
		}
	}
	logs, err := filepath.Glob(filepath.Join(s.cfg.DataDir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no log segment in %s: %v", s.cfg.DataDir, err)
	}
	var all []byte
	for _, name := range logs {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for i := range n {
		if !bytes.Contains(all, fmt.Appendf(nil, "value-%d-written", i)) {
			t.Errorf("SET coalesced-%d was acknowledged but its record is not in the log's files", i)
		}
	}
}
