package client

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

func dialFake(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestNodeWithoutTheKeyRefused(t *testing.T) {
	n := startFake(t, "secret", func(c *fakeConn) { c.answer(map[string][]byte{}, new(sync.Mutex)) })
	n.badProof = true
	_, err := Dial(context.Background(), Options{Addrs: []string{n.addr()}, Key: "secret"})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Dial to a node that cannot prove the key: got %v, want ErrAuth", err)
	}
}

// A write whose connection breaks after it was sent has an unknown
// outcome; a read in the same spot is retried.
func TestConnectionLostAfterSend(t *testing.T) {
	data, mu := map[string][]byte{"k": []byte("v")}, new(sync.Mutex)
	var calls sync.Mutex
	hangUps := 0
	n := startFake(t, "", func(c *fakeConn) {
		// The first request on each of the first two connections is
		// read and dropped with the connection.
		calls.Lock()
		hangUp := hangUps < 2
		hangUps++
		calls.Unlock()
		if hangUp {
			c.read()
			return
		}
		c.answer(data, mu)
	})
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	ctx := context.Background()

	err := c.Set(ctx, "k", []byte("w"))
	if !errors.Is(err, ErrUnknownOutcome) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Set on a connection that broke: got %v, want ErrUnknownOutcome (not ErrTimeout)", err)
	}
	got, err := c.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get after the connection broke once more: %v (a read must be retried)", err)
	}
	if string(got) != "v" {
		t.Fatalf("Get: got %q, want %q (the set was never applied)", got, "v")
	}
}

// A node that never answers: a write times out with an unknown outcome, a
// read just times out; the connection stays usable.
func TestTimeout(t *testing.T) {
	n := startFake(t, "", func(c *fakeConn) {
		for {
			if _, err := c.read(); err != nil {
				return
			}
		}
	})
	c := dialFake(t, Options{Addrs: []string{n.addr()}, Timeout: 20 * time.Millisecond})
	ctx := context.Background()
	err := c.Delete(ctx, "k")
	if !isAll(err, ErrUnknownOutcome, ErrTimeout, context.DeadlineExceeded) {
		t.Errorf("Delete with no reply: got %v, want ErrUnknownOutcome, ErrTimeout and DeadlineExceeded", err)
	}
	_, err = c.Get(ctx, "k")
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnknownOutcome) {
		t.Errorf("Get with no reply: got %v, want ErrTimeout and not ErrUnknownOutcome", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Contains(cctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Contains with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		code net.Code
		want error
	}{
		{net.CodeUnavailable, ErrQuorum},
		{net.CodeUnknownOutcome, ErrUnknownOutcome},
		{net.CodeContention, ErrContention},
		{net.CodeAuth, ErrAuth},
		{net.CodeInternal, nil},
		{net.CodeUnsupported, nil},
	}
	for _, tc := range tests {
		t.Run(tc.code.String(), func(t *testing.T) {
			n := startFake(t, "", func(c *fakeConn) {
				for {
					f, err := c.read()
					if err != nil {
						return
					}
					c.write(net.Frame{ID: f.ID, Msg: &net.Error{Code: tc.code, Message: "scripted"}})
				}
			})
			c := dialFake(t, Options{Addrs: []string{n.addr()}})
			err := c.Set(context.Background(), "k", []byte("v"))
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			var ne *net.Error
			if !errors.As(err, &ne) || ne.Code != tc.code {
				t.Errorf("got %v, want a *net.Error with code %s", err, tc.code)
			}
		})
	}
}

// A node that is shutting down refused the request without acting on it,
// so even a write goes on to the next address.
func TestShuttingDownMovesOn(t *testing.T) {
	stopping := startFake(t, "", func(c *fakeConn) {
		for {
			f, err := c.read()
			if err != nil {
				return
			}
			c.write(net.Frame{ID: f.ID, Msg: &net.Error{Code: net.CodeShuttingDown, Message: "bye"}})
		}
	})
	data, mu := map[string][]byte{}, new(sync.Mutex)
	up := startFake(t, "", func(c *fakeConn) { c.answer(data, mu) })
	c := dialFake(t, Options{Addrs: []string{stopping.addr(), up.addr()}, HedgeAfter: -1, SlowAfter: -1})
	if err := c.Set(context.Background(), "k", []byte("v")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := string(data["k"]); got != "v" {
		t.Fatalf("the second node holds %q, want %q", got, "v")
	}
}

func TestUnreachable(t *testing.T) {
	data, mu := map[string][]byte{}, new(sync.Mutex)
	up := startFake(t, "", func(c *fakeConn) { c.answer(data, mu) })
	down := closedAddr(t)

	c := dialFake(t, Options{Addrs: []string{down, up.addr()}, HedgeAfter: -1, SlowAfter: -1})
	if err := c.Set(context.Background(), "k", []byte("v")); err != nil {
		t.Fatalf("Set with the first address down: %v", err)
	}

	_, err := Dial(context.Background(), Options{Addrs: []string{down, closedAddr(t)}})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Dial with every address down: got %v, want ErrUnreachable", err)
	}

	up.stop()
	_, err = c.Get(context.Background(), "k")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Get after every node went: got %v, want ErrUnreachable", err)
	}
}

