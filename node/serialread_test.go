package node

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// These tests drive one node, the only replica of every key, as proposer
// and acceptor of a serial read; its acceptor state is set up by calling
// the acceptor directly, as a peer's Prepare and Propose would.

// prepareAt makes the node's acceptor promise b for key.
func (h *harness) prepareAt(key string, b clock.Timestamp) {
	h.t.Helper()
	var p *net.Promise
	h.n.promise([]byte(key), b, func(got *net.Promise) { p = got })
	h.drain()
	if p == nil || !p.OK {
		h.t.Fatalf("prepare %s at %v: %+v, want a promise", key, b, p)
	}
}

// acceptAt makes the node's acceptor accept value for key at b.
func (h *harness) acceptAt(key, value string, b clock.Timestamp) {
	h.t.Helper()
	var a *net.Accepted
	h.n.accept([]byte(key), b, []byte(value), func(got *net.Accepted) { a = got })
	h.drain()
	if a == nil || !a.OK {
		h.t.Fatalf("propose %s=%s at %v: %+v, want accepted", key, value, b, a)
	}
}

// commitAt applies value for key stamped b, as a commit's Replicate does.
func (h *harness) commitAt(key, value string, b clock.Timestamp) {
	h.t.Helper()
	err := errNotCalled
	h.n.applyEntries([]net.Entry{{Key: []byte(key), Value: []byte(value), Stamp: b}}, func(e error) { err = e })
	h.drain()
	if err != nil {
		h.t.Fatalf("commit %s=%s at %v: %v", key, value, b, err)
	}
}

var errNotCalled = errors.New("not called")

// ballotPast returns a ballot of node 2 past everything the node has seen.
func (h *harness) ballotPast(by uint64) clock.Timestamp {
	return clock.Timestamp{Counter: h.n.Clock().Counter + by, Node: 2}
}

// readStats is what a serial read leaves in the node's counters.
type readStats struct {
	ReadOnly, Fallbacks, Attempts, Finished, Done uint64
}

func (h *harness) readStats() readStats {
	s := h.n.Stats()
	return readStats{s.PaxosReadOnly, s.PaxosReadFallbacks, s.PaxosAttempts, s.PaxosFinished, s.PaxosDone}
}

// TestSerialReadReadOnly: a serial read answers from a quorum of acceptor
// states without a ballot, a log record or an fsync — and without raising
// the acceptor's promise — unless a proposal newer than the committed
// version is in progress; then it runs a full round that finishes the
// proposal and answers with it.
func TestSerialReadReadOnly(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		want  *net.Value // Version is not compared
		// readOnly: answered at once, nothing logged; otherwise a full
		// round finished a proposal.
		readOnly bool
	}{
		{"never written", func(*harness) {}, &net.Value{}, true},
		{"committed", func(h *harness) { h.commitAt("k", "v", h.ballotPast(1)) },
			&net.Value{Found: true, Value: []byte("v")}, true},
		{"promised, nothing accepted (a writer between its phases)", func(h *harness) {
			h.commitAt("k", "v", h.ballotPast(1))
			h.prepareAt("k", h.ballotPast(5))
		}, &net.Value{Found: true, Value: []byte("v")}, true},
		{"accepted, then committed", func(h *harness) {
			h.commitAt("k", "v", h.ballotPast(1))
			b := h.ballotPast(5)
			h.prepareAt("k", b)
			h.acceptAt("k", "w", b)
			h.commitAt("k", "w", b)
		}, &net.Value{Found: true, Value: []byte("w")}, true},
		{"accepted, not committed", func(h *harness) {
			h.commitAt("k", "v", h.ballotPast(1))
			b := h.ballotPast(5)
			h.prepareAt("k", b)
			h.acceptAt("k", "w", b)
		}, &net.Value{Found: true, Value: []byte("w")}, false},
		{"accepted on a key never committed", func(h *harness) {
			b := h.ballotPast(5)
			h.prepareAt("k", b)
			h.acceptAt("k", "w", b)
		}, &net.Value{Found: true, Value: []byte("w")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.drain()
			tt.setup(h)
			var promisedBefore clock.Timestamp
			if a, ok := h.n.acceptors.Get([]byte("k")); ok {
				promisedBefore = a.Promised
			}
			logBefore, statsBefore := h.n.log.Stats(), h.readStats()

			h.request(1, &net.Get{Level: net.Serial, Key: []byte("k")})
			_, answeredAtOnce := h.replies[1]
			logRead := h.n.log.Stats()
			h.drain()

			got, ok := h.replies[1].(*net.Value)
			if !ok {
				t.Fatalf("serial get = %#v, want a value", h.replies[1])
			}
			if diff := cmp.Diff(tt.want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Version" }, cmp.Ignore())); diff != "" {
				t.Errorf("serial get (-want +got):\n%s", diff)
			}
			stats := h.readStats()
			stats.ReadOnly -= statsBefore.ReadOnly
			stats.Fallbacks -= statsBefore.Fallbacks
			stats.Attempts -= statsBefore.Attempts
			stats.Finished -= statsBefore.Finished
			stats.Done -= statsBefore.Done
			wantStats := readStats{ReadOnly: 1, Done: 1}
			if !tt.readOnly {
				// One ballot, which finishes the proposal and answers it.
				wantStats = readStats{ReadOnly: 1, Fallbacks: 1, Attempts: 1, Finished: 1, Done: 1}
			}
			if diff := cmp.Diff(wantStats, stats); diff != "" {
				t.Errorf("counters (-want +got):\n%s", diff)
			}
			if !tt.readOnly {
				return
			}
			if !answeredAtOnce {
				t.Error("the read waited for the disk: it was not answered before the pending disk work ran")
			}
			if logRead.Records != logBefore.Records || logRead.Fsyncs != logBefore.Fsyncs || logRead.Rounds != logBefore.Rounds {
				t.Errorf("the read touched the log: %+v before, %+v after", logBefore, logRead)
			}
			var promisedAfter clock.Timestamp
			if a, ok := h.n.acceptors.Get([]byte("k")); ok {
				promisedAfter = a.Promised
			}
			if promisedAfter != promisedBefore {
				t.Errorf("the read moved the acceptor's promise from %v to %v", promisedBefore, promisedAfter)
			}
		})
	}
}

