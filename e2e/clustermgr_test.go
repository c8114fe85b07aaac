package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The cluster manager with real processes: memdb cluster status through
// any node lists the three members; memdb cluster shutdown, sent to node 1,
// stops node 3 gracefully (exit 0 after its stopped line), and a forced
// one stops node 2 at once; the status then marks both unreachable. The
// admin key is required throughout.
func TestClusterManager(t *testing.T) {
	c := newCluster(t, 3, 3)
	for _, n := range c.nodes {
		n.extra = []string{"-admin-key", "adm-e2e"}
	}
	c.startAll()
	c.waitNormal(30 * time.Second)

	line := regexp.MustCompile(`^(\d) (\S+) normal alive (\d+)$`)
	for _, via := range []int{1, 2} {
		out, stderr, code := memdb(t, "", "-addr", c.addrs(via), "cluster", "status")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 3 {
			t.Fatalf("memdb cluster status via node %d: exit %d, stdout %q, stderr %q; want 3 lines", via, code, out, stderr)
		}
		for i, l := range lines {
			m := line.FindStringSubmatch(l)
			if m == nil || m[1] != string(rune('1'+i)) || m[2] != c.node(i+1).listen {
				t.Errorf("via node %d, line %d: %q, want %d %s normal alive KEYS", via, i+1, l, i+1, c.node(i+1).listen)
			}
		}
	}

	// Without the admin key: refused, and node 3 goes on.
	_, stderr, code := memdb(t, "", "-addr", c.addrs(1), "cluster", "shutdown", "3")
	if code != 1 || !strings.Contains(stderr, "admin key") {
		t.Fatalf("cluster shutdown without the admin key: exit %d, stderr %q; want 1 and a refusal", code, stderr)
	}

	n3 := c.node(3).d
	out, stderr, code := memdb(t, "", "-addr", c.addrs(1), "-admin-key", "adm-e2e", "cluster", "shutdown", "3")
	if code != 0 || out != "ok\n" {
		t.Fatalf("cluster shutdown 3 via node 1: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	c.waitExit(3, time.Now())
	if !strings.Contains(n3.log.String(), "reason=\"admin API\"") {
		t.Errorf("node 3 did not stop gracefully through the admin API:\n%s", n3.log)
	}

	n2 := c.node(2).d
	out, stderr, code = memdb(t, "", "-addr", c.addrs(1), "-admin-key", "adm-e2e", "cluster", "shutdown", "2", "force")
	if code != 0 || out != "ok\n" {
		t.Fatalf("cluster shutdown 2 force via node 1: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	select {
	case <-n2.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("node 2 still running 20 s after a forced shutdown:\n%s", n2.log)
	}
	if code := n2.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(n2.log.String(), "stopped at once") {
		t.Errorf("node 2 exited %d after a forced shutdown, want 0 and its line:\n%s", code, n2.log)
	}
	c.node(2).d = nil

	out, stderr, code = memdb(t, "", "-addr", c.addrs(1), "cluster", "status")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasSuffix(lines[1], " -") || !strings.HasSuffix(lines[2], " -") || strings.HasSuffix(lines[0], " -") {
		t.Fatalf("cluster status after the shutdowns: exit %d, stdout %q, stderr %q; want nodes 2 and 3 without keys (unreachable)", code, out, stderr)
	}
	t.Logf("after the shutdowns:\n%s", out)
}
