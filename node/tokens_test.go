package node

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/oplog"
)

// A member with explicit tokens is logged as a TypeMemberTokens record and
// read back whole; one without keeps the TypeMember record it always had.
func TestMemberRecordTokens(t *testing.T) {
	for _, m := range []gossip.Member{
		{ID: 3, Addr: "n3:7400", Incarnation: 9, State: gossip.Suspect, Ring: 3, Tokens: []uint64{0, 30000, 1<<64 - 1}},
		{ID: 4, Addr: "n4:7400", Incarnation: 1, Ring: 1, Vnodes: 256},
	} {
		r := memberRecord(m)
		want := oplog.TypeMember
		if len(m.Tokens) > 0 {
			want = oplog.TypeMemberTokens
		}
		if r.Type != want {
			t.Errorf("member %d: record type %v, want %v", m.ID, r.Type, want)
		}
		got, err := parseMember(r)
		if err != nil || gossip.Compare(got, m) != 0 || got.ID != m.ID {
			t.Errorf("member %d: parse(record) = %v (tokens %v), %v; want %v (tokens %v)", m.ID, got, got.Tokens, err, m, m.Tokens)
		}
	}
	bad := memberRecord(gossip.Member{ID: 5, Addr: "n5", Ring: 1, Tokens: []uint64{7}})
	bad.Value = bad.Value[:4] // cut inside the token list
	if _, err := parseMember(bad); err == nil {
		t.Error("a member record cut inside its tokens parsed")
	}
}

// A node that joined with explicit tokens refuses to start with others, or
// with virtual ones; with the same ones it starts.
func TestTokensChangeRefused(t *testing.T) {
	h := newHarness(t)
	h.drain()
	boot := func(vnodes int, tokens []uint64) error {
		h.mem.Crash()
		h.pending = nil
		cfg := DefaultConfig(1)
		cfg.Vnodes, cfg.Tokens = vnodes, tokens
		n, err := New(cfg, Env{Clock: noClock{}, Transport: replies{h}, Disk: h.mem,
			Rand: rand.New(rand.NewPCG(3, 4)), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return err
		}
		err = n.Start()
		h.drain()
		return err
	}
	// The harness's node joined with the default virtual tokens.
	if err := boot(DefaultConfig(1).Vnodes, []uint64{42}); !errors.Is(err, ErrVnodesChanged) {
		t.Fatalf("restart with explicit tokens after joining with virtual ones: %v, want ErrVnodesChanged", err)
	}
	if err := boot(DefaultConfig(1).Vnodes, nil); err != nil {
		t.Fatalf("restart with what it joined with: %v", err)
	}
}

// A node whose explicit token a member on the ring holds is told so before
// it would join.
func TestTokensFree(t *testing.T) {
	h := &harness{t: t, replies: map[uint64]net.Message{}}
	h.mem = disk.NewMem(rand.New(rand.NewPCG(1, 2)), func(f func()) { h.pending = append(h.pending, f) })
	cfg := DefaultConfig(1)
	cfg.Tokens = []uint64{42, 7}
	n, err := New(cfg, Env{Clock: noClock{}, Transport: replies{h}, Disk: h.mem,
		Rand: rand.New(rand.NewPCG(3, 4)), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.tokensFree(); err != nil {
		t.Fatalf("alone: %v", err)
	}
	n.gossip.Restore([]gossip.Member{{ID: 2, Addr: "b", Ring: 3, Tokens: []uint64{8, 9}}, {ID: 3, Addr: "c", Ring: 6, State: gossip.Left, Tokens: []uint64{42}}})
	if err := n.tokensFree(); err != nil {
		t.Fatalf("no token shared (node 3 left): %v", err)
	}
	n.gossip.Restore([]gossip.Member{{ID: 4, Addr: "d", Ring: 1, Tokens: []uint64{7}}})
	if err := n.tokensFree(); !errors.Is(err, ErrTokenTaken) {
		t.Fatalf("node 4 holds token 7: %v, want ErrTokenTaken", err)
	}
}
