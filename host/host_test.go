package host

import (
	"encoding/binary"
	"errors"
	"io"
	stdnet "net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/memdb/memdb/net"
)

func startServer(t *testing.T, clientKey string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTP = ""
	cfg.DataDir = t.TempDir()
	cfg.ClientKey = clientKey
	s, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawConn speaks the protocol by hand, so tests can send what a well-behaved
// client never would.
type rawConn struct {
	t   *testing.T
	nc  stdnet.Conn
	buf []byte
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc}
}

// login runs the client handshake with key and fails the test if it is
// refused.
func (c *rawConn) login(key string) {
	c.t.Helper()
	if err := c.tryLogin(key); err != nil {
		c.t.Fatalf("login: %v", err)
	}
}

// tryLogin runs the client handshake with key (net.Handshake reads only
// the handshake's frames, so c's buffer stays in step).
func (c *rawConn) tryLogin(key string) error {
	_, err := net.Handshake(c.nc, net.RoleClient, 0, []byte(key))
	return err
}

func (c *rawConn) write(f net.Frame) { c.writeBytes(net.Encode(f)) }

func (c *rawConn) writeBytes(b []byte) {
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) read() net.Frame {
	c.t.Helper()
	f, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *rawConn) tryRead() (net.Frame, error) {
	for {
		f, n, err := net.Decode(c.buf)
		if err == nil {
			c.buf = c.buf[n:]
			return f, nil
		}
		if !errors.Is(err, net.ErrShort) {
			return f, err
		}
		tmp := make([]byte, 4096)
		k, err := c.nc.Read(tmp)
		c.buf = append(c.buf, tmp[:k]...)
		if k == 0 && err != nil {
			return net.Frame{}, err
		}
	}
}

// call sends one request and returns the reply's message, checking the id.
func (c *rawConn) call(id uint64, m net.Message) net.Message {
	c.t.Helper()
	c.write(net.Frame{ID: id, Msg: m})
	f := c.read()
	if f.ID != id {
		c.t.Fatalf("reply id %d, want %d", f.ID, id)
	}
	return f.Msg
}

func (c *rawConn) expectClosed() {
	c.t.Helper()
	for {
		if _, err := c.tryRead(); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			c.t.Fatalf("want the connection closed, got %v", err)
		}
	}
}

func TestStoreOverTCP(t *testing.T) {
	s := startServer(t, "k")
	c := dialRaw(t, s.Addr())
	c.login("k")
	k := []byte("greeting")
	steps := []struct {
		req  net.Message
		want net.Message
	}{
		{&net.Get{Key: k}, &net.Value{}},
		{&net.Contains{Key: k}, &net.Bool{Value: false}},
		{&net.Set{Key: k, Value: []byte("hello")}, &net.Done{}},
		{&net.Get{Key: k}, &net.Value{Found: true, Value: []byte("hello")}},
		{&net.Contains{Key: k}, &net.Bool{Value: true}},
		{&net.Delete{Key: k}, &net.Done{}},
		{&net.Get{Key: k}, &net.Value{}},
		{&net.Set{Key: k, Value: []byte{}}, &net.Done{}},
		{&net.Get{Key: k}, &net.Value{Found: true, Value: []byte{}}},
	}
	opts := cmp.Options{
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Version" }, cmp.Ignore()),
		cmpopts.EquateEmpty(),
	}
	for i, s := range steps {
		got := c.call(uint64(i+10), s.req)
		if d := cmp.Diff(s.want, got, opts); d != "" {
			t.Fatalf("step %d %s: (-want +got)\n%s", i, s.req.Kind(), d)
		}
	}
}

