package client

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	stdnet "net"
	"sync"
	"testing"

	"github.com/memdb/memdb/net"
)

// fakeNode is a scripted node: it runs the server side of the handshake,
// then hands each authenticated connection to serve, so a test can answer,
// stall, reorder or hang up exactly when it wants to.
type fakeNode struct {
	t     testing.TB
	ln    stdnet.Listener
	key   []byte
	serve func(*fakeConn)
	// badProof makes the node answer Auth with a proof of the wrong key.
	badProof bool
	// asked receives a value each time a client asks for the ring, if
	// there is room.
	asked chan struct{}

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []stdnet.Conn
	ring  func() net.Message // the answer to Ring; nil: CodeUnknownKind
	// paused, while not nil, holds every answer (Ring's too) until it is
	// closed, as a stopped process would: requests queue, none is lost.
	paused chan struct{}
}

// pause makes the node hold every answer until resume.
func (n *fakeNode) pause() {
	n.mu.Lock()
	if n.paused == nil {
		n.paused = make(chan struct{})
	}
	n.mu.Unlock()
}

// resume lets the held answers go.
func (n *fakeNode) resume() {
	n.mu.Lock()
	if n.paused != nil {
		close(n.paused)
		n.paused = nil
	}
	n.mu.Unlock()
}

// hold waits while the node is paused.
func (n *fakeNode) hold() {
	n.mu.Lock()
	p := n.paused
	n.mu.Unlock()
	if p != nil {
		<-p
	}
}

// dropConns closes every connection the node has accepted so far.
func (n *fakeNode) dropConns() {
	n.mu.Lock()
	for _, c := range n.conns {
		c.Close()
	}
	n.conns = nil
	n.mu.Unlock()
}

// fakeConn is one connection of a fakeNode.
type fakeConn struct {
	t    testing.TB
	node *fakeNode
	nc   stdnet.Conn
	br   *bufio.Reader
}

func startFake(t testing.TB, key string, serve func(*fakeConn)) *fakeNode {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{t: t, ln: ln, key: []byte(key), serve: serve, asked: make(chan struct{}, 1024)}
	n.wg.Add(1)
	go n.accept()
	t.Cleanup(n.stop)
	return n
}

func (n *fakeNode) addr() string { return n.ln.Addr().String() }

// setRing makes the node answer Ring with what answer returns, as a node of
// a cluster does; until then it answers CodeUnknownKind, as a node that
// does not serve the ring does.
func (n *fakeNode) setRing(answer func() net.Message) {
	n.mu.Lock()
	n.ring = answer
	n.mu.Unlock()
}

// ringAnswer is the node's answer to Ring.
func (n *fakeNode) ringAnswer() net.Message {
	n.mu.Lock()
	answer := n.ring
	n.mu.Unlock()
	select {
	case n.asked <- struct{}{}:
	default:
	}
	if answer == nil {
		return &net.Error{Code: net.CodeUnknownKind, Message: "unknown request kind ring"}
	}
	return answer()
}

// stop closes the listener and every connection and waits for the
// handlers.
func (n *fakeNode) stop() {
	n.resume()
	n.ln.Close()
	n.mu.Lock()
	for _, c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

func (n *fakeNode) accept() {
	defer n.wg.Done()
	for {
		nc, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		n.conns = append(n.conns, nc)
		n.mu.Unlock()
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer nc.Close()
			c := &fakeConn{t: n.t, node: n, nc: nc, br: bufio.NewReader(nc)}
			if n.handshake(c) {
				n.serve(c)
			}
		}()
	}
}

func (n *fakeNode) handshake(c *fakeConn) bool {
	ch := &net.Challenge{Version: net.Version, Node: 9}
	rand.Read(ch.Nonce[:])
	if c.write(net.Frame{Msg: ch}) != nil {
		return false
	}
	f, err := c.read()
	if err != nil {
		return false
	}
	a, ok := f.Msg.(*net.Auth)
	if !ok {
		return false
	}
	if !net.VerifyProof(a.MAC, net.ClientProof(n.key, a.Role, a.Node, ch.Nonce, a.Nonce)) {
		c.write(net.Frame{ID: f.ID, Msg: &net.Error{Code: net.CodeAuth, Message: "wrong client key"}})
		return false
	}
	key := n.key
	if n.badProof {
		key = []byte("not the key")
	}
	return c.write(net.Frame{ID: f.ID, Msg: &net.AuthOK{MAC: net.ServerProof(key, a.Role, a.Node, ch.Nonce, a.Nonce)}}) == nil
}

// read returns the next frame; an error means the client hung up. Ring
// requests are answered here (see setRing), so serve functions see only
// the other requests.
func (c *fakeConn) read() (net.Frame, error) {
	for {
		f, err := readFrame(c.br)
		if _, ok := f.Msg.(*net.Ring); err != nil || !ok {
			return f, err
		}
		c.node.hold()
		if err := c.write(net.Frame{ID: f.ID, Msg: c.node.ringAnswer()}); err != nil {
			return net.Frame{}, err
		}
	}
}

func (c *fakeConn) write(fs ...net.Frame) error {
	var b []byte
	for _, f := range fs {
		b = net.AppendFrame(b, f)
	}
	_, err := c.nc.Write(b)
	return err
}

// answer serves requests from an in-memory map until the client hangs up.
func (c *fakeConn) answer(data map[string][]byte, mu *sync.Mutex) {
	for {
		f, err := c.read()
		if err != nil {
			return
		}
		c.write(net.Frame{ID: f.ID, Msg: apply(f.Msg, data, mu)})
	}
}

// apply is a one-node store good enough for tests of the client.
func apply(m net.Message, data map[string][]byte, mu *sync.Mutex) net.Message {
	mu.Lock()
	defer mu.Unlock()
	switch m := m.(type) {
	case *net.Get:
		v, ok := data[string(m.Key)]
		return &net.Value{Found: ok, Value: v}
	case *net.Set:
		data[string(m.Key)] = m.Value
		return &net.Done{}
	case *net.Delete:
		if m.Level == net.Serial {
			// As a node answers.
			return &net.Error{Code: net.CodeUnsupported, Message: "a delete cannot be serial"}
		}
		delete(data, string(m.Key))
		return &net.Done{}
	case *net.CAS:
		v, ok := data[string(m.Key)]
		if ok != m.OldFound || !bytes.Equal(v, m.Old) {
			return &net.Bool{Value: false}
		}
		data[string(m.Key)] = m.New
		return &net.Bool{Value: true}
	case *net.Contains:
		_, ok := data[string(m.Key)]
		return &net.Bool{Value: ok}
	case *net.Compact:
		return &net.Done{}
	}
	return &net.Error{Code: net.CodeUnknownKind, Message: "not a request"}
}

// isAll reports whether errors.Is(err, w) holds for every w in want.
func isAll(err error, want ...error) bool {
	for _, w := range want {
		if !errors.Is(err, w) {
			return false
		}
	}
	return true
}
