package host

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	stdnet "net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/oplog"
)

// Server is one running node: its loop, its TCP server, its admin API.
type Server struct {
	cfg  Config
	log  *slog.Logger
	node *node.Node
	disk *disk.OS
	tcp  *net.Server
	// peers carries the node's messages to other nodes.
	peers *net.Peers
	http  *http.Server
	// httpAddr is the admin API's bound address ("" when disabled).
	httpAddr string
	// resp is the Redis-protocol front door (nil when disabled), and
	// respSessions its connections' state, touched only on the loop.
	resp         *respServer
	respSessions map[net.ConnID]*respSession
	// tls is the loaded TLS configuration (tls.go); nil without TLS.
	tls *tlsSetup
	// adminURL is AdminURL's answer (a string), set once the admin API
	// listens; Info frames read it from readers' goroutines.
	adminURL atomic.Value
	// admins caches the other members' admin APIs (info.go).
	admins adminURLs
	// rate samples the requests the node received, for requests/s.
	rate *rateSampler
	// metrics times requests and fsyncs (metrics.go); stats samples them
	// each second for /v1/stats (stats.go).
	metrics *metrics
	stats   *statsSampler
	// forced is set when the admin API asked for a stop at once.
	forced atomic.Bool
	// adminHTTP is adminClient's, made once.
	adminHTTP     *http.Client
	adminHTTPOnce sync.Once
	// laterFns run on the loop after the event that queued them (later).
	laterFns []func()

	// mu is the node's lock. Whoever holds it runs the node: the loop, for
	// each event posted to it, or a connection's reader, for the requests
	// one read brought (run), which saves handing them to the loop and back
	// (issue 17). One holder at a time keeps the node single-threaded;
	// loopStopped (under mu) is set once the loop has stopped, after which
	// nothing runs, as nothing posted after that did.
	mu          sync.Mutex
	loopStopped bool
	// readers counts the readers waiting for mu (run): the loop yields
	// to them after each event, or a loop with events queued back to
	// back (a long walk's slices) would take mu again before a woken
	// reader ran, and readers would wait for Go's mutex to turn fair,
	// after a millisecond (issue 23).
	readers  atomic.Int32
	events   chan func()
	loopDone chan struct{}
	// conns maps connection ids to connections; touched only on the loop.
	conns map[net.ConnID]*net.Conn

	stopOnce sync.Once
	stopErr  error
	// shutdown is closed when the server should stop: the admin API asked,
	// or the node failed (fault says why).
	shutdown     chan struct{}
	shutdownOnce sync.Once
	fault        error
}

// Start validates cfg, binds the listener, opens the data directory, starts
// the node and serves. It returns once the server accepts connections.
//
// The listener is bound first, so that the node is configured with the
// address it really listens on (with port 0, the one the system picked),
// which it advertises to its peers. Connections made before the node has
// started wait in the listen backlog: nothing is accepted until it has.
//
// A corrupt operation log stops the start, unless cfg.OnCorrupt is
// "rebuild": then the data directory is moved aside (kept for inspection,
// next to it, with a ".corrupt-TIME" suffix) and the node starts again on
// an empty one, which it rebuilds from its replicas (node/rebuild.go).
func Start(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: invalid configuration: %v", ErrUsage, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The collector is set deliberately, whatever GOGC and GOMEMLIMIT say
	// (Config.GCPercent's doc).
	debug.SetGCPercent(cfg.GCPercent)
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	s, err := start(cfg, log)
	if err == nil || cfg.OnCorrupt != "rebuild" || !errors.Is(err, oplog.ErrCorrupt) {
		return s, err
	}
	aside, merr := moveAside(cfg.DataDir, time.Now())
	if merr != nil {
		return nil, fmt.Errorf("%w (and moving the data directory aside to rebuild failed: %v)", err, merr)
	}
	log.Error("the operation log is corrupt: moved the data directory aside; the node rebuilds from its replicas", "err", err, "moved_to", aside)
	return start(cfg, log)
}

