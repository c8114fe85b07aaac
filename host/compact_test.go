package host

import (
	"fmt"
	"testing"

	"github.com/memdb/memdb/net"
)

// Compaction over the wire shrinks an overwrite-heavy log, and a restart
// on the compacted directory serves the same state.
func TestCompactThenRestart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "", t.TempDir()
	s, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, s.Addr())
	c.login("")
	id := uint64(1)
	for round := range 5 {
		for k := range 50 {
			id++
			c.call(id, &net.Set{Key: fmt.Appendf(nil, "k%d", k), Value: fmt.Appendf(nil, "round %d value %d", round, k)})
		}
	}
	id++
	c.call(id, &net.Delete{Key: []byte("k7")})
	before := dirBytes(cfg.DataDir)
	id++
	if m := c.call(id, &net.Compact{}); m.Kind() != net.KindDone {
		t.Fatalf("compact answered %#v", m)
	}
	after := dirBytes(cfg.DataDir)
	if after >= before {
		t.Fatalf("compaction did not shrink the log: %d bytes before, %d after", before, after)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Start(cfg, nil)
	if err != nil {
		t.Fatalf("restart after compaction: %v", err)
	}
	defer s2.Close()
	c2 := dialRaw(t, s2.Addr())
	c2.login("")
	for k := range 50 {
		got := c2.call(uint64(k+1), &net.Get{Key: fmt.Appendf(nil, "k%d", k)}).(*net.Value)
		want := fmt.Sprintf("round 4 value %d", k)
		if k == 7 {
			if got.Found {
				t.Fatalf("deleted k7 came back as %q", got.Value)
			}
			continue
		}
		if !got.Found || string(got.Value) != want {
			t.Fatalf("k%d = %q (found %v), want %q", k, got.Value, got.Found, want)
		}
	}
	t.Logf("log %d bytes before compaction, %d after", before, after)
}