// TestSerialReadDoesNotDisplaceAWriter is bug 18 at one acceptor: a
// writer has prepared, a serial read comes between its prepare and its
// propose, and the propose must still be accepted. A read that promised
// (the full round it used to be) would refuse it.
func TestSerialReadDoesNotDisplaceAWriter(t *testing.T) {
	h := newHarness(t)
	h.drain()
	h.commitAt("lock", "free/1", h.ballotPast(1))
	b := h.ballotPast(5)
	h.prepareAt("lock", b)
	for i := range 5 {
		h.request(uint64(i+1), &net.Get{Level: net.Serial, Key: []byte("lock")})
		h.drain()
		if v, ok := h.replies[uint64(i+1)].(*net.Value); !ok || string(v.Value) != "free/1" {
			t.Fatalf("serial read %d = %#v, want free/1", i+1, h.replies[uint64(i+1)])
		}
	}
	h.acceptAt("lock", "held/2", b) // fails the test if refused
}

// TestPeekFromAPeer: a peer's Peek is answered with the acceptor's state —
// the proposal in progress and the committed version — and changes
// nothing.
func TestPeekFromAPeer(t *testing.T) {
	h := newHarness(t)
	h.drain()
	v := h.ballotPast(1)
	h.commitAt("k", "v", v)
	b := h.ballotPast(5)
	h.prepareAt("k", b)
	h.acceptAt("k", "w", b)
	before, _ := h.n.acceptors.Get([]byte("k"))
	logBefore := h.n.log.Stats()
	h.sent = nil
	h.n.Deliver(2, net.Frame{ID: 7, Msg: &net.Peek{Epoch: h.n.view.Epoch, Key: []byte("k")}})
	var answers []net.Frame
	for _, f := range h.sent {
		if f.ID == 7 {
			answers = append(answers, f)
		}
	}
	if len(answers) != 1 {
		t.Fatalf("a Peek got %d answers (%+v), want 1", len(answers), h.sent)
	}
	want := &net.AcceptorState{Accepted: b, Value: []byte("w"), Found: true, Version: v, Current: []byte("v")}
	if diff := cmp.Diff(want, answers[0].Msg); diff != "" {
		t.Errorf("peek answer (-want +got):\n%s", diff)
	}
	if after, _ := h.n.acceptors.Get([]byte("k")); !cmp.Equal(before, after) {
		t.Errorf("a Peek changed the acceptor from %+v to %+v", before, after)
	}
	if logAfter := h.n.log.Stats(); logAfter != logBefore {
		t.Errorf("a Peek touched the log: %+v before, %+v after", logBefore, logAfter)
	}
}
