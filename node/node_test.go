package node

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
)

// harness runs one node over an in-memory disk whose completions wait in a
// queue the test drains, and records the replies.
type harness struct {
	t       *testing.T
	mem     *disk.Mem
	pending []func()
	n       *Node
	replies map[uint64]net.Message
	sent    []net.Frame // to peers
	// clk is the node's clock: noClock unless a test sets one before boot.
	clk clock.Clock
}

type replies struct{ h *harness }

func (r replies) Send(_ net.Peer, f net.Frame)    { r.h.sent = append(r.h.sent, f) }
func (r replies) Reply(_ net.ConnID, f net.Frame) { r.h.replies[f.ID] = f.Msg }

// noClock never fires its timers: these tests drive the node by hand.
type noClock struct{}

type noTimer struct{}

func (noTimer) Stop() bool { return true }

func (noClock) Now() time.Time                              { return time.Time{} }
func (noClock) AfterFunc(time.Duration, func()) clock.Timer { return noTimer{} }

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, replies: map[uint64]net.Message{}}
	h.mem = disk.NewMem(rand.New(rand.NewPCG(1, 2)), func(f func()) { h.pending = append(h.pending, f) })
	h.boot()
	return h
}

func (h *harness) boot() {
	h.t.Helper()
	clk := h.clk
	if clk == nil {
		clk = noClock{}
	}
	n, err := New(DefaultConfig(1), Env{
		Clock: clk, Transport: replies{h}, Disk: h.mem,
		Rand: rand.New(rand.NewPCG(3, 4)), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.n = n
}

func (h *harness) drain() {
	for len(h.pending) > 0 {
		f := h.pending[0]
		h.pending = h.pending[1:]
		f()
	}
}

// crash power-fails the disk and boots a new node on it.
func (h *harness) crash() {
	h.mem.Crash()
	h.pending = nil
	h.boot()
}

func (h *harness) request(id uint64, m net.Message) {
	h.n.Request(1, net.Frame{ID: id, Msg: m})
}

// A write is neither visible nor acknowledged until its log record is
// durable: a read in between sees the old value.
func TestWriteAppliedOnlyWhenDurable(t *testing.T) {
	h := newHarness(t)
	h.request(1, &net.Set{Key: []byte("k"), Value: []byte("v")})
	h.request(2, &net.Get{Key: []byte("k")})
	if _, ok := h.replies[1]; ok {
		t.Fatal("the write was acknowledged before its sync completed")
	}
	if v := h.replies[2].(*net.Value); v.Found {
		t.Fatalf("a read before the sync saw %q", v.Value)
	}
	h.drain()
	if _, ok := h.replies[1].(*net.Done); !ok {
		t.Fatalf("after the sync the write got %#v, want done", h.replies[1])
	}
	h.request(3, &net.Get{Key: []byte("k")})
	if v := h.replies[3].(*net.Value); string(v.Value) != "v" {
		t.Fatalf("read after the ack = %q, want v", v.Value)
	}
}

// After a crash the node replays its log: acknowledged writes are there,
// and its Lamport clock starts after every stamp it issued, so a new write
// wins over an old one.
func TestRestartKeepsWritesAndClock(t *testing.T) {
	h := newHarness(t)
	for i := range 20 {
		h.request(uint64(i+1), &net.Set{Key: []byte("k"), Value: []byte{byte('a' + i)}})
		h.drain()
	}
	last := h.replies[20].(*net.Done).Version
	h.request(100, &net.Set{Key: []byte("k"), Value: []byte("never synced")})
	h.crash()
	if got := h.n.Clock(); got.Counter < last.Counter {
		t.Fatalf("clock after restart %v is behind the last acknowledged stamp %v", got, last)
	}
	h.request(101, &net.Get{Key: []byte("k")})
	v := h.replies[101].(*net.Value)
	if string(v.Value) != "t" && string(v.Value) != "never synced" {
		t.Fatalf("after the crash k = %q, want the last acknowledged value t (or the unacknowledged one)", v.Value)
	}
	h.request(102, &net.Set{Key: []byte("k"), Value: []byte("new")})
	h.drain()
	if d := h.replies[102].(*net.Done); !v.Version.Less(d.Version) {
		t.Fatalf("a write after the restart is stamped %v, not after the replayed %v", d.Version, v.Version)
	}
	h.request(103, &net.Get{Key: []byte("k")})
	if got := h.replies[103].(*net.Value); string(got.Value) != "new" {
		t.Fatalf("k = %q after a write made after the restart, want new", got.Value)
	}
}

// A coordinator may send a stamp to replicas without ever logging it
// itself. After a crash it must not issue that stamp again: the durable
// lease starts the clock past every counter it could have used.
func TestRestartNeverReusesAStampItNeverLogged(t *testing.T) {
	h := newHarness(t)
	h.drain() // the first lease is durable
	sent := h.n.lamport.Tick()
	h.crash()
	if got := h.n.Clock(); !sent.Less(got) {
		t.Fatalf("clock after restart %v is not past %v, a stamp the node used before the crash", got, sent)
	}
}

// A compaction that starts while a write is appended but not yet synced
// builds its base without that write in the store; the swap then drops the
// segment holding it. The base must carry it, or a crash after the swap
// loses a write that was acknowledged (PAPER bug 27, found by churn seed 40).
func TestCompactionKeepsAWriteInFlight(t *testing.T) {
	h := newHarness(t)
	h.drain()
	h.request(1, &net.Set{Key: []byte("old"), Value: []byte("v")})
	h.drain()
	h.request(2, &net.Set{Key: []byte("k"), Value: []byte("in flight")})
	compacted := errors.New("compaction never finished")
	h.n.Compact(func(_ CompactResult, err error) { compacted = err })
	h.drain()
	if _, ok := h.replies[2].(*net.Done); !ok || compacted != nil {
		t.Fatalf("write answered %#v, compaction %v; want both done", h.replies[2], compacted)
	}
	h.crash()
	h.request(3, &net.Get{Key: []byte("k")})
	if v, ok := h.replies[3].(*net.Value); !ok || string(v.Value) != "in flight" {
		t.Fatalf("after the crash k = %#v, want the acknowledged write", h.replies[3])
	}
}

// A node on the ring that restarts with another count of virtual tokens
// refuses to start: its tokens, and so its ranges, would move without
// being streamed.
func TestVnodesChangeRefused(t *testing.T) {
	h := newHarness(t)
	h.drain()
	h.mem.Crash()
	h.pending = nil
	cfg := DefaultConfig(1)
	cfg.Vnodes = 16
	n, err := New(cfg, Env{Clock: noClock{}, Transport: replies{h}, Disk: h.mem,
		Rand: rand.New(rand.NewPCG(3, 4)), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); !errors.Is(err, ErrVnodesChanged) {
		t.Fatalf("restart with 16 vnodes after joining with %d: %v, want ErrVnodesChanged", DefaultConfig(1).Vnodes, err)
	}
}
