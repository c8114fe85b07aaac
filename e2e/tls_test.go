package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memdb/memdb/net/tlstest"
)

// memdbd with TLS reads a renewed certificate on SIGHUP and goes on
// serving with it.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	ca := tlstest.NewCA(t, "memdb CA")
	dir := t.TempDir()
	caFile := ca.File(t, dir, "ca")
	cert, key := ca.Issue(t, "first").Files(t, dir, "node")
	d := startDaemon(t, "-tls-cert", cert, "-tls-key", key)
	if out, stderr, code := memdb(t, "", "-addr", d.addr, "-tls-ca", caFile, "set", "k", "v"); code != 0 {
		t.Fatalf("set over TLS: exit %d, %q %q", code, out, stderr)
	}
	renewed := ca.Issue(t, "renewed")
	if err := os.WriteFile(cert, renewed.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, renewed.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.log.String(), "reloaded the TLS certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged 20 s after SIGHUP:\n%s", d.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, stderr, code := memdb(t, "", "-addr", d.addr, "-tls-ca", caFile, "get", "k"); code != 0 || out != "v\n" {
		t.Fatalf("get over TLS after the reload: exit %d, %q %q", code, out, stderr)
	}
}
