package net

import (
	"errors"
	stdnet "net"
	"sync"
	"testing"
	"time"
)

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	frames []Frame
	from   []uint16 // c.Peer() for each frame
	roles  []Role
	got    chan struct{} // signaled after every Frames call
	// answer, if set, is sent back on the connection for every frame.
	answer func(f Frame) *Frame
	// block, if set, makes Frames wait until it is closed.
	block chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1)} }

func (r *recorder) Frames(c *Conn, fs []Frame) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	for _, f := range fs {
		r.frames = append(r.frames, f)
		r.from = append(r.from, c.Peer())
		r.roles = append(r.roles, c.Role())
		if r.answer != nil {
			if a := r.answer(f); a != nil {
				c.Send(*a)
			}
		}
	}
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

func (r *recorder) Closed(*Conn) {}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// waitFor waits until the recorder holds at least n frames. The deadline
// only turns a hang into a failure; passing runs take milliseconds.
func (r *recorder) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for r.count() < n {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("got %d frames, want %d (hang)", r.count(), n)
		}
	}
}

func listen(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Handler == nil {
		cfg.Handler = newRecorder()
	}
	s, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func dialTCP(t *testing.T, addr string) stdnet.Conn {
	t.Helper()
	nc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return nc
}

func TestHandshakeWithServer(t *testing.T) {
	rec := newRecorder()
	s := listen(t, ServerConfig{Node: 42, ClientKey: []byte("ck"), ClusterKey: []byte("pk"), Handler: rec})
	tests := []struct {
		name  string
		role  Role
		node  uint16
		key   string
		errIs error
	}{
		{"client", RoleClient, 0, "ck", nil},
		{"peer", RolePeer, 7, "pk", nil},
		{"client with the cluster key", RoleClient, 0, "pk", ErrAuth},
		{"peer with the client key", RolePeer, 7, "ck", ErrAuth},
		{"peer with no key", RolePeer, 7, "", ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := dialTCP(t, s.Addr())
			node, err := Handshake(nc, tt.role, tt.node, []byte(tt.key))
			if !errors.Is(err, tt.errIs) || (tt.errIs == nil) != (err == nil) {
				t.Fatalf("Handshake = (%d, %v), want error %v", node, err, tt.errIs)
			}
			if err != nil {
				if CodeOf(err) != CodeAuth {
					t.Errorf("CodeOf(%v) = %s, want %s", err, CodeOf(err), CodeAuth)
				}
				return
			}
			if node != 42 {
				t.Errorf("server node = %d, want 42", node)
			}
			// The connection is authenticated as role and node.
			before := rec.count()
			nc.Write(Encode(Frame{ID: 9, Msg: &Bool{Value: true}}))
			rec.waitFor(t, before+1)
			rec.mu.Lock()
			role, from := rec.roles[before], rec.from[before]
			rec.mu.Unlock()
			if role != tt.role || from != tt.node {
				t.Errorf("server saw role %s node %d, want %s node %d", role, from, tt.role, tt.node)
			}
		})
	}
}

// A server with no key accepts any proof but proves the empty key, so a
// client holding a key refuses it: it is not the cluster the client knows.
func TestHandshakeServerWithoutKey(t *testing.T) {
	s := listen(t, ServerConfig{Node: 1})
	if _, err := Handshake(dialTCP(t, s.Addr()), RolePeer, 2, nil); err != nil {
		t.Fatalf("no key on either side: %v", err)
	}
	if _, err := Handshake(dialTCP(t, s.Addr()), RolePeer, 2, []byte("k")); !errors.Is(err, ErrAuth) {
		t.Fatalf("a key against a server with none: %v, want ErrAuth", err)
	}
}

// fakeServer runs script on the server end of a pipe and returns the
// client end.
func fakeServer(t *testing.T, script func(nc stdnet.Conn)) stdnet.Conn {
	t.Helper()
	cl, sv := stdnet.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sv.Close()
		script(sv)
	}()
	t.Cleanup(func() { cl.Close(); <-done })
	cl.SetDeadline(time.Now().Add(20 * time.Second))
	return cl
}

// serverSide answers a handshake by hand, with key for role, then writes
// extra.
func serverSide(key []byte, version uint8, extra ...Frame) func(nc stdnet.Conn) {
	return func(nc stdnet.Conn) {
		ch := &Challenge{Version: version, Node: 5, Nonce: nonce(3)}
		nc.Write(Encode(Frame{Msg: ch}))
		f, err := readOne(nc)
		if err != nil {
			return
		}
		a, ok := f.Msg.(*Auth)
		if !ok {
			return
		}
		buf := Encode(Frame{ID: f.ID, Msg: &AuthOK{MAC: ServerProof(key, a.Role, a.Node, ch.Nonce, a.Nonce)}})
		for _, e := range extra {
			buf = AppendFrame(buf, e)
		}
		nc.Write(buf) // the AuthOK and what follows in one write
		var b [1]byte
		nc.Read(b[:]) // until the client closes
	}
}

func TestHandshakeFake(t *testing.T) {
	key := []byte("k")
	tests := []struct {
		name   string
		script func(nc stdnet.Conn)
		errIs  error
	}{
		{"good", serverSide(key, Version), nil},
		{"newer server", serverSide(key, Version+1), nil},
		{"older server", serverSide(key, 0), ErrVersion},
		{"server proves another key", serverSide([]byte("other"), Version), ErrAuth},
		{"not memdb", func(nc stdnet.Conn) { nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) }, ErrTooLarge},
		{"huge error frame", func(nc stdnet.Conn) {
			nc.Write(Encode(Frame{Msg: &Gossip{Payload: make([]byte, 64<<10)}}))
		}, ErrTooLarge},
		{"not a challenge", func(nc stdnet.Conn) { nc.Write(Encode(Frame{Msg: &Bool{}})) }, ErrMalformed},
		{"other error", func(nc stdnet.Conn) {
			nc.Write(Encode(Frame{Msg: &Challenge{Version: Version}}))
			readOne(nc)
			nc.Write(Encode(Frame{Msg: &Error{Code: CodeShuttingDown, Message: "bye"}}))
		}, &Error{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := fakeServer(t, tt.script)
			_, err := Handshake(nc, RolePeer, 9, key)
			switch want := tt.errIs.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Handshake: %v", err)
				}
			case *Error:
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeShuttingDown {
					t.Fatalf("Handshake error = %v, want an *Error of CodeShuttingDown", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("Handshake error = %v, want %v", err, want)
				}
			}
		})
	}
}

// Handshake reads nothing past the AuthOK: a frame the server wrote in the
// same segment is still there for the caller.
func TestHandshakeLeavesTheRest(t *testing.T) {
	next := Frame{ID: 77, Msg: &Read{Epoch: 1, Key: []byte("k")}}
	nc := fakeServer(t, serverSide(nil, Version, next))
	node, err := Handshake(nc, RoleClient, 0, nil)
	if err != nil || node != 5 {
		t.Fatalf("Handshake = (%d, %v), want (5, nil)", node, err)
	}
	f, err := readOne(nc)
	if err != nil || f.ID != 77 || f.Msg.Kind() != KindRead {
		t.Fatalf("the frame after the handshake: (%+v, %v), want the read with id 77", f, err)
	}
}
