package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/memdb/memdb/net"
)

// startRESPServer starts a one-node server with the RESP front door on.
func startRESPServer(t *testing.T, clientKey string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.HTTP, cfg.RESP = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.DataDir, cfg.ClientKey, cfg.ReplicationFactor, cfg.Fsync = t.TempDir(), clientKey, 1, "none"
	s, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRESPGoRedis drives the front door with a Redis client library, in
// both protocol versions, authenticated with the client key.
func TestRESPGoRedis(t *testing.T) {
	s := startRESPServer(t, "s3cret")
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rc := redis.NewClient(&redis.Options{Addr: s.RESPAddr(), Password: "s3cret", Protocol: proto, DisableIdentity: false})
			defer rc.Close()
			k := func(s string) string { return fmt.Sprintf("p%d-%s", proto, s) }

			check := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			check("ping", rc.Ping(ctx).Err())
			check("set", rc.Set(ctx, k("a"), "1", 0).Err())
			if v, err := rc.Get(ctx, k("a")).Result(); err != nil || v != "1" {
				t.Fatalf("get a = %q, %v; want 1", v, err)
			}
			if _, err := rc.Get(ctx, k("none")).Result(); !errors.Is(err, redis.Nil) {
				t.Fatalf("get of an absent key: %v, want redis.Nil", err)
			}
			if ok, err := rc.SetNX(ctx, k("b"), "2", 0).Result(); err != nil || !ok {
				t.Fatalf("setnx b (absent) = %v, %v; want true", ok, err)
			}
			if ok, err := rc.SetNX(ctx, k("b"), "3", 0).Result(); err != nil || ok {
				t.Fatalf("setnx b (present) = %v, %v; want false", ok, err)
			}
			if v, err := rc.Do(ctx, "SET", k("c"), "x", "NX").Result(); err != nil || v != "OK" {
				t.Fatalf("SET c x NX = %v, %v; want OK", v, err)
			}
			if _, err := rc.Do(ctx, "SET", k("c"), "y", "NX").Result(); !errors.Is(err, redis.Nil) {
				t.Fatalf("SET c y NX on a present key: %v, want nil", err)
			}
			if n, err := rc.Exists(ctx, k("a"), k("b"), k("none"), k("a")).Result(); err != nil || n != 3 {
				t.Fatalf("exists a b none a = %d, %v; want 3", n, err)
			}
			vs, err := rc.MGet(ctx, k("a"), k("none"), k("b")).Result()
			check("mget", err)
			if diff := cmp.Diff([]any{"1", nil, "2"}, vs); diff != "" {
				t.Fatalf("mget (-want +got):\n%s", diff)
			}
			// MSET is one atomic batch; a key given twice takes its last value.
			if v, err := rc.MSet(ctx, k("m1"), "x", k("m2"), "y", k("m1"), "z").Result(); err != nil || v != "OK" {
				t.Fatalf("mset m1 x m2 y m1 z = %v, %v; want OK", v, err)
			}
			vs, err = rc.MGet(ctx, k("m1"), k("m2")).Result()
			check("mget after mset", err)
			if diff := cmp.Diff([]any{"z", "y"}, vs); diff != "" {
				t.Fatalf("mget after mset (-want +got):\n%s", diff)
			}
			if _, err := rc.Do(ctx, "MSET", k("m1"), "x", k("m2")).Result(); err == nil || !strings.Contains(err.Error(), "wrong number of arguments") {
				t.Fatalf("mset with an odd count: %v", err)
			}
			if n, err := rc.Del(ctx, k("a"), k("none"), k("b")).Result(); err != nil || n != 2 {
				t.Fatalf("del a none b = %d, %v; want 2", n, err)
			}
			if n, err := rc.Exists(ctx, k("a"), k("b")).Result(); err != nil || n != 0 {
				t.Fatalf("exists after del = %d, %v; want 0", n, err)
			}
			if v, err := rc.Echo(ctx, "hi\r\nthere").Result(); err != nil || v != "hi\r\nthere" {
				t.Fatalf("echo = %q, %v", v, err)
			}

			for _, tc := range []struct {
				args []any
				want string
			}{
				{[]any{"INCRBY", "n", "two"}, "value is not an integer or out of range"},
				{[]any{"DECRBY", "n", "-9223372036854775808"}, "increment or decrement would overflow"},
				{[]any{"MSETNX", "a", "1", "b", "2"}, "MSETNX is not supported"},
				{[]any{"SET", "a", "1", "EX", "10"}, "SET EX is not supported"},
				{[]any{"SET", "a", "1", "XX"}, "SET XX is not supported"},
				{[]any{"SET", "a", "1", "NX", "NX"}, "syntax error"},
				{[]any{"SELECT", "1"}, "DB index is out of range"},
				{[]any{"GET"}, "wrong number of arguments for 'get' command"},
				{[]any{"NOSUCH", "x"}, "unknown command 'NOSUCH', with args beginning with: 'x'"},
				{[]any{"GET", ""}, "bad key"},
				{[]any{"MEMDB.CONSISTENCY", "some"}, "unknown consistency level"},
			} {
				if err := rc.Do(ctx, tc.args...).Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
				}
			}
			check("select 0", rc.Do(ctx, "SELECT", "0").Err())

			// A pipeline: replies in command order, whatever order the node
			// answers in.
			pipe := rc.Pipeline()
			var gets []*redis.StringCmd
			for i := range 200 {
				pipe.Set(ctx, k(fmt.Sprint("pl", i)), fmt.Sprint("v", i), 0)
				gets = append(gets, pipe.Get(ctx, k(fmt.Sprint("pl", i))))
			}
			_, err = pipe.Exec(ctx)
			check("pipeline", err)
			for i, g := range gets {
				if g.Val() != fmt.Sprint("v", i) {
					t.Fatalf("pipelined get %d = %q, want v%d", i, g.Val(), i)
				}
			}
		})
	}
}