// Replies come back in the reverse order of their requests; each caller
// still gets its own.
func TestRepliesOutOfOrder(t *testing.T) {
	const calls = 32
	n := startFake(t, "", func(c *fakeConn) {
		var fs []net.Frame
		for len(fs) < calls {
			f, err := c.read()
			if err != nil {
				return
			}
			fs = append(fs, f)
		}
		var out []net.Frame
		for i := len(fs) - 1; i >= 0; i-- {
			key := fs[i].Msg.(*net.Get).Key
			out = append(out, net.Frame{ID: fs[i].ID, Msg: &net.Value{Found: true, Value: append([]byte("value of "), key...)}})
		}
		c.write(out...)
		c.answer(map[string][]byte{}, new(sync.Mutex))
	})
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			got, err := c.Get(context.Background(), key)
			if err == nil && string(got) != "value of "+key {
				err = fmt.Errorf("Get(%q) = %q, want %q", key, got, "value of "+key)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Every request carries the highest timestamp seen in any reply: frame
// clocks and the versions of values and writes. A CAS's Bool carries no
// version, but its frame clock counts like any other.
func TestSessionClock(t *testing.T) {
	clocks := make(chan clock.Timestamp, 16)
	replies := []net.Frame{
		{Clock: clock.Timestamp{Counter: 5, Node: 1}, Msg: &net.Done{Version: clock.Timestamp{Counter: 7, Node: 2}}},
		{Clock: clock.Timestamp{Counter: 10, Node: 3}, Msg: &net.Value{}},
		{Clock: clock.Timestamp{Counter: 1, Node: 1}, Msg: &net.Value{Found: true, Version: clock.Timestamp{Counter: 20, Node: 1}, Value: []byte("x")}},
		{Clock: clock.Timestamp{Counter: 2, Node: 1}, Msg: &net.Bool{}},
		{Msg: &net.Bool{}},
		{Clock: clock.Timestamp{Counter: 30, Node: 2}, Msg: &net.Bool{Value: true}},
		{Msg: &net.Value{}},
	}
	n := startFake(t, "", func(c *fakeConn) {
		for _, r := range replies {
			f, err := c.read()
			if err != nil {
				return
			}
			clocks <- f.Clock
			r.ID = f.ID
			c.write(r)
		}
	})
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	ctx := context.Background()
	c.Set(ctx, "k", []byte("v"))
	c.Get(ctx, "k")
	c.Get(ctx, "k")
	c.Contains(ctx, "k")
	c.Contains(ctx, "k")
	c.CAS(ctx, "k", nil, []byte("v"))
	c.Get(ctx, "k", WithConsistency(net.Serial))
	close(clocks)
	var got []clock.Timestamp
	for ts := range clocks {
		got = append(got, ts)
	}
	want := []clock.Timestamp{{}, {Counter: 7, Node: 2}, {Counter: 10, Node: 3}, {Counter: 20, Node: 1}, {Counter: 20, Node: 1},
		{Counter: 20, Node: 1}, {Counter: 30, Node: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("request clocks (-want +got):\n%s", diff)
	}
}

func TestCloseFailsCallsInFlight(t *testing.T) {
	received := make(chan struct{})
	n := startFake(t, "", func(c *fakeConn) {
		c.read()
		close(received)
		c.read() // until the client hangs up
	})
	c := dialFake(t, Options{Addrs: []string{n.addr()}, Timeout: -1})
	errc := make(chan error, 1)
	go func() { errc <- c.Set(context.Background(), "k", []byte("v")) }()
	<-received
	c.Close()
	if err := <-errc; !isAll(err, ErrClosed, ErrUnknownOutcome) {
		t.Errorf("Set in flight at Close: got %v, want ErrClosed and ErrUnknownOutcome", err)
	}
	if _, err := c.Get(context.Background(), "k"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: got %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Something that is not a memdb node answers: the client says so and
// does not hang.
func TestNotAMemdbNode(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			nc.Close()
		}
	}()
	_, err = Dial(context.Background(), Options{Addrs: []string{ln.Addr().String()}})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "memdb node") {
		t.Fatalf("Dial to an HTTP server: got %v, want ErrUnreachable asking whether it is a memdb node", err)
	}
}
