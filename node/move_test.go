package node

import (
	"testing"

	"github.com/memdb/memdb/net"
)

func TestParseMovement(t *testing.T) {
	for _, m := range []movement{{join: true, id: 1, version: 1}, {id: 65535, version: 1<<32 - 1}, {join: true, id: 7, version: 13}} {
		got, ok := parseMovement([]byte(m.String()))
		if !ok || got != m {
			t.Errorf("parseMovement(%q) = %v, %v; want %v, true", m.String(), got, ok, m)
		}
	}
	for _, s := range []string{"", moveIdle, "join", "join 1", "join x 1", "move 1 1", "join 70000 1", "leave 1 -1", "join 1 1 1"} {
		if m, ok := parseMovement([]byte(s)); ok {
			t.Errorf("parseMovement(%q) = %v, true; want no movement", s, m)
		}
	}
}

// The movement lock is taken by one movement at a time: another waits
// until the holder gives it back, or until the holder's ring version has
// passed the one its movement names; the holder taking it again (after a
// restart) succeeds.
func TestMoveLock(t *testing.T) {
	h := newHarness(t)
	h.drain()
	take := func(m movement) bool {
		t.Helper()
		var got *bool
		h.n.takeMove(m, func(ok bool) { got = &ok })
		h.drain()
		if got == nil {
			t.Fatalf("takeMove(%v) never answered", m)
		}
		return *got
	}
	a := movement{join: true, id: 9, version: 1}
	b := movement{join: true, id: 8, version: 1}
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
	stale := movement{join: true, id: 1, version: 1}
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
	key := []byte(moveKey)
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