// TestRESPConsistencyAndSession: MEMDB.CONSISTENCY sets the connection's
// level (a serial DEL is refused, as through the binary protocol), and
// client names and the connection's level are per connection.
func TestRESPConsistencyAndSession(t *testing.T) {
	s := startRESPServer(t, "")
	c := dialRESP(t, s.RESPAddr())
	for _, tc := range []struct{ send, want string }{
		{"MEMDB.CONSISTENCY", "$6\r\nquorum\r\n"},
		{"memdb.consistency serial", "+OK\r\n"},
		{"MEMDB.CONSISTENCY", "$6\r\nserial\r\n"},
		{"SET k v", "+OK\r\n"}, // a Paxos put
		{"GET k", "$1\r\nv\r\n"},
		{"DEL k", "-ERR a delete cannot be serial"},
		{"MEMDB.CONSISTENCY one", "+OK\r\n"},
		{"DEL k", ":1\r\n"},
		{"CLIENT GETNAME", "$-1\r\n"},
		{"CLIENT SETNAME me", "+OK\r\n"},
		{"CLIENT GETNAME", "$2\r\nme\r\n"},
		{"AUTH x", "-ERR AUTH <password> called without any password configured"},
		{"HELLO 4", "-NOPROTO unsupported protocol version"},
		{"COMMAND DOCS", "*0\r\n"},
		{"HELLO 3", "%7\r\n"},
		{"GET k", "_\r\n"},
		{"COMMAND DOCS", "%0\r\n"},
	} {
		c.send(tc.send + "\r\n")
		if got := c.reply(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: got %q, want it to start %q", tc.send, got, tc.want)
		}
	}
}

// TestRESPAuth: with a client key, every command but AUTH, HELLO and QUIT
// is refused until the connection authenticates.
func TestRESPAuth(t *testing.T) {
	s := startRESPServer(t, "s3cret")
	c := dialRESP(t, s.RESPAddr())
	for _, tc := range []struct{ send, want string }{
		{"GET k", "-NOAUTH Authentication required."},
		{"PING", "-NOAUTH Authentication required."},
		{"HELLO 3", "-NOAUTH HELLO must be called with the client already authenticated"},
		{"AUTH wrong", "-WRONGPASS"},
		{"HELLO 3 AUTH default wrong", "-WRONGPASS"},
		{"AUTH s3cret", "+OK\r\n"},
		{"PING", "+PONG\r\n"},
	} {
		c.send(tc.send + "\r\n")
		if got := c.reply(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: got %q, want it to start %q", tc.send, got, tc.want)
		}
	}
	c2 := dialRESP(t, s.RESPAddr())
	c2.send("HELLO 2 AUTH default s3cret SETNAME x\r\nCLIENT GETNAME\r\n")
	if got := c2.reply(); !strings.HasPrefix(got, "*14\r\n") {
		t.Errorf("HELLO 2 AUTH: got %q, want a 7-pair map as an array", got)
	}
	if got := c2.reply(); got != "$1\r\nx\r\n" {
		t.Errorf("name set by HELLO: got %q", got)
	}
}

