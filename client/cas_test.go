package client

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/memdb/memdb/net"
)

// recorder is a fake node's store that keeps every request it was sent.
type recorder struct {
	mu   sync.Mutex
	data map[string][]byte
	got  []net.Message
}

func newRecorder(data map[string][]byte) *recorder {
	if data == nil {
		data = map[string][]byte{}
	}
	return &recorder{data: data}
}

// serve answers like apply, recording each request first.
func (r *recorder) serve(c *fakeConn) {
	for {
		f, err := c.read()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.got = append(r.got, f.Msg)
		r.mu.Unlock()
		c.write(net.Frame{ID: f.ID, Msg: apply(f.Msg, r.data, &r.mu)})
	}
}

func (r *recorder) requests() []net.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]net.Message(nil), r.got...)
}

func (r *recorder) value(key string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.data[key]
	return v, ok
}

func TestCAS(t *testing.T) {
	tests := []struct {
		name     string
		before   map[string][]byte
		old, new []byte
		want     bool
		wire     net.CAS
		after    []byte // the value of k afterwards; nil: absent
	}{
		{
			name: "swapped", before: map[string][]byte{"k": []byte("a")}, old: []byte("a"), new: []byte("b"),
			want: true, wire: net.CAS{Key: []byte("k"), OldFound: true, Old: []byte("a"), New: []byte("b")}, after: []byte("b"),
		},
		{
			name: "not swapped", before: map[string][]byte{"k": []byte("a")}, old: []byte("x"), new: []byte("b"),
			want: false, wire: net.CAS{Key: []byte("k"), OldFound: true, Old: []byte("x"), New: []byte("b")}, after: []byte("a"),
		},
		{
			name: "absent, swapped", old: nil, new: []byte("v"),
			want: true, wire: net.CAS{Key: []byte("k"), OldFound: false, New: []byte("v")}, after: []byte("v"),
		},
		{
			name: "absent wanted, present", before: map[string][]byte{"k": {}}, old: nil, new: []byte("v"),
			want: false, wire: net.CAS{Key: []byte("k"), OldFound: false, New: []byte("v")}, after: []byte{},
		},
		{
			name: "empty value, swapped", before: map[string][]byte{"k": {}}, old: []byte{}, new: []byte("v"),
			want: true, wire: net.CAS{Key: []byte("k"), OldFound: true, New: []byte("v")}, after: []byte("v"),
		},
		{
			name: "empty value wanted, absent", old: []byte{}, new: []byte("v"),
			want: false, wire: net.CAS{Key: []byte("k"), OldFound: true, New: []byte("v")}, after: nil,
		},
		{
			name: "nil new writes the empty value", before: map[string][]byte{"k": []byte("a")}, old: []byte("a"), new: nil,
			want: true, wire: net.CAS{Key: []byte("k"), OldFound: true, Old: []byte("a")}, after: []byte{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(tc.before)
			n := startFake(t, "", rec.serve)
			c := dialFake(t, Options{Addrs: []string{n.addr()}})
			got, err := c.CAS(context.Background(), "k", tc.old, tc.new)
			if err != nil || got != tc.want {
				t.Fatalf("CAS(k, %q, %q): got %v, %v; want %v, nil", tc.old, tc.new, got, err, tc.want)
			}
			want := []net.Message{&tc.wire}
			if diff := cmp.Diff(want, rec.requests(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("requests sent (-want +got):\n%s", diff)
			}
			v, ok := rec.value("k")
			if ok != (tc.after != nil) || !bytes.Equal(v, tc.after) {
				t.Errorf("k afterwards: %q (present: %v); want %q (present: %v)", v, ok, tc.after, tc.after != nil)
			}
		})
	}
}

// How a CAS fails: each node error maps to its sentinel, and nothing is
// sent twice, not even to the second address.
func TestCASErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   net.Message
		want    []error
		notWant []error
		code    net.Code // the *net.Error the error carries; 0: none
	}{
		{"contention", &net.Error{Code: net.CodeContention, Message: "lost 5 rounds"},
			[]error{ErrContention}, []error{ErrUnknownOutcome}, net.CodeContention},
		{"unknown outcome", &net.Error{Code: net.CodeUnknownOutcome, Message: "replicas silent"},
			[]error{ErrUnknownOutcome}, []error{ErrContention}, net.CodeUnknownOutcome},
		{"unavailable", &net.Error{Code: net.CodeUnavailable, Message: "1 of 3 replicas"},
			[]error{ErrQuorum}, []error{ErrUnknownOutcome, ErrContention}, net.CodeUnavailable},
		{"unsupported", &net.Error{Code: net.CodeUnsupported, Message: "no paxos here"},
			nil, []error{ErrUnknownOutcome, ErrContention}, net.CodeUnsupported},
		{"wrong reply kind", &net.Done{},
			[]error{ErrUnknownOutcome, errProtocol}, []error{ErrContention}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			sent := 0
			scripted := startFake(t, "", func(c *fakeConn) {
				for {
					f, err := c.read()
					if err != nil {
						return
					}
					mu.Lock()
					sent++
					mu.Unlock()
					c.write(net.Frame{ID: f.ID, Msg: tc.reply})
				}
			})
			spare := newRecorder(nil)
			other := startFake(t, "", spare.serve)
			c := dialFake(t, Options{Addrs: []string{scripted.addr(), other.addr()}})
			swapped, err := c.CAS(context.Background(), "k", []byte("a"), []byte("b"))
			if swapped || err == nil {
				t.Fatalf("got %v, %v; want false and an error", swapped, err)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v; want it to be %v", err, w)
				}
			}
			for _, w := range tc.notWant {
				if errors.Is(err, w) {
					t.Errorf("got %v; want it not to be %v", err, w)
				}
			}
			var ne *net.Error
			if got := errors.As(err, &ne); got != (tc.code != 0) || got && ne.Code != tc.code {
				t.Errorf("got %v; want a *net.Error with code %s: %v", err, tc.code, tc.code != 0)
			}
			mu.Lock()
			defer mu.Unlock()
			if sent != 1 || len(spare.requests()) != 0 {
				t.Errorf("the CAS reached the first node %d times and the second %d; want once and never", sent, len(spare.requests()))
			}
		})
	}
}

