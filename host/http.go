package host

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	stdnet "net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// Status is what GET /v1/status returns.
type Status struct {
	ID          uint16    `json:"id"`
	Listen      string    `json:"listen"`
	Clock       string    `json:"clock"`
	Keys        int       `json:"keys"`
	Bytes       int       `json:"bytes"`
	Connections int       `json:"connections"`
	Requests    uint64    `json:"requests"`
	Writes      uint64    `json:"writes"`
	Errors      uint64    `json:"errors"`
	Peers       PeerStats `json:"peers"`
	// Cluster counters, from node.Stats.
	StreamedIn      uint64 `json:"streamed_in"`
	StreamedInBytes uint64 `json:"streamed_in_bytes"`
	StreamedOut     uint64 `json:"streamed_out"` // entries sent by catch-up, streaming and leave hand-off
	Replicated      uint64 `json:"replicated"`   // entries received from coordinators (and pushed by a leaving node)
	CatchUps        uint64 `json:"catch_ups"`
	RepairRounds    uint64 `json:"repair_rounds"` // anti-entropy comparisons with a replica
	RepairArcs      uint64 `json:"repair_arcs"`   // arcs found to differ
	RepairSpans     uint64 `json:"repair_spans"`  // their sub-spans still differing, pulled
	Hints           uint64 `json:"hints"`
	HintsDelivered  uint64 `json:"hints_delivered"`
	ReadRepairs     uint64 `json:"read_repairs"`
	Unavailable     uint64 `json:"unavailable"`
	Unknown         uint64 `json:"unknown"`
	Fenced          uint64 `json:"fenced"`
	// Tombstones are the deleted keys' tombstones the node holds that its
	// rule may drop in time (counted in keys), and TombstonesDropped those
	// it dropped since it started (node/grave.go).
	Tombstones        int    `json:"tombstones"`
	TombstonesDropped uint64 `json:"tombstones_dropped"`
	// Rebuilding is set while the node rebuilds state it lost (its data
	// directory was emptied while the cluster had it on the ring): it takes
	// writes but answers no reads nor Paxos until done. Rebuilds counts the
	// times it found its state lost.
	Rebuilding bool       `json:"rebuilding"`
	Rebuilds   uint64     `json:"rebuilds"`
	Paxos      PaxosStats `json:"paxos"`
	// For the cluster manager (GET /v1/cluster): client requests per
	// second over the last few seconds, hints waiting for their replicas,
	// the bytes of the data directory (the operation log and its base),
	// the memdb version and the admin API's base URL.
	RequestsPerSec float64 `json:"requests_per_sec"`
	HintsPending   int     `json:"hints_pending"`
	LogBytes       int64   `json:"log_bytes"`
	Version        string  `json:"version"`
	Admin          string  `json:"admin"`
}

// PaxosStats is this node's work as a Paxos proposer (cas, serial reads and
// puts), from node.Stats: requests, attempts (ballots), phases (round
// trips), retries, in-progress proposals finished, requests answered, and
// those that ended in contention or an unknown outcome.
type PaxosStats struct {
	Requests   uint64 `json:"requests"`
	Attempts   uint64 `json:"attempts"`
	Phases     uint64 `json:"phases"`
	Retries    uint64 `json:"retries"`
	Finished   uint64 `json:"finished"`
	Done       uint64 `json:"done"`
	Contention uint64 `json:"contention"`
	Unknown    uint64 `json:"unknown"`
	// ReadOnly is the serial reads that took the read-only path (a peek of
	// each acceptor, no ballot); ReadFallbacks, those of them that found a
	// proposal in progress (or too few answers) and ran a full round.
	ReadOnly      uint64 `json:"read_only"`
	ReadFallbacks uint64 `json:"read_fallbacks"`
}

// PeerStats is the outbound peer traffic in Status: frames sent to other nodes,
// frames dropped (a peer message is unreliable: a full queue, an
// unreachable peer, a connection lost with frames in it), and connections.
type PeerStats struct {
	Sent         uint64           `json:"sent"`
	Dropped      uint64           `json:"dropped"`
	DroppedFull  uint64           `json:"dropped_full"`
	DroppedDown  uint64           `json:"dropped_unreachable"`
	DroppedLost  uint64           `json:"dropped_lost"`
	Connects     uint64           `json:"connects"`
	Reconnects   uint64           `json:"reconnects"`
	DialFailures uint64           `json:"dial_failures"`
	Connected    int              `json:"connected"`
	List         []net.PeerStatus `json:"list"`
}