// TestRESPMalformed: a malformed request is answered with a protocol error
// after the replies of the commands before it, and closes its connection;
// other connections go on. Bounds are checked before anything is buffered.
func TestRESPMalformed(t *testing.T) {
	s := startRESPServer(t, "")
	other := dialRESP(t, s.RESPAddr())
	for _, tc := range []struct{ name, send, want string }{
		{"not a bulk", "*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n", "+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n"},
		{"bulk over 8 MiB", "*2\r\n$3\r\nGET\r\n$8388609\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"too many args", "*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"bad length", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
	} {
		c := dialRESP(t, s.RESPAddr())
		c.send(tc.send)
		got, err := io.ReadAll(c.r)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: read %q (then %v), want %q and the connection closed", tc.name, got, err, tc.want)
		}
	}
	other.send("PING\r\n")
	if got := other.reply(); got != "+PONG\r\n" {
		t.Errorf("another connection after the bad ones: %q", got)
	}
}

// TestRESPLargeValue: a value at the store's 8 MiB limit goes through; one
// key over the key limit is the node's error, and the connection goes on.
func TestRESPLargeValue(t *testing.T) {
	s := startRESPServer(t, "")
	rc := redis.NewClient(&redis.Options{Addr: s.RESPAddr(), ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	defer rc.Close()
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), net.MaxValue)
	if err := rc.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatalf("set of %d bytes: %v", len(big), err)
	}
	if v, err := rc.Get(ctx, "big").Bytes(); err != nil || !bytes.Equal(v, big) {
		t.Fatalf("get big: %d bytes, %v", len(v), err)
	}
	if err := rc.Get(ctx, strings.Repeat("k", net.MaxKey+1)).Err(); err == nil || !strings.Contains(err.Error(), "bad key") {
		t.Fatalf("get of a too-long key: %v, want bad key", err)
	}
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after: %v", err)
	}
}

// TestRESPQuit: QUIT answers OK and closes the connection; commands after
// it in the same write are not run.
func TestRESPQuit(t *testing.T) {
	s := startRESPServer(t, "")
	c := dialRESP(t, s.RESPAddr())
	c.send("SET q 1\r\nQUIT\r\nSET q 2\r\n")
	got, err := io.ReadAll(c.r)
	if err != nil || string(got) != "+OK\r\n+OK\r\n" {
		t.Fatalf("after QUIT: read %q, %v", got, err)
	}
	c2 := dialRESP(t, s.RESPAddr())
	c2.send("GET q\r\n")
	if got := c2.reply(); got != "$1\r\n1\r\n" {
		t.Fatalf("get q = %q: the SET after QUIT ran", got)
	}
}

// respTestConn speaks RESP by hand, inline commands in, raw replies out.
type respTestConn struct {
	t  *testing.T
	nc stdnet.Conn
	r  *bufio.Reader
}

func dialRESP(t *testing.T, addr string) *respTestConn {
	t.Helper()
	nc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &respTestConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *respTestConn) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one whole reply and returns its bytes.
func (c *respTestConn) reply() string {
	c.t.Helper()
	var b strings.Builder
	if err := c.readValue(&b); err != nil {
		c.t.Fatalf("read reply: %v (so far %q)", err, b.String())
	}
	return b.String()
}