// A CAS whose reply never comes, because the connection broke or the
// deadline passed after it was sent, has an unknown outcome and is not
// sent again, to the same node or another.
func TestCASLostReplyNotResent(t *testing.T) {
	tests := []struct {
		name    string
		hangUp  bool // else the node keeps reading and never answers
		timeout time.Duration
		want    []error
	}{
		{"connection lost", true, DefaultTimeout, []error{ErrUnknownOutcome}},
		{"timeout", false, 20 * time.Millisecond, []error{ErrUnknownOutcome, ErrTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			sent := 0
			silent := startFake(t, "", func(c *fakeConn) {
				for {
					if _, err := c.read(); err != nil {
						return
					}
					mu.Lock()
					sent++
					mu.Unlock()
					if tc.hangUp {
						return
					}
				}
			})
			spare := newRecorder(nil)
			other := startFake(t, "", spare.serve)
			c := dialFake(t, Options{Addrs: []string{silent.addr(), other.addr()}, Timeout: tc.timeout})
			swapped, err := c.CAS(context.Background(), "k", nil, []byte("v"))
			if swapped || !isAll(err, tc.want...) || errors.Is(err, ErrContention) {
				t.Fatalf("got %v, %v; want false and an error that is all of %v (and not ErrContention)", swapped, err, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if sent != 1 || len(spare.requests()) != 0 {
				t.Errorf("the CAS reached the first node %d times and the second %d; want once and never", sent, len(spare.requests()))
			}
		})
	}
}

// Bad input is refused before anything is sent.
func TestCASBadInput(t *testing.T) {
	rec := newRecorder(nil)
	n := startFake(t, "", rec.serve)
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	ctx := context.Background()
	big := make([]byte, net.MaxValue+1)
	tests := []struct {
		name     string
		key      string
		old, new []byte
		opts     []CallOption
		want     error
	}{
		{"empty key", "", nil, []byte("v"), nil, net.ErrBadKey},
		{"oversized key", string(make([]byte, net.MaxKey+1)), nil, []byte("v"), nil, net.ErrBadKey},
		{"oversized old", "k", big, []byte("v"), nil, net.ErrTooLarge},
		{"oversized new", "k", []byte("a"), big, nil, net.ErrTooLarge},
		{"not a level", "k", nil, []byte("v"), []CallOption{WithConsistency(net.Serial + 1)}, errOptions},
	}
	for _, tc := range tests {
		swapped, err := c.CAS(ctx, tc.key, tc.old, tc.new, tc.opts...)
		if swapped || !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, %v; want false and %v", tc.name, swapped, err, tc.want)
		}
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("the node received %d requests; want none", len(got))
	}
	if swapped, err := c.CAS(ctx, "k", nil, make([]byte, net.MaxValue)); !swapped || err != nil {
		t.Errorf("CAS of a value of exactly MaxValue bytes: got %v, %v; want true, nil", swapped, err)
	}
}

// Serial calls carry their level to the node, whether the call or the
// client chose it; a serial Delete reaches the node, which refuses it.
func TestSerialLevel(t *testing.T) {
	rec := newRecorder(nil)
	n := startFake(t, "", rec.serve)
	ctx := context.Background()
	serial := WithConsistency(net.Serial)
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	if err := c.Set(ctx, "k", []byte("v"), serial); err != nil {
		t.Fatalf("serial Set: %v", err)
	}
	if v, err := c.Get(ctx, "k", serial); err != nil || string(v) != "v" {
		t.Fatalf("serial Get: got %q, %v; want v", v, err)
	}
	if ok, err := c.Contains(ctx, "k", serial); !ok || err != nil {
		t.Fatalf("serial Contains: got %v, %v; want true", ok, err)
	}
	var ne *net.Error
	if err := c.Delete(ctx, "k", serial); !errors.As(err, &ne) || ne.Code != net.CodeUnsupported {
		t.Fatalf("serial Delete: got %v; want the node's refusal, CodeUnsupported", err)
	}
	byDefault := dialFake(t, Options{Addrs: []string{n.addr()}, Consistency: net.Serial})
	if _, err := byDefault.Get(ctx, "k"); err != nil {
		t.Fatalf("Get by a client whose default is serial: %v", err)
	}
	if _, err := byDefault.Get(ctx, "k", WithConsistency(net.One)); err != nil {
		t.Fatalf("Get at one by a client whose default is serial: %v", err)
	}
	want := []net.Message{
		&net.Set{Level: net.Serial, Key: []byte("k"), Value: []byte("v")},
		&net.Get{Level: net.Serial, Key: []byte("k")},
		&net.Contains{Level: net.Serial, Key: []byte("k")},
		&net.Delete{Level: net.Serial, Key: []byte("k")},
		&net.Get{Level: net.Serial, Key: []byte("k")},
		&net.Get{Level: net.One, Key: []byte("k")},
	}
	if diff := cmp.Diff(want, rec.requests()); diff != "" {
		t.Errorf("requests sent (-want +got):\n%s", diff)
	}
}

// Against a real node: CAS and serial calls, once the node serves them
// (until then the node refuses the first CAS, and the test is skipped).
func TestCASOnNode(t *testing.T) {
	srv := startNode(t, "")
	c := dialNode(t, srv, "", 1)
	ctx := context.Background()
	serial := WithConsistency(net.Serial)
	swapped, err := c.CAS(ctx, "k", nil, []byte("v1"))
	var ne *net.Error
	if errors.As(err, &ne) && (ne.Code == net.CodeUnknownKind || ne.Code == net.CodeUnsupported) {
		t.Skipf("the node does not serve CAS: %v", err)
	}
	if !swapped || err != nil {
		t.Fatalf("CAS(k, nil, v1) of an absent key: got %v, %v; want true, nil", swapped, err)
	}
	steps := []struct {
		old, new []byte
		want     bool
	}{
		{nil, []byte("x"), false},
		{[]byte("v0"), []byte("x"), false},
		{[]byte("v1"), []byte("v2"), true},
		{[]byte("v1"), []byte("x"), false},
		{[]byte("v2"), []byte{}, true},
		{nil, []byte("x"), false}, // the empty value is not absence
		{[]byte{}, []byte("v3"), true},
	}
	for _, s := range steps {
		if got, err := c.CAS(ctx, "k", s.old, s.new); got != s.want || err != nil {
			t.Fatalf("CAS(k, %q (nil: %v), %q): got %v, %v; want %v, nil", s.old, s.old == nil, s.new, got, err, s.want)
		}
	}
	if v, err := c.Get(ctx, "k", serial); err != nil || string(v) != "v3" {
		t.Fatalf("serial Get: got %q, %v; want v3", v, err)
	}
	if ok, err := c.Contains(ctx, "k", serial); !ok || err != nil {
		t.Fatalf("serial Contains: got %v, %v; want true", ok, err)
	}
	if err := c.Set(ctx, "k", []byte("v4"), serial); err != nil {
		t.Fatalf("serial Set: %v", err)
	}
	if v, err := c.Get(ctx, "k", serial); err != nil || string(v) != "v4" {
		t.Fatalf("serial Get after a serial Set: got %q, %v; want v4", v, err)
	}
	if _, err := c.Get(ctx, "never", serial); !errors.Is(err, ErrNotFound) {
		t.Fatalf("serial Get of a key never written: got %v, want ErrNotFound", err)
	}
	if ok, err := c.Contains(ctx, "never", serial); ok || err != nil {
		t.Fatalf("serial Contains of a key never written: got %v, %v; want false, nil", ok, err)
	}
	if err := c.Delete(ctx, "k", serial); !errors.As(err, &ne) || ne.Code != net.CodeUnsupported {
		t.Fatalf("serial Delete: got %v; want CodeUnsupported", err)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if swapped, err := c.CAS(ctx, "k", nil, []byte("back")); !swapped || err != nil {
		t.Fatalf("CAS(k, nil, back) after a Delete: got %v, %v; want true, nil", swapped, err)
	}
}
