package net

import (
	"errors"
	"testing"

	"github.com/memdb/memdb/clock"
)

// paxosSamples holds frames of the kinds in paxos.go, with their body bytes
// written out by hand from doc.go's tables; samples includes them.
func paxosSamples() []sample {
	ballot := []byte{0, 0, 0, 0, 0, 0, 0, 9, 0x00, 0x02} // counter 9, node 2
	zero := make([]byte, 10)
	return []sample{
		{"cas", Frame{ID: 40, Clock: testClock, Msg: &CAS{Key: []byte("k"), OldFound: true, Old: []byte("a"), New: []byte("bc")}},
			cat([]byte{0, 1, 'k'}, []byte{1}, []byte{0, 0, 0, 1, 'a'}, []byte{0, 0, 0, 2, 'b', 'c'})},
		{"cas on absence", Frame{ID: 41, Msg: &CAS{Key: []byte("k"), New: []byte{}}},
			cat([]byte{0, 1, 'k'}, []byte{0}, []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0})},
		{"prepare", Frame{ID: 42, Clock: testClock, Msg: &Prepare{Epoch: 3, Ballot: testBallot, Key: []byte("k")}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, ballot, []byte{0, 1, 'k'})},
		{"promise with accepted", Frame{ID: 42, Msg: &Promise{OK: true, Accepted: testBallot, Value: []byte("v"), Found: true, Version: testBallot, Current: []byte("w")}},
			cat([]byte{1}, zero, ballot, []byte{0, 0, 0, 1, 'v'}, []byte{1}, ballot, []byte{0, 0, 0, 1, 'w'})},
		{"promise refused", Frame{ID: 42, Msg: &Promise{Promised: testBallot}},
			cat([]byte{0}, ballot, zero, []byte{0, 0, 0, 0}, []byte{0}, zero, []byte{0, 0, 0, 0})},
		{"propose", Frame{ID: 43, Msg: &Propose{Epoch: 3, Ballot: testBallot, Key: []byte("k"), Value: []byte("v")}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, ballot, []byte{0, 1, 'k'}, []byte{0, 0, 0, 1, 'v'})},
		{"accepted", Frame{ID: 43, Msg: &Accepted{OK: true}}, cat([]byte{1}, zero, zero)},
		{"accepted refused", Frame{ID: 43, Msg: &Accepted{Promised: testBallot, Accepted: testBallot}}, cat([]byte{0}, ballot, ballot)},
		{"peek", Frame{ID: 44, Clock: testClock, Msg: &Peek{Epoch: 3, Key: []byte("k")}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte{0, 1, 'k'})},
		{"acceptor state with accepted", Frame{ID: 44, Msg: &AcceptorState{Accepted: testBallot, Value: []byte("v"), Found: true, Version: testBallot, Current: []byte("w")}},
			cat(ballot, []byte{0, 0, 0, 1, 'v'}, []byte{1}, ballot, []byte{0, 0, 0, 1, 'w'})},
		{"acceptor state of a tombstone", Frame{ID: 44, Msg: &AcceptorState{Version: testBallot}},
			cat(zero, []byte{0, 0, 0, 0}, []byte{0}, ballot, []byte{0, 0, 0, 0})},
		{"acceptor state of nothing", Frame{ID: 44, Msg: &AcceptorState{}},
			cat(zero, []byte{0, 0, 0, 0}, []byte{0}, zero, []byte{0, 0, 0, 0})},
		{"digest", Frame{ID: 45, Clock: testClock, Msg: &Digest{Epoch: 3, Spans: []Span{{Start: 1, End: 2}}}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 2})},
		{"digest reply", Frame{ID: 45, Msg: &DigestReply{Sums: []uint64{7, 1 << 63}}},
			cat([]byte{0, 0, 0, 2}, []byte{0, 0, 0, 0, 0, 0, 0, 7}, []byte{0x80, 0, 0, 0, 0, 0, 0, 0})},
		{"paxos keys", Frame{ID: 46, Clock: testClock, Msg: &PaxosKeys{Epoch: 3, Spans: []Span{{Start: 1, End: 2}}}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 2}, []byte{0}, []byte{0, 0, 0, 0})},
		{"paxos keys states after", Frame{ID: 46, Clock: testClock, Msg: &PaxosKeys{Epoch: 3, States: true, After: []byte("k")}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte{0, 0, 0, 0}, []byte{1}, []byte{0, 0, 0, 1, 'k'})},
		{"paxos keys reply", Frame{ID: 46, Msg: &PaxosKeysReply{Keys: [][]byte{[]byte("a"), []byte("bc")}}},
			cat([]byte{0, 0, 0, 2}, []byte{0, 1, 'a'}, []byte{0, 2, 'b', 'c'}, []byte{0}, []byte{0})},
		{"take", Frame{ID: 47, Clock: testClock, Msg: &Take{Epoch: 3, Spans: []Span{{Start: 1, End: 2}}, From: []uint16{2, 5}}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 2}, []byte{0, 2, 0, 2, 0, 5})},
		{"paxos keys reply states", Frame{ID: 46, Msg: &PaxosKeysReply{Keys: [][]byte{[]byte("a")}, States: []Acceptor{{Promised: clock.Timestamp{Counter: 9, Node: 2}, Accepted: clock.Timestamp{Counter: 9, Node: 2}, Value: []byte("v")}}, More: true}},
			cat([]byte{0, 0, 0, 1}, []byte{0, 1, 'a'}, []byte{1}, ballot, ballot, []byte{0, 0, 0, 1, 'v'}, []byte{1})},
	}
}