// moveAside renames the directory dir to a new name beside it that says
// when and why, creates dir again, empty, with the same permissions, and
// makes both durable; it returns the new name.
func moveAside(dir string, now time.Time) (string, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	aside := dir + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.corrupt-%s-%d", dir, now.UTC().Format("20060102T150405Z"), i)
	}
	if err := os.Rename(dir, aside); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, info.Mode().Perm()); err != nil {
		return aside, err
	}
	parent, err := os.Open(filepath.Dir(dir))
	if err != nil {
		return aside, err
	}
	defer parent.Close()
	return aside, parent.Sync()
}

// start is Start without the corrupt-log policy.
func start(cfg Config, log *slog.Logger) (*Server, error) {
	s := &Server{
		cfg:      cfg,
		log:      log,
		events:   make(chan func(), 4096),
		loopDone: make(chan struct{}),
		conns:    make(map[net.ConnID]*net.Conn),
		shutdown: make(chan struct{}),

		respSessions: make(map[net.ConnID]*respSession),
		metrics:      newMetrics(),
	}
	ts, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	s.tls = ts
	if ts != nil && ts.peerCAs == nil {
		log.Warn("TLS without a cluster CA (-tls-peer-ca): peers verify each other's certificates against the system's roots and authenticate with the cluster key alone")
	}
	ln, err := stdnet.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	d, err := disk.NewOS(cfg.DataDir, s.post)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("open data directory: %w", err)
	}
	s.disk = d
	d.ObserveSyncs(s.metrics.fsync.Observe)
	ncfg := node.DefaultConfig(net.NodeID(cfg.ID))
	ncfg.ReplicationFactor, ncfg.Vnodes = cfg.ReplicationFactor, cfg.Vnodes
	ncfg.Tokens, _ = cfg.TokenValues() // Validate checked them
	ncfg.Addr = ln.Addr().String()
	if cfg.Advertise != "" {
		ncfg.Addr = cfg.Advertise
	}
	ncfg.Seeds = cfg.Seeds
	ncfg.MaxMemory = cfg.MaxMemory
	ncfg.TombstoneGrace = cfg.TombstoneGrace
	ncfg.BatchRetention = cfg.BatchRetention
	ncfg.AntiEntropy = cfg.AntiEntropy
	if host, _, _ := stdnet.SplitHostPort(ncfg.Addr); stdnet.ParseIP(host).IsUnspecified() {
		log.Warn("listening on an unspecified address: peers cannot reach this node at the address it advertises; listen on a routable one or set -advertise",
			"listen", cfg.Listen, "advertised", ncfg.Addr)
	}
	ncfg.Log.Coalesce = true // runLocked flushes
	if ncfg.Log.Mode, err = oplog.ParseMode(cfg.Fsync); err != nil {
		ln.Close()
		d.Close()
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	pcfg := net.PeersConfig{
		Node:    cfg.ID,
		Key:     []byte(cfg.ClusterKey),
		Deliver: s.deliverOutbound,
		Log:     log,
	}
	if ts != nil {
		pcfg.TLS = ts.peer
	}
	s.peers = net.NewPeers(pcfg)
	clk := newTimers(s.post)
	var seed [24]byte
	crand.Read(seed[:])
	ncfg.HashSeed = binary.LittleEndian.Uint64(seed[16:]) // a new one every start
	n, err := node.New(ncfg, node.Env{
		Clock:     clk,
		Transport: transport{s},
		Disk:      d,
		Rand:      rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))),
		Log:       log.With("node", cfg.ID),
		Offload:   s.offload,
		Async:     async,
	})
	if err != nil {
		ln.Close()
		s.peers.Close()
		d.Close()
		return nil, err
	}
	s.node = n
	go s.loop()
	s.call(func() { err = n.Start() })
	if err != nil {
		ln.Close()
		s.peers.Close()
		s.stopLoop()
		d.Close()
		return nil, fmt.Errorf("start node %d: %w", cfg.ID, err)
	}

	scfg := net.ServerConfig{
		Node:       cfg.ID,
		ClientKey:  []byte(cfg.ClientKey),
		ClusterKey: []byte(cfg.ClusterKey),
		Handler:    handler{s},
		Log:        log,
	}
	if ts != nil {
		scfg.TLS, scfg.ClientCAs, scfg.PeerCAs = ts.server, ts.clientCAs, ts.peerCAs
	}
	s.tcp, err = net.Serve(ln, scfg)
	if err != nil {
		s.peers.Close()
		s.stopLoop()
		d.Close()
		return nil, err
	}
	if cfg.RESP != "" {
		if s.resp, err = startRESP(s, cfg.RESP); err != nil {
			s.tcp.Close()
			s.peers.Close()
			s.stopLoop()
			d.Close()
			return nil, fmt.Errorf("resp: listen on %s: %w", cfg.RESP, err)
		}
	}
	s.rate = startRate(func() (n uint64, ok bool) {
		s.call(func() { n, ok = s.node.Stats().Requests, true })
		return n, ok
	})
	if cfg.HTTP != "" {
		s.stats = startStats(s.metrics) // for /v1/stats
		if err := s.startHTTP(); err != nil {
			s.stats.close()
			s.rate.close()
			if s.resp != nil {
				s.resp.close()
			}
			s.tcp.Close()
			s.peers.Close()
			s.stopLoop()
			d.Close()
			return nil, err
		}
	}
	return s, nil
}

