package e2e

import (
	"context"
	stdnet "net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCutOffNodeDoesNotStall is TestPausedNodeDoesNotStall's write and
// read runs with node 2 cut off from the client instead of paused (issue
// 21, item 4): a one-way partition, where the client cannot reach node 2
// while the nodes reach each other, so node 2 goes on replicating and
// coordinating for its peers. The client reaches node 2 through a proxy
// (client.Options.Dialer) that, while the cut lasts, passes no byte either
// way and completes no new connection — what a client sees of a network
// path that stopped delivering — and lets everything it held through once
// healed. The same rules hold as for the pause: every key is written (read)
// by a call made during the cut, at most one write fails and it is an
// unknown outcome naming node 2, and no read fails.
func TestCutOffNodeDoesNotStall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	c := startCluster(t, 3, 3)
	c.waitNormal(30 * time.Second)
	cutOff := c.node(2)
	proxy := newStallProxy(t, cutOff.listen)
	dialer := func(ctx context.Context, addr string) (stdnet.Conn, error) {
		if addr == cutOff.listen {
			addr = proxy.addr()
		}
		var d stdnet.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	keys := pauseKeys(300)
	plan, timeout := stallPlan(keys)
	cl := pauseClient(t, c, timeout, dialer)
	value := []byte(strings.Repeat("v", 100))
	routedThrough(t, plan, keys, cl, value, cutOff, func() { proxy.setCut(true) }, func() { proxy.setCut(false) })
	if n := proxy.accepted(); n == 0 {
		t.Fatalf("the client never connected to node 2 through the proxy: the cut cut nothing")
	}
	// Node 2 was cut off from the client only: it stayed a member that
	// its peers reached, and it holds every key.
	if st := cutOff.status(t); st.Keys < len(keys) {
		t.Errorf("node 2 holds %d keys after the cut, want %d: its peers could not reach it", st.Keys, len(keys))
	}
}

// A stallProxy forwards TCP connections to target. While cut, it passes no
// byte in either direction (what it has read it holds; the rest waits in
// the kernel's buffers) and connects no new connection onward; healed, it
// lets everything through in order, as a network path that stopped and
// resumed delivering would.
type stallProxy struct {
	ln     stdnet.Listener
	target string

	mu     sync.Mutex
	flow   *sync.Cond // signalled when cut turns false or the proxy closes
	cut    bool
	closed bool
	conns  []stdnet.Conn
	count  int
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.flow = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

// accepted is how many connections the proxy took.
func (p *stallProxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// setCut cuts the path or heals it.
func (p *stallProxy) setCut(cut bool) {
	p.mu.Lock()
	p.cut = cut
	p.mu.Unlock()
	p.flow.Broadcast()
}

// pass waits while the path is cut; false once the proxy is closed.
func (p *stallProxy) pass() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.cut && !p.closed {
		p.flow.Wait()
	}
	return !p.closed
}

// track keeps c to close with the proxy; false if it is closed already.
func (p *stallProxy) track(c stdnet.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *stallProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.count++
		p.mu.Unlock()
		go p.serve(c)
	}
}

func (p *stallProxy) serve(c stdnet.Conn) {
	if !p.track(c) || !p.pass() {
		c.Close()
		return
	}
	up, err := stdnet.Dial("tcp", p.target)
	if err != nil || !p.track(up) {
		c.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	go p.pipe(up, c)
	p.pipe(c, up)
}

// pipe copies src to dst, holding each read while the path is cut; an
// end on either side closes both.
func (p *stallProxy) pipe(dst, src stdnet.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.mu.Unlock()
	p.flow.Broadcast()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}