func (c *respTestConn) readValue(b *strings.Builder) error {
	line, err := c.r.ReadString('\n')
	b.WriteString(line)
	if err != nil {
		return err
	}
	n := 0
	fmt.Sscanf(line[1:], "%d", &n)
	switch line[0] {
	case '$':
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return err
		}
		b.Write(buf)
	case '*', '%':
		if line[0] == '%' {
			n *= 2
		}
		for range n {
			if err := c.readValue(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestRESPBackPressure: a client that pipelines without reading its
// replies is no longer read once enough replies wait for it; the server
// neither buffers without bound nor stops serving others, and the client
// gets every reply once it reads.
func TestRESPBackPressure(t *testing.T) {
	s := startRESPServer(t, "")
	rc := redis.NewClient(&redis.Options{Addr: s.RESPAddr()})
	defer rc.Close()
	ctx := context.Background()
	if err := rc.Set(ctx, "big", bytes.Repeat([]byte("v"), 1<<20), 0).Err(); err != nil {
		t.Fatal(err)
	}
	c := dialRESP(t, s.RESPAddr())
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	const n = 100 // 100 MiB of replies, three times the bound
	go func() {
		for range n {
			if _, err := c.nc.Write([]byte("GET big\r\n")); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Fatalf("another connection while one does not read: %v", err)
	}
	for i := range n {
		if got := c.reply(); len(got) != 1<<20+len("$1048576\r\n\r\n") {
			t.Fatalf("reply %d: %d bytes", i, len(got))
		}
	}
}

// TestRESPPipelineOrder: a connection's pipelined commands take effect in
// order, not only answer in order: a GET after a SET of its key reads it,
// and a SET after a DEL of its key is not erased by it (found by review:
// both failed when every command went to the node at once).
func TestRESPPipelineOrder(t *testing.T) {
	s := startRESPServer(t, "")
	c := dialRESP(t, s.RESPAddr())
	c.send("SET k a\r\nGET k\r\nSET k b\r\nGET k\r\nSET other x\r\nEXISTS k other\r\n")
	var got []string
	for range 6 {
		got = append(got, c.reply())
	}
	want := []string{"+OK\r\n", "$1\r\na\r\n", "+OK\r\n", "$1\r\nb\r\n", "+OK\r\n", ":2\r\n"}
	if !slices.Equal(got, want) {
		t.Errorf("SET/GET pipeline: replies %q, want %q", got, want)
	}
	c.send("SET d old\r\n")
	if r := c.reply(); r != "+OK\r\n" {
		t.Fatalf("set d: %q", r)
	}
	c.send("DEL d\r\nSET d new\r\nGET d\r\n")
	got = got[:0]
	for range 3 {
		got = append(got, c.reply())
	}
	if want := []string{":1\r\n", "+OK\r\n", "$3\r\nnew\r\n"}; !slices.Equal(got, want) {
		t.Errorf("DEL then SET pipeline: replies %q, want %q", got, want)
	}
	// A session command between two reads applies between them.
	c.send("MEMDB.CONSISTENCY one\r\nGET k\r\nHELLO 3\r\nGET missing\r\n")
	if r := c.reply(); r != "+OK\r\n" {
		t.Fatalf("consistency: %q", r)
	}
	if r := c.reply(); r != "$1\r\nb\r\n" {
		t.Errorf("get k: %q", r)
	}
	c.reply() // HELLO's map
	if r := c.reply(); r != "_\r\n" {
		t.Errorf("a GET after HELLO 3 answered a null as %q, want RESP3's _", r)
	}
}

// MSET holds its keys like the other commands: a GET pipelined after it
// reads what it wrote, and a SET after it is not undone by it.
func TestRESPPipelineOrderMSET(t *testing.T) {
	s := startRESPServer(t, "")
	c := dialRESP(t, s.RESPAddr())
	c.send("MSET a 1 b 2\r\nGET b\r\nSET a 3\r\nGET a\r\n")
	var got []string
	for range 4 {
		got = append(got, c.reply())
	}
	if want := []string{"+OK\r\n", "$1\r\n2\r\n", "+OK\r\n", "$1\r\n3\r\n"}; !slices.Equal(got, want) {
		t.Errorf("MSET pipeline: replies %q, want %q", got, want)
	}
}

// Replies are reused once written (respSession.free): a long pipeline of
// values of varied lengths, misses, errors and protocol changes answers
// each command with its own reply, nothing left of an earlier one.
func TestRESPRepliesReused(t *testing.T) {
	s := startRESPServer(t, "")
	c := dialRESP(t, s.RESPAddr())
	var req strings.Builder
	var want []string
	null := "$-1\r\n" // RESP2's; RESP3's after HELLO 3
	for i := range 300 {
		v := strings.Repeat("v", 1+(i*37)%200)
		key := fmt.Sprintf("k%d", i%7)
		fmt.Fprintf(&req, "SET %s %s\r\nGET %s\r\nGET nothing%d\r\nGET\r\n", key, v, key, i)
		want = append(want, "+OK\r\n", fmt.Sprintf("$%d\r\n%s\r\n", len(v), v), null,
			"-ERR wrong number of arguments for 'get' command\r\n")
		if i%50 == 49 {
			req.WriteString("HELLO 3\r\n")
			want = append(want, "HELLO")
			null = "_\r\n"
		}
		if i%100 == 99 {
			req.WriteString("HELLO 2\r\n")
			want = append(want, "HELLO")
			null = "$-1\r\n"
		}
	}
	c.send(req.String())
	for i, w := range want {
		got := c.reply()
		if w == "HELLO" {
			continue
		}
		if got != w {
			t.Fatalf("reply %d: %q, want %q", i, got, w)
		}
	}
}
