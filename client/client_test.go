package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"strings"
	"sync"
	"testing"

	"github.com/memdb/memdb/host"
	"github.com/memdb/memdb/net"
	"pgregory.net/rapid"
)

// startNode runs a real node in-process, stopped when the test ends.
func startNode(t testing.TB, key string) *host.Server {
	t.Helper()
	cfg := host.DefaultConfig()
	cfg.ID = 1
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTP = ""
	cfg.DataDir = t.TempDir()
	cfg.ClientKey = key
	cfg.Fsync = "none"
	srv, err := host.Start(cfg, nil)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func dialNode(t testing.TB, srv *host.Server, key string, conns int) *Client {
	t.Helper()
	c, err := Dial(context.Background(), Options{Addrs: []string{srv.Addr()}, Key: key, Conns: conns})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestOperations(t *testing.T) {
	srv := startNode(t, "secret")
	c := dialNode(t, srv, "secret", 1)
	ctx := context.Background()

	if _, err := c.Get(ctx, "k"); err != ErrNotFound {
		t.Fatalf("Get of a key never written: got %v, want ErrNotFound", err)
	}
	if ok, err := c.Contains(ctx, "k"); ok || err != nil {
		t.Fatalf("Contains of a key never written: got %v, %v; want false, nil", ok, err)
	}
	if err := c.Set(ctx, "k", []byte("hello world")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := c.Get(ctx, "k", WithConsistency(net.One)); err != nil || string(got) != "hello world" {
		t.Fatalf("Get: got %q, %v; want %q", got, err, "hello world")
	}
	if ok, err := c.Contains(ctx, "k"); !ok || err != nil {
		t.Fatalf("Contains: got %v, %v; want true, nil", ok, err)
	}
	if err := c.Set(ctx, "k", nil); err != nil {
		t.Fatalf("Set of an empty value: %v", err)
	}
	if got, err := c.Get(ctx, "k"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get of an empty value: got %q (nil: %v), %v; want an empty, non-nil value", got, got == nil, err)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Get(ctx, "k"); err != ErrNotFound {
		t.Fatalf("Get after Delete: got %v, want ErrNotFound", err)
	}
	if err := c.Delete(ctx, "never"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	srv := startNode(t, "secret")
	for _, key := range []string{"", "guess"} {
		_, err := Dial(context.Background(), Options{Addrs: []string{srv.Addr()}, Key: key})
		if !errors.Is(err, ErrAuth) {
			t.Errorf("Dial with key %q: got %v, want ErrAuth", key, err)
		}
	}
	// A node without a key proves itself with the empty one, which a
	// client holding a key must not accept.
	open := startNode(t, "")
	if _, err := Dial(context.Background(), Options{Addrs: []string{open.Addr()}, Key: "secret"}); !errors.Is(err, ErrAuth) {
		t.Errorf("Dial with a key to a node without one: got %v, want ErrAuth", err)
	}
}

func TestBadInputRefusedClientSide(t *testing.T) {
	srv := startNode(t, "")
	c := dialNode(t, srv, "", 1)
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"oversized value", c.Set(ctx, "k", make([]byte, net.MaxValue+1)), net.ErrTooLarge},
		{"empty key", c.Set(ctx, "", []byte("v")), net.ErrBadKey},
		{"oversized key", func() error { _, err := c.Get(ctx, string(make([]byte, net.MaxKey+1))); return err }(), net.ErrBadKey},
	}
	for _, tc := range tests {
		// The codec's sentinels come only from client-side checks; the
		// node would have answered with a *net.Error instead.
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	big := bytes.Repeat([]byte("x"), net.MaxValue)
	if err := c.Set(ctx, "big", big); err != nil {
		t.Fatalf("Set of a value of exactly MaxValue bytes: %v", err)
	}
	if got, err := c.Get(ctx, "big"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get of the largest value: %d bytes, %v; want %d bytes", len(got), err, len(big))
	}
}

// Many goroutines share one connection; each gets its own answers.
func TestPipelining(t *testing.T) {
	srv := startNode(t, "")
	c := dialNode(t, srv, "", 1)
	first := c.pools[srv.Addr()].slots[0].c.Load()
	const workers, ops = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			for i := range ops {
				key := fmt.Sprintf("w%d-%d", w, i)
				val := fmt.Sprintf("value %d of worker %d", i, w)
				if err := c.Set(ctx, key, []byte(val)); err != nil {
					errs <- err
					return
				}
				got, err := c.Get(ctx, key)
				if err == nil && string(got) != val {
					err = fmt.Errorf("Get(%q) = %q, want %q", key, got, val)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if now := c.pools[srv.Addr()].slots[0].c.Load(); now != first {
		t.Error("the client opened a second connection; want every call on the first")
	}
}

// A node that stopped: calls fail with ErrUnreachable, and a node back at
// the same address is used again.
func TestNodeGone(t *testing.T) {
	srv := startNode(t, "")
	c := dialNode(t, srv, "", 1)
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	srv.Close()
	if err := c.Set(ctx, "k", []byte("w")); !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("Set to a stopped node: got %v, want ErrUnreachable or ErrUnknownOutcome", err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Get from a stopped node: got %v, want ErrUnreachable", err)
	}

	cfg := host.DefaultConfig()
	cfg.Listen, cfg.HTTP, cfg.DataDir, cfg.Fsync = srv.Addr(), "", t.TempDir(), "none"
	again, err := host.Start(cfg, nil)
	if err != nil {
		t.Skipf("cannot restart a node at %s: %v", srv.Addr(), err)
	}
	defer again.Close()
	if err := c.Set(ctx, "k", []byte("x")); err != nil {
		t.Fatalf("Set once the node is back: %v", err)
	}
}

// The client against a model: any sequence of operations on a few keys
// reads what a map would.
func TestAgainstModel(t *testing.T) {
	srv := startNode(t, "")
	c := dialNode(t, srv, "", 1)
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		prefix := fmt.Sprintf("run%d/", run)
		model := map[string]string{}
		ctx := context.Background()
		key := rapid.SampledFrom([]string{"a", "b", "c"})
		for range rapid.IntRange(1, 30).Draw(rt, "ops") {
			k := key.Draw(rt, "key")
			switch op := rapid.SampledFrom([]string{"set", "get", "del", "exists"}).Draw(rt, "op"); op {
			case "set":
				v := rapid.String().Draw(rt, "value")
				if err := c.Set(ctx, prefix+k, []byte(v)); err != nil {
					rt.Fatalf("set %s: %v", k, err)
				}
				model[k] = v
			case "del":
				if err := c.Delete(ctx, prefix+k); err != nil {
					rt.Fatalf("del %s: %v", k, err)
				}
				delete(model, k)
			case "get":
				got, err := c.Get(ctx, prefix+k)
				want, ok := model[k]
				if !ok && err != ErrNotFound || ok && (err != nil || string(got) != want) {
					rt.Fatalf("get %s: got %q, %v; want %q (present: %v)", k, got, err, want, ok)
				}
			case "exists":
				got, err := c.Contains(ctx, prefix+k)
				if _, want := model[k]; err != nil || got != want {
					rt.Fatalf("exists %s: got %v, %v; want %v", k, got, err, want)
				}
			}
		}
	})
}

// Options.Dialer opens every connection, with the node's address as the
// client knows it; its error is the call's.
func TestDialer(t *testing.T) {
	srv := startNode(t, "")
	var mu sync.Mutex
	var asked []string
	refuse := false
	dialer := func(ctx context.Context, addr string) (stdnet.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, addr)
		if refuse {
			return nil, errors.New("dialer says no")
		}
		var d stdnet.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	c, err := Dial(context.Background(), Options{Addrs: []string{srv.Addr()}, Conns: 2, Dialer: dialer})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	for i := range 4 {
		if err := c.Set(context.Background(), fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	mu.Lock()
	if len(asked) != 2 || asked[0] != srv.Addr() || asked[1] != srv.Addr() {
		t.Fatalf("the dialer was asked for %q, want %s twice (two connections)", asked, srv.Addr())
	}
	refuse = true
	mu.Unlock()
	_, err = Dial(context.Background(), Options{Addrs: []string{srv.Addr()}, Dialer: dialer})
	if err == nil || !strings.Contains(err.Error(), "dialer says no") {
		t.Fatalf("Dial through a refusing dialer: %v, want its error", err)
	}
}
