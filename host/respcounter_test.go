package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/memdb/memdb/net"
)

// respHarness runs a RESP connection's commands with no node: it catches
// the requests the commands make, and a test answers them as a node would.
type respHarness struct {
	t    *testing.T
	s    *Server
	c    *respConn
	ss   *respSession
	sent []net.Frame // requests not answered yet, in order
}

func newRESPHarness(t *testing.T, id net.ConnID) *respHarness {
	s := &Server{respSessions: map[net.ConnID]*respSession{}}
	c := &respConn{id: respConnBit | id}
	s.respOpen(c)
	h := &respHarness{t: t, s: s, c: c, ss: s.respSessions[c.id]}
	h.ss.send = func(f net.Frame) { h.sent = append(h.sent, f) }
	return h
}

// run runs commands, each written as words.
func (h *respHarness) run(commands ...string) {
	var cmds [][][]byte
	for _, c := range commands {
		var args [][]byte
		for _, w := range strings.Fields(c) {
			args = append(args, []byte(w))
		}
		cmds = append(cmds, args)
	}
	h.s.respCommands(h.c.id, cmds)
}

// take returns the requests made and not answered yet.
func (h *respHarness) take() []net.Message {
	var ms []net.Message
	for _, f := range h.sent {
		ms = append(ms, f.Msg)
	}
	return ms
}

// answer answers the oldest request not answered yet with m.
func (h *respHarness) answer(m net.Message) {
	h.t.Helper()
	if len(h.sent) == 0 {
		h.t.Fatalf("answer %v: no request is waiting", m)
	}
	f := h.sent[0]
	h.sent = h.sent[1:]
	h.s.respAnswer(h.c.id, net.Frame{ID: f.ID, Msg: m})
}

// out returns the replies written since the last call.
func (h *respHarness) out() string {
	s := string(h.c.sink)
	h.c.sink = nil
	return s
}

