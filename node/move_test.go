package node

import (
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
)

// The movement lock is taken by one movement at a time: another waits
// until the holder gives it back, or until the holder's ring version has
// passed the one its movement names; the holder taking it again (after a
// restart) succeeds.
func TestMoveLock(t *testing.T) {
	h := newHarness(t)
	h.drain()
	take := func(m movement.Move) bool {
		t.Helper()
		var got *bool
		h.n.takeMove(m, func(ok bool) { got = &ok })
		h.drain()
		if got == nil {
			t.Fatalf("takeMove(%v) never answered", m)
		}
		return *got
	}
	a := movement.Move{Join: true, ID: 9, Version: 1}
	b := movement.Move{Join: true, ID: 8, Version: 1}
	if !take(a) {
		t.Fatalf("%v could not take the free lock", a)
	}
	if !take(a) {
		t.Fatalf("%v could not take the lock it holds", a)
	}
	if take(b) {
		t.Fatalf("%v took the lock %v holds", b, a)
	}
	h.n.giveMove(a, 1)
	h.drain()
	if !take(b) {
		t.Fatalf("%v could not take the lock %v gave back", b, a)
	}
	// Node 1 is at ring version 3 (normal): a movement of it at version 1
	// is over, and its lock can be taken.
	stale := movement.Move{Join: true, ID: 1, Version: 1}
	h.n.giveMove(b, 1)
	h.drain()
	if !take(stale) || !take(a) {
		t.Fatalf("%v could not take the lock from the finished %v", a, stale)
	}
}

// Clients may not touch the cluster's own keys.
func TestSystemKeysRefused(t *testing.T) {
	h := newHarness(t)
	h.drain()
	key := []byte(movement.Key)
	for i, m := range []net.Message{
		&net.Get{Key: key}, &net.Get{Key: key, Level: net.Serial}, &net.Set{Key: key, Value: []byte("idle")},
		&net.Delete{Key: key}, &net.Contains{Key: key}, &net.CAS{Key: key, New: []byte("x")},
	} {
		h.request(uint64(i+1), m)
		h.drain()
		e, ok := h.replies[uint64(i+1)].(*net.Error)
		if !ok || e.Code != net.CodeUnsupported {
			t.Errorf("%v on the system key got %#v, want unsupported", m.Kind(), h.replies[uint64(i+1)])
		}
	}
}