// TestPaxosRejected feeds intact Paxos frames with bad bodies.
func TestPaxosRejected(t *testing.T) {
	epoch := []byte{0, 0, 0, 0, 0, 0, 0, 1}
	ballot := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 1}
	zero := make([]byte, 10)
	tests := []struct {
		name  string
		buf   []byte
		errIs error
	}{
		{"cas on absence with old bytes", raw(KindCAS, 5, cat([]byte{0, 1, 'k', 0}, []byte{0, 0, 0, 1, 'a'}, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"cas empty key", raw(KindCAS, 5, cat([]byte{0, 0, 1}, []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0})...), ErrBadKey},
		{"cas no new value", raw(KindCAS, 5, cat([]byte{0, 1, 'k', 1}, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"cas old found byte 2", raw(KindCAS, 5, cat([]byte{0, 1, 'k', 2}, []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"cas new over MaxValue", raw(KindCAS, 5, cat([]byte{0, 1, 'k', 1}, []byte{0, 0, 0, 0}, []byte{0x00, 0x80, 0x00, 0x01})...), ErrTooLarge},
		{"prepare zero ballot", raw(KindPrepare, 5, cat(epoch, zero, []byte{0, 1, 'k'})...), ErrMalformed},
		{"prepare trailing byte", raw(KindPrepare, 5, cat(epoch, ballot, []byte{0, 1, 'k', 0})...), ErrMalformed},
		{"propose zero ballot", raw(KindPropose, 5, cat(epoch, zero, []byte{0, 1, 'k'}, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"propose no value", raw(KindPropose, 5, cat(epoch, ballot, []byte{0, 1, 'k'})...), ErrMalformed},
		{"promise accepted value without ballot", raw(KindPromise, 5, cat([]byte{1}, zero, zero, []byte{0, 0, 0, 1, 'v'}, []byte{0}, zero, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"promise absent with value", raw(KindPromise, 5, cat([]byte{1}, zero, zero, []byte{0, 0, 0, 0}, []byte{0}, ballot, []byte{0, 0, 0, 1, 'v'})...), ErrMalformed},
		{"accepted short", raw(KindAccepted, 5, cat([]byte{1}, zero)...), ErrMalformed},
		{"digest span count past the end", raw(KindDigest, 5, cat(epoch, []byte{0, 0, 0, 2}, make([]byte, 16))...), ErrMalformed},
		{"digest reply short", raw(KindDigestReply, 5, cat([]byte{0, 0, 0, 1}, []byte{0, 0, 0, 7})...), ErrMalformed},
		{"digest reply trailing byte", raw(KindDigestReply, 5, cat([]byte{0, 0, 0, 0}, []byte{9})...), ErrMalformed},
		{"paxos keys reply value without ballot", raw(KindPaxosKeysReply, 5, cat([]byte{0, 0, 0, 1}, []byte{0, 1, 'a'}, []byte{1}, ballot, zero, []byte{0, 0, 0, 1, 'v'}, []byte{0})...), ErrMalformed},
		{"paxos keys reply more of nothing", raw(KindPaxosKeysReply, 5, cat([]byte{0, 0, 0, 0}, []byte{0}, []byte{1})...), ErrMalformed},
		{"paxos keys reply no more byte", raw(KindPaxosKeysReply, 5, cat([]byte{0, 0, 0, 0}, []byte{0})...), ErrMalformed},
		{"paxos keys reply states missing", raw(KindPaxosKeysReply, 5, cat([]byte{0, 0, 0, 1}, []byte{0, 1, 'a'}, []byte{1})...), ErrMalformed},
		{"take from no one", raw(KindTake, 5, cat(epoch, []byte{0, 0, 0, 0}, []byte{0, 0})...), ErrMalformed},
		{"take from node 0", raw(KindTake, 5, cat(epoch, []byte{0, 0, 0, 0}, []byte{0, 1, 0, 0})...), ErrMalformed},
		{"take owners past the end", raw(KindTake, 5, cat(epoch, []byte{0, 0, 0, 0}, []byte{0, 2, 0, 1})...), ErrMalformed},
		{"paxos keys no states byte", raw(KindPaxosKeys, 5, cat(epoch, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"paxos keys states byte 2", raw(KindPaxosKeys, 5, cat(epoch, []byte{0, 0, 0, 0}, []byte{2}, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"paxos keys no after", raw(KindPaxosKeys, 5, cat(epoch, []byte{0, 0, 0, 0}, []byte{0})...), ErrMalformed},
		{"paxos keys reply empty key", raw(KindPaxosKeysReply, 5, cat([]byte{0, 0, 0, 1}, []byte{0, 0, 0})...), ErrBadKey},
		{"paxos keys reply count past the end", raw(KindPaxosKeysReply, 5, cat([]byte{0, 0, 0, 9}, []byte{0, 1, 'a'})...), ErrMalformed},
		{"peek empty key", raw(KindPeek, 5, cat(epoch, []byte{0, 0})...), ErrBadKey},
		{"peek trailing byte", raw(KindPeek, 5, cat(epoch, []byte{0, 1, 'k', 0})...), ErrMalformed},
		{"peek no key", raw(KindPeek, 5, epoch...), ErrMalformed},
		{"acceptor state accepted value without ballot", raw(KindAcceptorState, 5, cat(zero, []byte{0, 0, 0, 1, 'v'}, []byte{0}, zero, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"acceptor state absent with value", raw(KindAcceptorState, 5, cat(zero, []byte{0, 0, 0, 0}, []byte{0}, ballot, []byte{0, 0, 0, 1, 'v'})...), ErrMalformed},
		{"acceptor state found byte 2", raw(KindAcceptorState, 5, cat(zero, []byte{0, 0, 0, 0}, []byte{2}, ballot, []byte{0, 0, 0, 0})...), ErrMalformed},
		{"acceptor state short", raw(KindAcceptorState, 5, cat(zero, []byte{0, 0, 0, 0}, []byte{1}, ballot)...), ErrMalformed},
		{"acceptor state value over MaxValue", raw(KindAcceptorState, 5, cat(ballot, []byte{0x00, 0x80, 0x00, 0x01})...), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, n, err := Decode(tt.buf)
			if !errors.Is(err, tt.errIs) {
				t.Errorf("Decode error = %v, want %v", err, tt.errIs)
			}
			if f.Msg != nil || n != len(tt.buf) || f.ID != 5 {
				t.Errorf("Decode = (%+v, n %d, id %d), want no message, n %d, id 5", f.Msg, n, f.ID, len(tt.buf))
			}
		})
	}
}
