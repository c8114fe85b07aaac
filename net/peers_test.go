package net

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	stdnet "net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/memdb/memdb/clock"
)

// logSink is a slog handler that keeps records, with when they arrived.
type logSink struct {
	mu      sync.Mutex
	records []logRecord
}

type logRecord struct {
	at    time.Time
	level slog.Level
	msg   string
	attrs string
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *logSink) WithGroup(string) slog.Handler            { return s }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value); return true })
	s.mu.Lock()
	s.records = append(s.records, logRecord{at: time.Now(), level: r.Level, msg: r.Message, attrs: b.String()})
	s.mu.Unlock()
	return nil
}

// matching returns the records whose message contains msg.
func (s *logSink) matching(msg string) []logRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logRecord
	for _, r := range s.records {
		if strings.Contains(r.msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

func newPeers(t *testing.T, cfg PeersConfig) *Peers {
	t.Helper()
	if cfg.Node == 0 {
		cfg.Node = 7
	}
	ps := NewPeers(cfg)
	t.Cleanup(ps.Close)
	return ps
}

// replicate returns a peer frame with id i.
func replicate(i int) Frame {
	return Frame{ID: uint64(i), Clock: clock.Timestamp{Counter: uint64(i), Node: 7}, Msg: &Replicate{
		Epoch:   3,
		Entries: []Entry{{Key: fmt.Appendf(nil, "key%d", i), Value: []byte("value"), Stamp: clock.Timestamp{Counter: uint64(i + 1), Node: 7}}},
	}}
}

// eventually polls cond, sending a frame before each try, until it holds.
// The deadline only turns a hang into a failure.
func eventually(t *testing.T, what string, try func(i int) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !try(i); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %d tries (hang)", what, i)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestPeersDeliver: frames sent to a peer arrive in order, as a peer with
// our id; what the peer answers on that connection reaches Deliver with
// the peer's id.
func TestPeersDeliver(t *testing.T) {
	rec := newRecorder()
	rec.answer = func(f Frame) *Frame {
		return &Frame{ID: f.ID, Msg: &Done{Version: clock.Timestamp{Counter: f.ID, Node: 42}}}
	}
	s := listen(t, ServerConfig{Node: 42, ClusterKey: []byte("pk"), ClientKey: []byte("ck"), Handler: rec})
	var mu sync.Mutex
	var answers []Frame
	var froms []NodeID
	ps := newPeers(t, PeersConfig{Key: []byte("pk"), Deliver: func(from NodeID, fs []Frame) {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range fs {
			answers = append(answers, f)
			froms = append(froms, from)
		}
	}})
	const n = 500
	var want []Frame
	for i := range n {
		f := replicate(i + 1)
		ps.Send(Peer{ID: 42, Addr: s.Addr()}, f)
		want = append(want, f)
	}
	rec.waitFor(t, n)
	rec.mu.Lock()
	got, from, roles := rec.frames, rec.from, rec.roles
	rec.mu.Unlock()
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Fatalf("frames received (-want +got):\n%s", diff)
	}
	for i := range got {
		if from[i] != 7 || roles[i] != RolePeer {
			t.Fatalf("frame %d came from node %d as %s, want node 7 as peer", i, from[i], roles[i])
		}
	}
	eventually(t, "every answer delivered", func(int) bool {
		mu.Lock()
		defer mu.Unlock()
		return len(answers) == n
	})
	for i, f := range answers {
		if froms[i] != 42 || f.ID != uint64(i+1) || f.Msg.Kind() != KindDone {
			t.Fatalf("answer %d: %+v from node %d, want done %d from node 42", i, f, froms[i], i+1)
		}
	}
	st := ps.Stats()
	if st.Sent != n || st.Dropped() != 0 || st.Connects != 1 || st.Reconnects != 0 || st.Connected != 1 {
		t.Errorf("stats %+v, want %d sent, none dropped, one connection", st, n)
	}
	if diff := cmp.Diff([]PeerStatus{{Addr: s.Addr(), Node: 42, State: "up"}}, ps.Status()); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}
}

// TestPeersReconnect: after the peer restarts on the same address, frames
// reach the new process.
func TestPeersReconnect(t *testing.T) {
	rec1 := newRecorder()
	s1, err := Listen("127.0.0.1:0", ServerConfig{Node: 42, Handler: rec1})
	if err != nil {
		t.Fatal(err)
	}
	addr := s1.Addr()
	ps := newPeers(t, PeersConfig{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	to := Peer{ID: 42, Addr: addr}
	ps.Send(to, replicate(1))
	rec1.waitFor(t, 1)
	s1.Close()

	rec2 := newRecorder()
	s2 := listen2(t, addr, ServerConfig{Node: 42, Handler: rec2})
	defer s2.Close()
	eventually(t, "a frame reached the restarted peer", func(i int) bool {
		ps.Send(to, replicate(i+2))
		return rec2.count() > 0
	})
	st := ps.Stats()
	if st.Connects != 2 || st.Reconnects != 1 {
		t.Errorf("stats %+v, want 2 connects, 1 reconnect", st)
	}
	if st.Sent < 2 {
		t.Errorf("stats %+v, want at least 2 sent", st)
	}
}

// listen2 listens on a given address, retrying while the old listener's
// port is still being released.
func listen2(t *testing.T, addr string, cfg ServerConfig) *Server {
	t.Helper()
	var s *Server
	eventually(t, "listen again on "+addr, func(int) bool {
		var err error
		s, err = Listen(addr, cfg)
		return err == nil
	})
	return s
}

// TestPeersAuthBackoff: a peer that refuses our cluster key is logged and
// redialed with exponential backoff, never in a tight loop, while Send goes
// on returning at once.
func TestPeersAuthBackoff(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := &timingListener{Listener: ln}
	s, err := Serve(tl, ServerConfig{Node: 42, ClusterKey: []byte("right"), Handler: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peersLog := &logSink{}
	const minB, maxB = 20 * time.Millisecond, 80 * time.Millisecond
	ps := newPeers(t, PeersConfig{Key: []byte("wrong"), Log: slog.New(peersLog), MinBackoff: minB, MaxBackoff: maxB})
	sends := 0
	eventually(t, "six refused attempts", func(i int) bool {
		ps.Send(Peer{ID: 42, Addr: s.Addr()}, replicate(i))
		sends++
		return ps.Stats().DialFailures >= 6
	})
	accepts := tl.times()
	// The server accepted attempt k before it refused it, and attempt k+1
	// was dialed at least the k-th backoff delay after that refusal: so the
	// accepts are that far apart, and the delay is at least half of
	// min(minB·2^(k-1), maxB).
	for k := 1; k < len(accepts); k++ {
		gap := accepts[k].Sub(accepts[k-1])
		floor := min(minB<<(k-1), maxB) / 2
		if gap < floor {
			t.Errorf("attempt %d came %v after attempt %d, want at least %v (backoff)", k+1, gap, k, floor)
		}
	}
	warned := peersLog.matching("refused the cluster key")
	if len(warned) < 6 || warned[0].level != slog.LevelWarn {
		t.Errorf("%d warnings logged for the refused key, want one per attempt; logs: %+v", len(warned), peersLog.records)
	}
	st := ps.Stats()
	if st.Sent != 0 || st.Connects != 0 || st.Dropped() != uint64(sends) {
		t.Errorf("stats %+v after %d sends, want nothing sent and all %d dropped", st, sends, sends)
	}
	t.Logf("%d sends, %d dial attempts", sends, len(accepts))
}

// timingListener records when each connection was accepted.
type timingListener struct {
	stdnet.Listener
	mu sync.Mutex
	at []time.Time
}

func (l *timingListener) Accept() (stdnet.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.at = append(l.at, time.Now())
		l.mu.Unlock()
	}
	return c, err
}

func (l *timingListener) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.at...)
}

// deadAddr returns an address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentListener accepts connections and never writes to them, so a
// handshake with it hangs until the dialer gives up.
func silentListener(t *testing.T) string {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []stdnet.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// stuckServer is a real server whose handler never returns, so it stops
// reading after the first frames and TCP pushes back on the sender.
func stuckServer(t *testing.T) *Server {
	rec := newRecorder()
	rec.block = make(chan struct{})
	s, err := Listen("127.0.0.1:0", ServerConfig{Node: 42, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(rec.block)
		s.Close()
	})
	return s
}

// TestSendNeverBlocks sends many frames to peers that cannot take them:
// nothing listening, a listener that never answers the handshake, and a
// server that stopped reading. Every Send returns (the test finishes), and
// every frame is accounted for.
func TestSendNeverBlocks(t *testing.T) {
	big := Frame{ID: 1, Msg: &Gossip{Payload: bytes.Repeat([]byte{'g'}, 32<<10)}}
	tests := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"nothing listening", deadAddr},
		{"handshake never answered", silentListener},
		{"peer stopped reading", func(t *testing.T) string { return stuckServer(t).Addr() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := NewPeers(PeersConfig{Node: 7, QueueBytes: 1 << 20, DialTimeout: time.Minute, WriteTimeout: time.Minute, CloseTimeout: 50 * time.Millisecond})
			to := Peer{ID: 42, Addr: tt.addr(t)}
			const n = 5000 // 160 MiB offered, far over the socket buffers and the queue
			for range n {
				ps.Send(to, big)
			}
			st := ps.Stats()
			if st.Dropped() == 0 {
				t.Errorf("stats %+v: %d frames of 32 KiB to a peer that cannot take them, none dropped", st, n)
			}
			closed := make(chan struct{})
			go func() { ps.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(20 * time.Second):
				t.Fatal("Close hangs")
			}
			st = ps.Stats()
			if st.Sent+st.Dropped() != n {
				t.Errorf("stats %+v: sent+dropped = %d, want all %d frames accounted for", st, st.Sent+st.Dropped(), n)
			}
			ps.Send(to, big) // after Close: dropped, no goroutine, no panic
			if got := ps.Stats().Dropped(); got != st.Dropped()+1 {
				t.Errorf("a Send after Close: dropped %d, want %d", got, st.Dropped()+1)
			}
		})
	}
}

// TestCloseFlushes: Close writes what is queued to a connected peer before
// it closes.
func TestCloseFlushes(t *testing.T) {
	rec := newRecorder()
	s := listen(t, ServerConfig{Node: 42, Handler: rec})
	ps := NewPeers(PeersConfig{Node: 7})
	to := Peer{Addr: s.Addr()}
	ps.Send(to, replicate(1))
	rec.waitFor(t, 1)
	const n = 300
	for i := range n {
		ps.Send(to, replicate(i+2))
	}
	ps.Close()
	rec.waitFor(t, n+1)
	if st := ps.Stats(); st.Sent != n+1 || st.Dropped() != 0 {
		t.Errorf("stats %+v, want %d sent, none dropped", st, n+1)
	}
}

// TestQueueBound: frames over the queue bound are dropped (newest first)
// while a dial is pending, and the ones kept arrive in order.
func TestQueueBound(t *testing.T) {
	// A listener that answers the handshake only when told to.
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	rec := newRecorder()
	held := &heldListener{Listener: ln, release: release}
	s, err := Serve(held, ServerConfig{Node: 42, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	one := len(Encode(replicate(1)))
	// Ids 1 to 9 take one byte less than 10 to 25.
	ps := newPeers(t, PeersConfig{QueueBytes: 10*one + 5})
	to := Peer{Addr: s.Addr()}
	for i := range 25 {
		ps.Send(to, replicate(i+1))
	}
	close(release)
	rec.waitFor(t, 10)
	ps.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var ids []uint64
	for _, f := range rec.frames {
		ids = append(ids, f.ID)
	}
	if diff := cmp.Diff([]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ids); diff != "" {
		t.Errorf("ids received (-want +got):\n%s", diff)
	}
	if st := ps.Stats(); st.DroppedFull != 15 || st.Sent != 10 {
		t.Errorf("stats %+v, want 10 sent, 15 dropped for a full queue", st)
	}
}

// heldListener holds accepted connections until release is closed.
type heldListener struct {
	stdnet.Listener
	release chan struct{}
}

func (l *heldListener) Accept() (stdnet.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		<-l.release
	}
	return c, err
}

// BenchmarkPeersSend measures peer messages per second over loopback: a
// 60-byte Replicate of one entry, sent by one goroutine (the node's loop)
// and counted by the receiving server.
//
//	go test -run='^$' -bench=PeersSend -benchtime=200000x ./net
func BenchmarkPeersSend(b *testing.B) {
	var mu sync.Mutex
	got := 0
	done := make(chan struct{})
	want := b.N
	h := &countHandler{f: func(n int) {
		mu.Lock()
		got += n
		if got == want {
			close(done)
		}
		mu.Unlock()
	}}
	s, err := Listen("127.0.0.1:0", ServerConfig{Node: 42, Handler: h})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ps := NewPeers(PeersConfig{Node: 7, QueueBytes: 1 << 30})
	defer ps.Close()
	f := replicate(1)
	b.SetBytes(int64(len(Encode(f))))
	b.ResetTimer()
	for range b.N {
		ps.Send(Peer{Addr: s.Addr()}, f)
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if st := ps.Stats(); st.Dropped() != 0 {
		b.Fatalf("dropped %d", st.Dropped())
	}
}

type countHandler struct{ f func(int) }

func (h *countHandler) Frames(_ *Conn, fs []Frame) { h.f(len(fs)) }
func (h *countHandler) Closed(*Conn)               {}
