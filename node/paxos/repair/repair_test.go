package repair

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// fake is a node as its Driver sees it, over a loop of its own: peers'
// PaxosKeys are served at once by their Drivers, and rounds answer as
// round says.
type fake struct {
	d        *Driver
	peers    map[uint16]*fake
	queue    []func()
	stopped  bool
	progress []string              // keys in progress, in order
	values   map[string]int        // value size of each, for states
	round    func(key string) bool // whether a round on key completes
	rounds   []string              // keys rounds ran on, in order
	running  int                   // rounds begun and not answered
	most     int                   // the most running at once
	pending  []func()              // rounds' answers, run by settle
	sent     net.Message           // what Send was last given
	repaired int
}

var _ Node = (*fake)(nil)

func newFake(id uint16) *fake {
	f := &fake{peers: map[uint16]*fake{}, values: map[string]int{}, round: func(string) bool { return true }}
	f.d = &Driver{Node: f, ID: id, Backoff: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return f
}

func (f *fake) Epoch() uint64 { return 1 }

func (f *fake) AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	p := f.peers[peer]
	if p == nil {
		f.queue = append(f.queue, func() { done(nil) })
		return
	}
	k := m.(*net.PaxosKeys)
	p.d.ServeKeys(0, 0, k) // answers through p.Send into p.sent
	a := p.sent
	p.sent = nil
	f.queue = append(f.queue, func() { done(a) })
}

func (f *fake) Send(peer uint16, id uint64, m net.Message) { f.sent = m }
func (f *fake) Later(d time.Duration, fn func())           { f.queue = append(f.queue, fn) }
func (f *fake) Stopped() bool                              { return f.stopped }
func (f *fake) Repaired()                                  { f.repaired++ }

func (f *fake) InProgress(spans []net.Span, all bool) [][]byte {
	var out [][]byte
	for _, k := range f.progress {
		out = append(out, []byte(k))
	}
	return out
}

func (f *fake) Acceptor(key []byte) net.Acceptor {
	return net.Acceptor{Accepted: clock.Timestamp{Counter: 1}, Value: bytes.Repeat([]byte{'v'}, f.values[string(key)])}
}

func (f *fake) Round(key []byte, done func(net.Message)) {
	f.rounds = append(f.rounds, string(key))
	f.running++
	f.most = max(f.most, f.running)
	ok := f.round(string(key))
	f.pending = append(f.pending, func() {
		f.running--
		if ok {
			done(&net.Value{})
			return
		}
		done(&net.Error{Code: net.CodeUnavailable, Message: "lost"})
	})
}

// settle runs the loop until nothing is left: queued callbacks first, then
// the rounds' answers, all that are pending at once.
func (f *fake) settle() {
	for len(f.queue)+len(f.pending) > 0 {
		if len(f.queue) > 0 {
			q := f.queue[0]
			f.queue = f.queue[1:]
			q()
			continue
		}
		due := f.pending
		f.pending = nil
		for _, a := range due {
			a()
		}
	}
}

var whole = []net.Span{{Start: 7, End: 7}}

// Run finishes this node's keys in progress and every owner's, each once,
// in key order.
func TestRunFinishesEveryOwnersKeys(t *testing.T) {
	a, b, c := newFake(1), newFake(2), newFake(3)
	a.peers = map[uint16]*fake{2: b, 3: c}
	a.progress = []string{"m", "x"}
	b.progress = []string{"a", "m"}
	c.progress = []string{"q"}
	var got []bool
	a.d.Run(map[uint16][]net.Span{1: whole, 2: whole, 3: whole}, func(ok bool) { got = append(got, ok) })
	a.settle()
	if !slices.Equal(got, []bool{true}) || !slices.Equal(a.rounds, []string{"a", "m", "q", "x"}) || a.repaired != 4 {
		t.Fatalf("done %v, rounds on %v, repaired %d; want [true], [a m q x], 4", got, a.rounds, a.repaired)
	}
}

// An owner that does not answer fails the step before any round runs.
func TestRunOwnerSilent(t *testing.T) {
	a := newFake(1)
	a.progress = []string{"k"}
	var got []bool
	a.d.Run(map[uint16][]net.Span{2: whole}, func(ok bool) { got = append(got, ok) })
	a.settle()
	if !slices.Equal(got, []bool{false}) || len(a.rounds) != 0 {
		t.Fatalf("done %v, rounds on %v; want [false] and none", got, a.rounds)
	}
}

// Keys with states follows an owner's pages to the end; each page holds
// about PageBytes, and at least one key however large its value.
func TestKeysPages(t *testing.T) {
	a, b := newFake(1), newFake(2)
	a.peers = map[uint16]*fake{2: b}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		b.progress = append(b.progress, k)
		b.values[k] = PageBytes / 2
	}
	b.values["c"] = 2 * PageBytes
	var pages [][]string
	var got []bool
	a.d.Keys(map[uint16][]net.Span{2: whole}, true, func(r *net.PaxosKeysReply) {
		var page []string
		for i, k := range r.Keys {
			page = append(page, string(k))
			if len(r.States[i].Value) != b.values[string(k)] {
				t.Errorf("key %s: state of %d bytes, want %d", k, len(r.States[i].Value), b.values[string(k)])
			}
		}
		pages = append(pages, page)
	}, func(ok bool) { got = append(got, ok) })
	a.settle()
	want := [][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}}
	if !slices.Equal(got, []bool{true}) || !slices.EqualFunc(pages, want, slices.Equal) {
		t.Fatalf("done %v, pages %v; want [true], %v", got, pages, want)
	}
}

// Finish runs up to InFlight rounds at once, and retries a key whose round
// failed keyTries times before it fails the step, once.
func TestFinish(t *testing.T) {
	a := newFake(1)
	var keys []string
	for i := range 3 * InFlight {
		keys = append(keys, strings.Repeat("k", i+1))
	}
	var got []bool
	a.d.Finish(keys, func(ok bool) { got = append(got, ok) })
	a.settle()
	if !slices.Equal(got, []bool{true}) || a.most != InFlight || a.repaired != len(keys) {
		t.Fatalf("done %v, at most %d rounds at once, %d repaired; want [true], %d, %d", got, a.most, a.repaired, InFlight, len(keys))
	}

	a = newFake(1)
	a.round = func(k string) bool { return k != "bad" }
	got = nil
	a.d.Finish([]string{"bad", "good"}, func(ok bool) { got = append(got, ok) })
	a.settle()
	bad := 0
	for _, k := range a.rounds {
		if k == "bad" {
			bad++
		}
	}
	if !slices.Equal(got, []bool{false}) || bad != keyTries {
		t.Fatalf("done %v after %d rounds on the failing key; want [false] after %d", got, bad, keyTries)
	}
}