// Each command's request and reply, without a node: the delta, the
// connection's one session and its seq per increment, INCRBY 0 as a read,
// parse errors answered before anything is sent.
func TestRESPCounterCommands(t *testing.T) {
	h := newRESPHarness(t, 1)
	session := h.ss.session
	if session == 0 {
		t.Fatal("the connection has no session id")
	}
	incr := func(delta int64, seq uint64) *net.Incr {
		return &net.Incr{Key: []byte("k"), Delta: delta, Session: session, Seq: seq}
	}
	tests := []struct {
		command string
		sent    []net.Message // the request made, if any
		answer  net.Message   // the node's answer to it
		reply   string
	}{
		{"INCR k", []net.Message{incr(1, 1)}, &net.CounterValue{Value: 1}, ":1\r\n"},
		{"decr k", []net.Message{incr(-1, 2)}, &net.CounterValue{Value: 0}, ":0\r\n"},
		{"INCRBY k 10", []net.Message{incr(10, 3)}, &net.CounterValue{Value: 10}, ":10\r\n"},
		{"INCRBY k -4", []net.Message{incr(-4, 4)}, &net.CounterValue{Value: 6}, ":6\r\n"},
		{"DECRBY k 3", []net.Message{incr(-3, 5)}, &net.CounterValue{Value: 3}, ":3\r\n"},
		{"DECRBY k -9223372036854775807", []net.Message{incr(9223372036854775807, 6)}, &net.CounterValue{Value: -9223372036854775808}, ":-9223372036854775808\r\n"},
		{"INCRBY k 0", []net.Message{&net.GetCounter{Key: []byte("k")}}, &net.CounterValue{Value: 3}, ":3\r\n"},
		{"DECRBY k 0", []net.Message{&net.GetCounter{Key: []byte("k")}}, &net.CounterValue{Value: 3}, ":3\r\n"},
		{"INCRBY k two", nil, nil, "-ERR value is not an integer or out of range\r\n"},
		{"INCRBY k 1.5", nil, nil, "-ERR value is not an integer or out of range\r\n"},
		{"INCRBY k 9223372036854775808", nil, nil, "-ERR value is not an integer or out of range\r\n"},
		{"DECRBY k -9223372036854775808", nil, nil, "-ERR increment or decrement would overflow\r\n"},
		{"INCR", nil, nil, "-ERR wrong number of arguments for 'incr' command\r\n"},
		{"INCRBY k", nil, nil, "-ERR wrong number of arguments for 'incrby' command\r\n"},
		// The node's errors, in Redis's words where Redis has them.
		{"INCR k", []net.Message{incr(1, 7)}, &net.Error{Code: net.CodeWrongKind, Message: "k holds a value"},
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"INCRBY k 5", []net.Message{incr(5, 8)}, &net.Error{Code: net.CodeOverflow, Message: "counter overflow: the value would leave int64"},
			"-ERR increment or decrement would overflow\r\n"},
		{"INCR k", []net.Message{incr(1, 9)}, &net.Error{Code: net.CodeUnknownOutcome, Message: "replicas silent"},
			"-UNKNOWN unknown outcome: replicas silent\r\n"},
		{"INCR k", []net.Message{incr(1, 10)}, &net.Error{Code: net.CodeUnavailable, Message: "1 of 3"},
			"-UNAVAILABLE unavailable: 1 of 3\r\n"},
		{"GET k", []net.Message{&net.Get{Key: []byte("k")}}, &net.Error{Code: net.CodeWrongKind, Message: "k holds a counter"},
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"SET k v", []net.Message{&net.Set{Key: []byte("k"), Value: []byte("v")}}, &net.Error{Code: net.CodeWrongKind, Message: "k holds a counter"},
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"INCRBY k 0", []net.Message{&net.GetCounter{Key: []byte("k")}}, &net.Error{Code: net.CodeWrongKind, Message: "k holds a value"},
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	}
	for _, tc := range tests {
		h.run(tc.command)
		if diff := cmp.Diff(tc.sent, h.take()); diff != "" {
			t.Errorf("%s: requests (-want +got):\n%s", tc.command, diff)
		}
		if tc.answer != nil && len(h.sent) > 0 {
			h.answer(tc.answer)
		}
		if got := h.out(); got != tc.reply {
			t.Errorf("%s: reply %q, want %q", tc.command, got, tc.reply)
		}
	}
}

// The connection's level rides on its counter requests; serial is refused
// before anything is sent; another connection is another session.
func TestRESPCounterLevelAndSession(t *testing.T) {
	h := newRESPHarness(t, 1)
	h.run("MEMDB.CONSISTENCY one", "INCR k", "INCRBY other 0")
	want := []net.Message{
		&net.Incr{Level: net.One, Key: []byte("k"), Delta: 1, Session: h.ss.session, Seq: 1},
		&net.GetCounter{Level: net.One, Key: []byte("other")},
	}
	if diff := cmp.Diff(want, h.take()); diff != "" {
		t.Errorf("requests at one (-want +got):\n%s", diff)
	}
	h.answer(&net.CounterValue{Value: 1})
	h.answer(&net.CounterValue{Value: 1})
	h.out()
	h.run("MEMDB.CONSISTENCY serial", "INCR k", "DECRBY k 0")
	if got := h.take(); len(got) != 0 {
		t.Errorf("serial counter commands sent %v; want nothing", got)
	}
	const serial = "-ERR counters cannot be serial: MEMDB.CONSISTENCY quorum (or one, all) first\r\n"
	if got, want := h.out(), "+OK\r\n"+serial+serial; got != want {
		t.Errorf("serial counter commands: replies %q, want %q", got, want)
	}
	other := newRESPHarness(t, 2)
	if other.ss.session == h.ss.session {
		t.Errorf("two connections share session %x", h.ss.session)
	}
}

// A pipeline takes effect in order: a GET after an INCR of its key waits
// for the INCR, and replies come in command order.
func TestRESPCounterPipelineOrder(t *testing.T) {
	h := newRESPHarness(t, 1)
	h.run("INCR k", "GET k", "INCR other")
	if got := h.take(); len(got) != 1 {
		t.Fatalf("with INCR k unanswered, %d requests were made; want only the INCR (GET k and the rest wait)", len(got))
	}
	h.answer(&net.CounterValue{Value: 1})
	got := h.take()
	if len(got) != 2 {
		t.Fatalf("after INCR k answered, requests %v; want GET k and INCR other", got)
	}
	if _, ok := got[0].(*net.Get); !ok {
		t.Fatalf("after INCR k answered, the first request is %v; want GET k", got[0])
	}
	if in, ok := got[1].(*net.Incr); !ok || in.Seq != 2 {
		t.Fatalf("after INCR k answered, the second request is %v; want INCR other with seq 2", got[1])
	}
	h.answer(&net.Error{Code: net.CodeWrongKind, Message: "a counter"})
	h.answer(&net.CounterValue{Value: 1})
	if got, want := h.out(), ":1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:1\r\n"; got != want {
		t.Errorf("replies %q, want %q", got, want)
	}
}

// End to end, through a real node and go-redis, once the node serves
// counters (skipped until then): run after the node side is merged.
func TestRESPCountersEndToEnd(t *testing.T) {
	s := startRESPServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc := redis.NewClient(&redis.Options{Addr: s.RESPAddr()})
	defer rc.Close()
	n, err := rc.Incr(ctx, "c").Result()
	if err != nil && (strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "unsupported")) {
		t.Skipf("the node does not serve counters: %v", err)
	}
	if err != nil || n != 1 {
		t.Fatalf("INCR c = %d, %v; want 1", n, err)
	}
	steps := []struct {
		do   func() (int64, error)
		name string
		want int64
	}{
		{func() (int64, error) { return rc.IncrBy(ctx, "c", 41).Result() }, "INCRBY c 41", 42},
		{func() (int64, error) { return rc.Decr(ctx, "c").Result() }, "DECR c", 41},
		{func() (int64, error) { return rc.DecrBy(ctx, "c", 50).Result() }, "DECRBY c 50", -9},
		{func() (int64, error) { return rc.IncrBy(ctx, "c", 0).Result() }, "INCRBY c 0", -9},
		{func() (int64, error) { return rc.IncrBy(ctx, "fresh", 0).Result() }, "INCRBY fresh 0", 0},
	}
	for _, st := range steps {
		if got, err := st.do(); err != nil || got != st.want {
			t.Errorf("%s = %d, %v; want %d", st.name, got, err, st.want)
		}
	}
	if err := rc.Set(ctx, "plain", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"INCR plain", rc.Incr(ctx, "plain").Err()},
		{"GET c", rc.Get(ctx, "c").Err()},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), "WRONGTYPE ") {
			t.Errorf("%s: %v; want WRONGTYPE", tc.name, tc.err)
		}
	}
	// -9 + MaxInt64 fits; 100 more do not.
	if err := rc.IncrBy(ctx, "c", 9223372036854775807).Err(); err != nil {
		t.Errorf("INCRBY c MaxInt64: %v", err)
	}
	err = rc.IncrBy(ctx, "c", 100).Err()
	var rerr redis.Error
	if !errors.As(err, &rerr) || err.Error() != "ERR increment or decrement would overflow" {
		t.Errorf("INCRBY past MaxInt64: %v; want ERR increment or decrement would overflow", err)
	}
	if v, err := rc.IncrBy(ctx, "c", 0).Result(); err != nil || v != 9223372036854775807-9 {
		t.Errorf("after a refused overflow: %d, %v; want %d (nothing applied)", v, err, int64(9223372036854775807-9))
	}
}

// The pipeline-order rule when the node answers later (as on several
// nodes): a command on a key an earlier one has not finished with is not
// sent until that one is answered, and every command after it waits too;
// commands on other keys before it go at once.
func TestRESPOrderAnsweredLater(t *testing.T) {
	h := newRESPHarness(t, 1)
	h.run("SET k a", "GET j", "GET k", "GET i")
	if got := h.take(); len(got) != 2 {
		t.Fatalf("sent before any answer: %v, want SET k and GET j", got)
	}
	h.answer(&net.Done{}) // SET k
	if got := h.take(); len(got) != 3 {
		t.Fatalf("after SET k's answer: %v, want GET j, GET k, GET i", got)
	}
	h.answer(&net.Value{Found: true, Value: []byte("J")})
	h.answer(&net.Value{Found: true, Value: []byte("a")})
	h.answer(&net.Value{})
	if got, want := h.out(), "+OK\r\n$1\r\nJ\r\n$1\r\na\r\n$-1\r\n"; got != want {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if len(h.ss.busy) != 0 || h.ss.marked != 0 || len(h.ss.running) != 0 {
		t.Fatalf("keys still held: busy %v, marked %d, running %d", h.ss.busy, h.ss.marked, len(h.ss.running))
	}
}