// Addr returns the address of the binary protocol listener.
func (s *Server) Addr() string { return s.tcp.Addr() }

// Shutdown is closed when the server should be stopped: the admin API
// asked, or the node failed (then Fault says why).
func (s *Server) Shutdown() <-chan struct{} { return s.shutdown }

// Fault returns why the node failed, once Shutdown is closed; nil if it
// was asked to stop.
func (s *Server) Fault() error {
	select {
	case <-s.shutdown:
		return s.fault
	default:
		return nil
	}
}

func (s *Server) requestShutdown(fault error) {
	s.shutdownOnce.Do(func() {
		s.fault = fault
		close(s.shutdown)
	})
}

// Close stops the server gracefully: it stops accepting connections, lets
// the node refuse new requests and make what it acknowledged durable,
// flushes every reply and what is queued for peers (for a second at most),
// and closes the connections, the loop and the disk.
func (s *Server) Close() error {
	s.stopOnce.Do(func() {
		s.rate.close()
		s.stats.close()
		s.tcp.StopAccepting()
		if s.resp != nil {
			s.resp.stopAccepting()
		}
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s.http.Shutdown(ctx)
			cancel()
		}
		stopped := make(chan struct{})
		s.post(func() { s.node.Stop(func() { close(stopped) }) })
		<-stopped
		s.peers.Close()
		s.tcp.Close()
		if s.resp != nil {
			s.resp.close()
		}
		s.stopLoop()
		s.stopErr = s.disk.Close()
	})
	return s.stopErr
}

// post queues f to run on the loop. It never blocks the caller for long:
// the queue is large, and a full queue is back-pressure on readers.
func (s *Server) post(f func()) {
	select {
	case s.events <- f:
	case <-s.loopDone:
	}
}

// offload runs work on its own goroutine and posts done to the loop: the
// node's heavy work (compressing a compaction) never stalls the loop.
func (s *Server) offload(_ int, work, done func()) {
	go func() {
		work()
		if done != nil {
			s.post(done)
		}
	}()
}

// async runs work on its own goroutine; wait blocks until it returned.
// Replay decompresses a base's next frames so on the other cores while the
// loop applies the current one.
func async(work func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		work()
	}()
	return func() { <-done }
}

// call runs f on the loop and waits for it.
func (s *Server) call(f func()) {
	done := make(chan struct{})
	s.post(func() { f(); close(done) })
	select {
	case <-done:
	case <-s.loopDone:
	}
}

func (s *Server) loop() {
	defer close(s.loopDone)
	for f := range s.events {
		s.mu.Lock()
		if f == nil {
			s.loopStopped = true
			s.mu.Unlock()
			return
		}
		s.runLocked(f)
		s.mu.Unlock()
		if s.readers.Load() > 0 {
			runtime.Gosched()
		}
	}
}

