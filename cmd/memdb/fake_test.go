package main

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/memdb/memdb/net"
)

// fakeNode is a one-node store on a real net.Server that records every
// request, so a test sees exactly what memdb sent. It answers as a node
// with Paxos does, and scripts the failures a test cannot arrange on a
// real node: a CAS or serial request on a key starting with "contended"
// loses with CodeContention, one on a key starting with "unknown" gets
// CodeUnknownOutcome. It does not serve the ring, so the client talks to
// it as to a node without routing.
//
// Counters are kept apart from values (a counter request on a value, or a
// value request on a counter, is answered CodeWrongKind); an increment on
// a key starting with "unknown" is answered CodeUnknownOutcome, every
// attempt, and one that would leave int64 is refused CodeUnsupported.
type fakeNode struct {
	srv *net.Server

	mu       sync.Mutex
	data     map[string][]byte
	counters map[string]int64
	got      []net.Message
}

func startFake(t *testing.T) *fakeNode {
	t.Helper()
	n := &fakeNode{data: map[string][]byte{}, counters: map[string]int64{}}
	srv, err := net.Listen("127.0.0.1:0", net.ServerConfig{Node: 1, ClientKey: []byte(testKey), Handler: n})
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	t.Cleanup(srv.Close)
	return n
}

func (n *fakeNode) addr() string { return n.srv.Addr() }

// take returns the requests received since the last take.
func (n *fakeNode) take() []net.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	got := n.got
	n.got = nil
	return got
}

func (n *fakeNode) Frames(c *net.Conn, fs []net.Frame) {
	for _, f := range fs {
		c.Send(net.Frame{ID: f.ID, Msg: n.apply(f.Msg)})
	}
}

func (n *fakeNode) Closed(*net.Conn) {}

func (n *fakeNode) apply(m net.Message) net.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := m.(*net.Ring); ok {
		return &net.Error{Code: net.CodeUnknownKind, Message: "unknown request kind ring"}
	}
	n.got = append(n.got, m)
	wrong := &net.Error{Code: net.CodeWrongKind, Message: "the key holds another kind of value"}
	switch m := m.(type) {
	case *net.Incr:
		if _, ok := n.data[string(m.Key)]; ok {
			return wrong
		}
		if strings.HasPrefix(string(m.Key), "unknown") {
			return &net.Error{Code: net.CodeUnknownOutcome, Message: "replicas silent"}
		}
		v := n.counters[string(m.Key)]
		if m.Delta > 0 && v > math.MaxInt64-m.Delta || m.Delta < 0 && v < math.MinInt64-m.Delta {
			return &net.Error{Code: net.CodeUnsupported, Message: "counter overflow"}
		}
		n.counters[string(m.Key)] = v + m.Delta
		return &net.CounterValue{Value: v + m.Delta}
	case *net.GetCounter:
		if _, ok := n.data[string(m.Key)]; ok {
			return wrong
		}
		return &net.CounterValue{Value: n.counters[string(m.Key)]}
	case *net.Get:
		if _, ok := n.counters[string(m.Key)]; ok {
			return wrong
		}
		if e := scripted(m.Key, m.Level); e != nil {
			return e
		}
		v, ok := n.data[string(m.Key)]
		return &net.Value{Found: ok, Value: v}
	case *net.Contains:
		if e := scripted(m.Key, m.Level); e != nil {
			return e
		}
		_, ok := n.data[string(m.Key)]
		return &net.Bool{Value: ok}
	case *net.Set:
		if e := scripted(m.Key, m.Level); e != nil {
			return e
		}
		n.data[string(m.Key)] = bytes.Clone(m.Value)
		return &net.Done{}
	case *net.Delete:
		if m.Level == net.Serial {
			return &net.Error{Code: net.CodeUnsupported, Message: "a delete cannot be serial"}
		}
		delete(n.data, string(m.Key))
		return &net.Done{}
	case *net.CAS:
		if e := scripted(m.Key, net.Serial); e != nil {
			return e
		}
		v, ok := n.data[string(m.Key)]
		if ok != m.OldFound || !bytes.Equal(v, m.Old) {
			return &net.Bool{Value: false}
		}
		n.data[string(m.Key)] = bytes.Clone(m.New)
		return &net.Bool{Value: true}
	}
	return &net.Error{Code: net.CodeUnknownKind, Message: "not served by the fake"}
}

// scripted is the failure the fake answers a request about key at level
// with, or nil.
func scripted(key []byte, level net.Consistency) *net.Error {
	switch {
	case level != net.Serial:
		return nil
	case strings.HasPrefix(string(key), "contended"):
		return &net.Error{Code: net.CodeContention, Message: "lost to other proposers"}
	case strings.HasPrefix(string(key), "unknown"):
		return &net.Error{Code: net.CodeUnknownOutcome, Message: "no quorum of acceptors answered in time"}
	}
	return nil
}