// Pipelining: many requests written at once are all answered, each with its
// own id, and writes are stamped in the order they were sent.
func TestPipelined(t *testing.T) {
	s := startServer(t, "")
	c := dialRaw(t, s.Addr())
	c.login("")
	var batch []byte
	const n = 500
	for i := range n {
		v := binary.BigEndian.AppendUint32(nil, uint32(i))
		batch = net.AppendFrame(batch, net.Frame{ID: uint64(1000 + i), Msg: &net.Set{Key: []byte("k"), Value: v}})
	}
	c.writeBytes(batch)
	seen := map[uint64]bool{}
	var last net.Done
	for range n {
		f := c.read()
		d, ok := f.Msg.(*net.Done)
		if !ok || seen[f.ID] {
			t.Fatalf("reply %v id %d", f.Msg, f.ID)
		}
		seen[f.ID] = true
		if !last.Version.Less(d.Version) {
			t.Fatalf("write %d stamped %v, not after %v", f.ID, d.Version, last.Version)
		}
		last = *d
	}
	got := c.call(1, &net.Get{Key: []byte("k")}).(*net.Value)
	if v := binary.BigEndian.Uint32(got.Value); v != n-1 {
		t.Fatalf("final value %d, want %d", v, n-1)
	}
}

func TestWrongKeyRefused(t *testing.T) {
	s := startServer(t, "right")
	c := dialRaw(t, s.Addr())
	if err := c.tryLogin("wrong"); !errors.Is(err, net.ErrAuth) {
		t.Fatalf("login with a wrong key: %v, want net.ErrAuth", err)
	}
	c.expectClosed()
}

func TestRequestBeforeAuthRefused(t *testing.T) {
	s := startServer(t, "")
	c := dialRaw(t, s.Addr())
	c.read() // the challenge
	m := c.call(7, &net.Get{Key: []byte("x")})
	if e, ok := m.(*net.Error); !ok || e.Code != net.CodeAuth {
		t.Fatalf("a request before auth answered %#v, want an auth error", m)
	}
	c.expectClosed()
}

// Bad input closes the offending connection with an error frame, and the
// node goes on serving everyone else.
func TestBadInputSurvived(t *testing.T) {
	s := startServer(t, "")
	good := dialRaw(t, s.Addr())
	good.login("")
	good.call(1, &net.Set{Key: []byte("keep"), Value: []byte("me")})

	corrupt := net.Encode(net.Frame{ID: 5, Msg: &net.Get{Key: []byte("x")}})
	corrupt[len(corrupt)-1] ^= 0xff
	oversize := binary.BigEndian.AppendUint32(nil, net.MaxFrame+1)
	unknown := net.Encode(net.Frame{ID: 9, Msg: &net.Get{Key: []byte("x")}})
	unknown[9] = 200 // the kind byte; fix the CRC so only the kind is wrong
	tests := []struct {
		name     string
		send     []byte
		code     net.Code
		survives bool
	}{
		{"checksum mismatch", corrupt, net.CodeMalformed, false},
		{"oversized frame", oversize, net.CodeTooLarge, false},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), net.CodeTooLarge, false},
		{"length below a header", []byte{0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, net.CodeMalformed, false},
		{"unknown kind", recrc(unknown), net.CodeUnknownKind, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, s.Addr())
			c.login("")
			c.writeBytes(tt.send)
			f := c.read()
			if e, ok := f.Msg.(*net.Error); !ok || e.Code != tt.code {
				t.Fatalf("answered %#v, want error code %v", f.Msg, tt.code)
			}
			if tt.survives {
				if m := c.call(2, &net.Get{Key: []byte("keep")}); m.(*net.Value).Found != true {
					t.Fatal("connection did not go on after an unknown kind")
				}
			} else {
				c.expectClosed()
			}
			if m := good.call(3, &net.Get{Key: []byte("keep")}); string(m.(*net.Value).Value) != "me" {
				t.Fatalf("other connection got %#v after bad input", m)
			}
		})
	}
}

func recrc(frame []byte) []byte {
	binary.BigEndian.PutUint32(frame[4:], crc32c(frame[8:]))
	return frame
}

func TestGracefulStopFlushesReplies(t *testing.T) {
	s := startServer(t, "")
	c := dialRaw(t, s.Addr())
	c.login("")
	c.call(1, &net.Set{Key: []byte("a"), Value: []byte("1")})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
	if _, err := stdnet.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("server still accepts connections after Close")
	}
}
