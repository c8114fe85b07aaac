package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	stdnet "net"
	"os"
	"time"

	"github.com/memdb/memdb/net"
)

// Defaults for the zero values of Options.
const (
	DefaultAddr    = "127.0.0.1:7400"
	DefaultTimeout = 5 * time.Second
	DefaultConns   = 1
	// DefaultRingRefresh is how often a routing client asks for the ring.
	DefaultRingRefresh = 30 * time.Second
	// DefaultSlowAfter is the least time a request goes unanswered before
	// its node may be found slow.
	DefaultSlowAfter = 50 * time.Millisecond
	// DefaultHedgeAfter is the least time a read waits for its node
	// before it is sent to another node as well.
	DefaultHedgeAfter = 2 * time.Millisecond
)

// Options configures a Client. The zero value of every field but Addrs
// means its default.
type Options struct {
	// Addrs are node addresses (host:port). At least one is needed. Dial
	// asks the first that answers for the ring (the others are fallbacks);
	// without the ring, every call starts with the node that answered last
	// and moves on when one does not answer.
	Addrs []string
	// Key is the client key the nodes were started with (auth.client_key);
	// empty when they require none.
	Key string
	// TLS, when set, makes every connection TLS: RootCAs vouch for the
	// nodes' certificates (nil: the system's roots), Certificates holds the
	// client certificate for nodes that require one (-tls-client-ca).
	// ServerName may stay empty: each node's address is checked against
	// its certificate. LoadTLS builds one from PEM files. The client key
	// is still proved inside TLS.
	TLS *tls.Config
	// Consistency is the level of calls that do not choose one with
	// WithConsistency. Default lets the node choose (quorum). At
	// net.Serial, Delete calls fail unless they choose another level (see
	// WithConsistency).
	Consistency net.Consistency
	// Timeout bounds each call, connecting included, when the caller's
	// context has no earlier deadline. Default DefaultTimeout; negative
	// means no bound other than the context's.
	Timeout time.Duration
	// Conns is the number of connections per node; requests are spread
	// over them round-robin. Each connection is pipelined, so one is
	// enough for most programs. Default DefaultConns.
	Conns int
	// NoRouting turns routing off: every call goes to the node that
	// answered last, which coordinates it (an extra hop when it holds no
	// replica of the key). By default the client learns the ring and sends
	// each keyed call to the first reachable replica of its key.
	NoRouting bool
	// RingRefresh is how often a routing client asks a node for the ring
	// again; it also asks whenever a call's replica cannot be reached.
	// Default DefaultRingRefresh; negative means only on such failures.
	RingRefresh time.Duration
	// SlowAfter is the least time a request may go unanswered, with
	// nothing else heard from its node meanwhile, before a routing client
	// finds the node slow and tries it after every other node until it is
	// heard from again (a late answer, or a probe the client sends every
	// 200 ms). The bound used is 8 times the node's recent latency for
	// that kind of request (its smoothed mean plus four mean deviations),
	// at least SlowAfter and at most a quarter of the time the call has.
	// Default DefaultSlowAfter; negative turns health tracking off.
	// Without routing there is none.
	SlowAfter time.Duration
	// HedgeAfter is the least time a routing client waits for the node a
	// read went to before it sends the read to another node as well; the
	// first answer wins. The delay used is the node's recent latency for
	// that kind of read (smoothed mean plus four mean deviations), at
	// least HedgeAfter and at most the SlowAfter bound. Writes are never
	// hedged, nor are serial reads (each is a Paxos round, and two would
	// compete for the key's ballots). Default DefaultHedgeAfter; negative
	// turns hedging off. Without routing there is none.
	HedgeAfter time.Duration
	// Dialer, if set, opens the client's TCP connections instead of a
	// net.Dialer: to reach the nodes through a proxy or a tunnel, say.
	// It is given a node's address as the client knows it (from Addrs or
	// the ring) and must return a connection to that node, or an error,
	// by ctx's deadline. TLS and the handshake run over what it returns.
	Dialer func(ctx context.Context, addr string) (stdnet.Conn, error)
}

// DefaultOptions returns the options of a client of a local node.
func DefaultOptions() Options {
	return Options{Addrs: []string{DefaultAddr}, Timeout: DefaultTimeout, Conns: DefaultConns, RingRefresh: DefaultRingRefresh,
		SlowAfter: DefaultSlowAfter, HedgeAfter: DefaultHedgeAfter}
}

// errOptions is wrapped by every Validate error.
var errOptions = errors.New("client options")

// Validate checks o and fills in the defaults of its zero fields.
func (o *Options) Validate() error {
	if len(o.Addrs) == 0 {
		return fmt.Errorf("%w: no node address given", errOptions)
	}
	for i, a := range o.Addrs {
		if a == "" {
			return fmt.Errorf("%w: address %d is empty", errOptions, i+1)
		}
	}
	if o.Consistency > net.Serial {
		return fmt.Errorf("%w: consistency %s is not a level (want one, quorum, all or serial)", errOptions, o.Consistency)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Conns < 0 {
		return fmt.Errorf("%w: %d connections per node (want 1 or more)", errOptions, o.Conns)
	}
	if o.Conns == 0 {
		o.Conns = DefaultConns
	}
	if o.RingRefresh == 0 {
		o.RingRefresh = DefaultRingRefresh
	}
	if o.SlowAfter == 0 {
		o.SlowAfter = DefaultSlowAfter
	}
	if o.HedgeAfter == 0 {
		o.HedgeAfter = DefaultHedgeAfter
	}
	return nil
}

// CallOption changes how one call is made.
type CallOption func(*call)

// call is what a CallOption can change.
type call struct {
	level   net.Consistency
	timeout time.Duration
}

// WithConsistency sets the consistency level of one call. At net.Serial a
// Get or Contains is a linearizable read through a Paxos round among the
// key's replicas, and a Set is a Paxos put (an unconditional CAS); a node
// refuses a serial Delete (a *net.Error with CodeUnsupported). Serial calls
// may fail with ErrContention. CAS is always serial and ignores the level.
func WithConsistency(c net.Consistency) CallOption {
	return func(o *call) { o.level = c }
}

// WithTimeout bounds one call instead of Options.Timeout; negative means no
// bound other than the context's, zero keeps Options.Timeout.
func WithTimeout(d time.Duration) CallOption {
	return func(o *call) {
		if d != 0 {
			o.timeout = d
		}
	}
}

// LoadTLS builds an Options.TLS from PEM files: caFile, the CA that signed
// the nodes' certificates (empty: the system's roots), and a client
// certificate and its key (both empty: none).
func LoadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS CA: %v", errOptions, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%w: TLS CA %s holds no PEM certificate", errOptions, caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: a TLS client certificate needs both its certificate and its key file", errOptions)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS client certificate: %v", errOptions, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