func (s *Server) peerStatus() PeerStats {
	ps := s.peers.Stats()
	return PeerStats{
		Sent: ps.Sent, Dropped: ps.Dropped(), DroppedFull: ps.DroppedFull, DroppedDown: ps.DroppedDown, DroppedLost: ps.DroppedLost,
		Connects: ps.Connects, Reconnects: ps.Reconnects, DialFailures: ps.DialFailures, Connected: ps.Connected,
		List: s.peers.Status(),
	}
}

// Status reads the node's state on the loop.
func (s *Server) Status() Status {
	st, _ := s.status()
	return st
}

// status is Status, and the node's counters it was made from, read in the
// same call to the loop.
func (s *Server) status() (Status, node.Stats) {
	var st Status
	var ns node.Stats
	s.call(func() {
		ns = s.node.Stats()
		st = Status{
			ID: s.cfg.ID, Listen: s.Addr(), Clock: s.node.Clock().String(),
			Keys: s.node.Keys(), Bytes: s.node.Store().Bytes(), Connections: len(s.conns),
			Requests: ns.Requests, Writes: ns.Writes, Errors: ns.Errors,
			StreamedIn: ns.StreamedIn, StreamedInBytes: ns.StreamedInBytes, StreamedOut: ns.StreamedOut, Replicated: ns.Replicated,
			CatchUps: ns.CatchUps, RepairRounds: ns.RepairRounds, RepairArcs: ns.RepairArcs, RepairSpans: ns.RepairSpans,
			Hints: ns.Hints, HintsDelivered: ns.HintsDelivered, ReadRepairs: ns.ReadRepairs,
			Unavailable: ns.Unavailable, Unknown: ns.Unknown, Fenced: ns.Fenced,
			TombstonesDropped: ns.TombstonesDropped,
			Rebuilding:        s.node.Rebuilding(), Rebuilds: ns.Rebuilds,
			Paxos: PaxosStats{Requests: ns.PaxosRequests, Attempts: ns.PaxosAttempts, Phases: ns.PaxosPhases, Retries: ns.PaxosRetries,
				Finished: ns.PaxosFinished, Done: ns.PaxosDone, Contention: ns.PaxosContention, Unknown: ns.PaxosUnknown,
				ReadOnly: ns.PaxosReadOnly, ReadFallbacks: ns.PaxosReadFallbacks},
			HintsPending: s.node.HintsPending(),
		}
		st.Tombstones, _ = s.node.Tombstones()
	})
	st.Peers = s.peerStatus()
	st.RequestsPerSec = s.rate.Rate()
	st.LogBytes = dirBytes(s.cfg.DataDir)
	st.Version, st.Admin = Version(), s.AdminURL()
	return st, ns
}

// ErrNotSupported means the node does not implement an admin operation
// yet; the admin API answers 501.
var ErrNotSupported = errors.New("not supported by this node")

// Remove asks the node to take member id, dead for good, off the ring:
// the members that gain its ranges take them from the other replicas
// (node/remove.go). It waits until the member is marked left, the removal
// fails, or ctx ends (the removal goes on; asking again says it runs).
func (s *Server) Remove(ctx context.Context, id uint16) error {
	ch := make(chan error, 1)
	s.post(func() { s.node.Remove(id, func(err error) { ch <- err }) })
	select {
	case err := <-ch:
		if err != nil {
			return fmt.Errorf("remove: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("remove: stopped waiting (%w); the removal of node %d goes on", ctx.Err(), id)
	case <-s.loopDone:
		return errors.New("remove: the server stopped")
	}
}

// Leave asks the node to leave the cluster (handing its ranges to the
// nodes that take them over) and waits until it has, or has failed. Once
// it has left, the server asks to be stopped: Shutdown is closed, and
// memdbd exits.
func (s *Server) Leave() error {
	l, ok := any(s.node).(interface{ Leave(done func(error)) })
	if !ok {
		return fmt.Errorf("leave: %w", ErrNotSupported)
	}
	ch := make(chan error, 1)
	s.post(func() { l.Leave(func(err error) { ch <- err }) })
	select {
	case err := <-ch:
		if err != nil {
			return fmt.Errorf("leave: %w", err)
		}
		s.requestShutdown(nil)
		return nil
	case <-s.loopDone:
		return errors.New("leave: the server stopped")
	}
}

// Ring returns the ring the node knows, as the node renders it for JSON.
// It is marshaled on the loop, so the node may hand out its own state.
func (s *Server) Ring() (json.RawMessage, error) {
	r, ok := any(s.node).(interface{ RingJSON() any })
	if !ok {
		return nil, fmt.Errorf("ring: %w", ErrNotSupported)
	}
	var b []byte
	var err error
	s.call(func() { b, err = json.Marshal(r.RingJSON()) })
	if b == nil && err == nil {
		err = errors.New("ring: the server stopped")
	}
	return b, err
}

// writeJSON answers with v as JSON; an error becomes {"error": ...} with
// 501 for ErrNotSupported and 500 otherwise.
func writeJSON(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrNotSupported) {
			code = http.StatusNotImplemented
		}
		w.WriteHeader(code)
		v = map[string]string{"error": err.Error()}
	}
	json.NewEncoder(w).Encode(v)
}