// run runs f as an event of the loop, on the calling goroutine: under the
// node's lock, after any event running now and before the next. It is
// for a connection's reader, whose requests then cost no hand-off; what
// one goroutine runs or posts still runs in the order it did so only if it
// does not mix run and post (each reader uses run alone).
func (s *Server) run(f func()) {
	s.readers.Add(1)
	s.mu.Lock()
	s.readers.Add(-1)
	if !s.loopStopped {
		s.runLocked(f)
	}
	s.mu.Unlock()
}

// runLocked runs one event, then what it queued with later, then flushes
// the node's operation log, then checks whether the node failed or left.
// Called with mu held.
//
// The log coalesces (oplog.Config.Coalesce): the records an event appends
// are written in one write, by the flush, and the commits that waited
// for them are acknowledged from it. So a reply leaves only after what it
// acknowledges is written to the OS (a kill -9 loses no acknowledged write
// under fsync none), and a pipeline of writes costs one write(2), not one
// each.
func (s *Server) runLocked(f func()) {
	f()
	for {
		for len(s.laterFns) > 0 {
			fns := s.laterFns
			s.laterFns = nil
			for _, g := range fns {
				g()
			}
		}
		if s.node == nil {
			break
		}
		s.node.Flush()
		if len(s.laterFns) == 0 {
			break
		}
	}
	switch {
	case s.node == nil:
	case s.node.Err() != nil:
		s.requestShutdown(s.node.Err())
	case s.node.Departed():
		// A leave resumed after a restart ends here; one asked through
		// the admin API ends in Leave, too.
		s.requestShutdown(nil)
	}
}

// later queues f to run on the loop once the current event is done. It is
// for work that must not run inside the node's own call stack (a request
// made from the node's reply to another), and is called only on the loop.
func (s *Server) later(f func()) { s.laterFns = append(s.laterFns, f) }

func (s *Server) stopLoop() {
	s.post(nil)
	<-s.loopDone
}

// transport is the node's net.Transport in the live host.
type transport struct{ s *Server }

var _ net.Transport = transport{}

// Send queues f for the peer at to.Addr; it never waits for the network.
func (t transport) Send(to net.Peer, f net.Frame) { t.s.peers.Send(to, f) }

func (t transport) Reply(to net.ConnID, f net.Frame) {
	t.s.metrics.replied(to, f.ID)
	if to&respConnBit != 0 {
		t.s.respAnswer(to, f)
		return
	}
	if c := t.s.conns[to]; c != nil {
		c.Send(f)
	}
}

// handler hands what the TCP server reads to the loop.
type handler struct{ s *Server }

var _ net.Handler = handler{}

func (h handler) Frames(c *net.Conn, fs []net.Frame) {
	s := h.s
	// Info is the host's to answer (info.go): it never reaches the node.
	for i := 0; i < len(fs); i++ {
		if _, ok := fs[i].Msg.(*net.Info); ok {
			c.Send(net.Frame{ID: fs[i].ID, Msg: s.info()})
			fs = append(fs[:i], fs[i+1:]...)
			i--
		}
	}
	if len(fs) == 0 {
		return
	}
	// The reader runs the node itself (run), and writes the replies of
	// what it read itself, in one write (Hold, Flush).
	c.Hold()
	s.run(func() {
		s.conns[c.ID()] = c
		for _, f := range fs {
			if c.Role() == net.RolePeer {
				s.node.Deliver(net.NodeID(c.Peer()), f)
			} else {
				s.request(c.ID(), f)
			}
		}
	})
	c.Flush()
}

// deliverOutbound hands the node what a peer sent back on one of our own
// connections to it (Peers calls it from that connection's reader).
func (s *Server) deliverOutbound(from net.NodeID, fs []net.Frame) {
	s.post(func() {
		for _, f := range fs {
			s.node.Deliver(from, f)
		}
	})
}

func (h handler) Closed(c *net.Conn) {
	s := h.s
	s.post(func() {
		if _, ok := s.conns[c.ID()]; ok {
			delete(s.conns, c.ID())
			s.metrics.closed(c.ID())
			s.node.Disconnected(c.ID())
		}
	})
}