// CompactResult is what POST /v1/compact returns.
type CompactResult struct {
	Keys       int   `json:"keys"`
	LogBefore  int64 `json:"log_bytes_before"`
	StoreBytes int   `json:"store_bytes"`
	DiskBefore int64 `json:"disk_bytes_before"`
	DiskAfter  int64 `json:"disk_bytes_after"`
}

// Compact compacts the node's log and waits until the new log is durable;
// then, off the loop, it hands the memory the collector finds free back
// to the operating system (debug.FreeOSMemory), as an operator who
// compacts after deleting expects: the runtime would otherwise return it
// only at its next forced collection, up to two minutes later (PAPER
// §5.21).
func (s *Server) Compact() (CompactResult, error) {
	before := dirBytes(s.cfg.DataDir)
	type outcome struct {
		res node.CompactResult
		err error
	}
	ch := make(chan outcome, 1)
	s.post(func() { s.node.Compact(func(r node.CompactResult, err error) { ch <- outcome{r, err} }) })
	select {
	case o := <-ch:
		if o.err != nil {
			return CompactResult{}, o.err
		}
		go debug.FreeOSMemory()
		return CompactResult{Keys: o.res.Keys, LogBefore: o.res.LogBefore, StoreBytes: o.res.StoreBytes,
			DiskBefore: before, DiskAfter: dirBytes(s.cfg.DataDir)}, nil
	case <-s.loopDone:
		return CompactResult{}, errors.New("the server stopped")
	}
}

// dirBytes sums the sizes of the files in dir (0 if unreadable).
func dirBytes(dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

func (s *Server) startHTTP() error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Status())
	})
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("GET /v1/stats", s.serveStats)
	s.dashboardRoutes(mux)
	mux.HandleFunc("POST /v1/compact", s.serveCompact)
	mux.HandleFunc("POST /v1/leave", s.serveLeave)
	mux.HandleFunc("POST /v1/remove", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.URL.Query().Get("id"), 10, 16)
		if err != nil || id == 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("remove: id %q is not a node id 1..65535", r.URL.Query().Get("id")))
			return
		}
		s.serveRemove(w, r, uint16(id))
	})
	mux.HandleFunc("GET /v1/ring", func(w http.ResponseWriter, r *http.Request) {
		ring, err := s.Ring()
		writeJSON(w, ring, err)
	})
	mux.HandleFunc("POST /v1/shutdown", s.serveShutdown)
	// Go's profiles, where the node's memory and CPU go (go tool pprof
	// http://ADMIN/debug/pprof/heap): behind the admin key even to read
	// (requireAdminKey). Not its command line, which may hold keys.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.clusterRoutes(mux)
	ln, err := stdnet.Listen("tcp", s.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("admin API: listen on %s: %w", s.cfg.HTTP, err)
	}
	s.httpAddr = ln.Addr().String()
	s.adminURL.Store(s.makeAdminURL())
	if s.cfg.AdminKey == "" && !loopback(s.httpAddr) {
		s.log.Warn("the admin API listens beyond loopback without an admin key: anyone who reaches it can stop this node or make it leave; set -admin-key", "http", s.httpAddr)
	}
	s.http = &http.Server{Handler: s.requireAdminKey(mux), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	if s.tls != nil {
		// With TLS, the admin API is HTTPS with the node's certificate:
		// the admin key, and the actions one node forwards to another,
		// never cross the network in the clear. The key, not a client
		// certificate, authorizes.
		s.http.TLSConfig = &tls.Config{GetCertificate: s.tls.getCertificate, MinVersion: tls.VersionTLS12}
		go s.http.ServeTLS(ln, "", "")
		return nil
	}
	go s.http.Serve(ln)
	return nil
}

// HTTPAddr returns the admin API's address, or "" if it is disabled.
func (s *Server) HTTPAddr() string { return s.httpAddr }
