package host

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/paxos"
)

// What GET /metrics exposes, in Prometheus's text format. Latencies are
// measured here, in the host, which may read the clock: a client request
// is timed from the loop handing it to the node to the node's reply (so
// the time spent queued for the loop, decoding and writing the reply
// out are not in it), and each fsync on the disk's syncer goroutine
// (disk.OS.ObserveSyncs). What only the node knows — how Paxos rounds
// ended and how many ballots they took, hints, streamed bytes — it counts
// as plain counters in node.Stats, read on the loop at each scrape.

// reqOp is a client request's operation, the op label.
type reqOp uint8

const (
	opGet reqOp = iota
	opSet
	opDel
	opContains
	opCAS
	opIncr
	opCounter
	opBatch
	numOps
)

var opNames = [numOps]string{"get", "set", "del", "contains", "cas", "incr", "counter", "batch"}

// isWrite says whether an op changes data (for /v1/stats' split).
func (o reqOp) isWrite() bool {
	return o == opSet || o == opDel || o == opCAS || o == opIncr || o == opBatch
}

// levelNames are the level label's values, indexed by net.Consistency; the
// default level is counted as what the node takes it for, quorum.
var levelNames = [...]string{net.Default: "quorum", net.One: "one", net.Quorum: "quorum", net.All: "all", net.Serial: "serial"}

// classify returns a client request's op and level, or false for a frame
// that is not timed (ring, compact, anything unknown).
func classify(m net.Message) (reqOp, net.Consistency, bool) {
	switch m := m.(type) {
	case *net.Get:
		return opGet, m.Level, true
	case *net.Set:
		return opSet, m.Level, true
	case *net.Delete:
		return opDel, m.Level, true
	case *net.Contains:
		return opContains, m.Level, true
	case *net.CAS:
		return opCAS, net.Serial, true
	case *net.Incr:
		return opIncr, m.Level, true
	case *net.GetCounter:
		return opCounter, m.Level, true
	case *net.Batch:
		return opBatch, net.Quorum, true // a batch always needs a quorum of every key's replicas
	}
	return 0, 0, false
}

// reqKey names a request in flight: its connection and frame id.
type reqKey struct {
	conn net.ConnID
	id   uint64
}

type reqStart struct {
	at time.Duration // monotonic, since metrics.base (mono)
	h  *histogram
}

// metrics is the host's measurements. The histograms are safe from any
// goroutine; inflight belongs to the loop.
type metrics struct {
	// requests[op][level]; the default level shares quorum's.
	requests [numOps][len(levelNames)]*histogram
	fsync    *histogram
	inflight map[reqKey]reqStart
	// base is when the metrics were made; requests are timed by the
	// monotonic clock since it (mono: one clock read, not time.Now's two).
	base time.Time
	// current is the request being handed to the node (start), which the
	// node may answer before Request returns (every read and write on one
	// node, rf 1): replied matches it without touching inflight, which
	// only requests answered later enter (end).
	current   reqKey
	currentAt reqStart
	inRequest bool
}

func newMetrics() *metrics {
	m := &metrics{fsync: newHistogram(), inflight: make(map[reqKey]reqStart), base: time.Now()}
	for o := range m.requests {
		for l := range m.requests[o] {
			if l == int(net.Default) {
				continue
			}
			m.requests[o][l] = newHistogram()
		}
		m.requests[o][net.Default] = m.requests[o][net.Quorum]
	}
	return m
}

// request hands client request f on connection c to the node, timing it.
// It runs on the loop.
func (s *Server) request(c net.ConnID, f net.Frame) {
	op, level, ok := classify(f.Msg)
	if !ok || int(level) >= len(levelNames) {
		s.node.Request(c, f)
		return
	}
	m := s.metrics
	k := reqKey{c, f.ID}
	m.start(k, reqStart{m.mono(), m.requests[op][level]})
	s.node.Request(c, f)
	m.end(k)
}

// mono is the monotonic time since m.base.
func (m *metrics) mono() time.Duration { return time.Since(m.base) }

// start notes that request k is being handed to the node; end, that the
// node returned: a request not answered by then waits in inflight. A
// request made while another is being handed over (from an answer the node
// gave meanwhile) puts that one in inflight first.
func (m *metrics) start(k reqKey, r reqStart) {
	if m.inRequest {
		m.inflight[m.current] = m.currentAt
	}
	m.current, m.currentAt, m.inRequest = k, r, true
}

func (m *metrics) end(k reqKey) {
	if m.inRequest && m.current == k {
		m.inflight[k] = m.currentAt
		m.inRequest = false
	}
}

// replied ends the timing of the request f answers, if it was timed. It
// runs on the loop.
func (m *metrics) replied(c net.ConnID, id uint64) {
	if m == nil {
		return
	}
	k := reqKey{c, id}
	if m.inRequest && k == m.current {
		m.currentAt.h.Observe(m.mono() - m.currentAt.at)
		m.inRequest = false
		return
	}
	if len(m.inflight) == 0 {
		return
	}
	if r, ok := m.inflight[k]; ok {
		r.h.Observe(m.mono() - r.at)
		delete(m.inflight, k)
	}
}

// closed forgets the requests of connection c, which will not be answered.
// It runs on the loop. Both it and replied do nothing on a nil metrics (a
// test's bare Server).
func (m *metrics) closed(c net.ConnID) {
	if m == nil {
		return
	}
	for k := range m.inflight {
		if k.conn == c {
			delete(m.inflight, k)
		}
	}
}

// requestTotals sums the request histograms into reads and writes.
func (m *metrics) requestTotals() (reads, writes snapshot) {
	reads, writes = snapshot{counts: make([]uint64, numBuckets)}, snapshot{counts: make([]uint64, numBuckets)}
	for o := range m.requests {
		for l, h := range m.requests[o] {
			if l == int(net.Default) {
				continue
			}
			if reqOp(o).isWrite() {
				writes.add(h.snapshot())
			} else {
				reads.add(h.snapshot())
			}
		}
	}
	return reads, writes
}

// paxosOpNames are the op label of the Paxos series, by node.PaxosKinds.
var paxosOpNames = map[paxos.Kind]string{paxos.CAS: "cas", paxos.Read: "serial_read", paxos.Put: "serial_put"}

// paxosOutcomeApplies says whether a request of kind k can end with o:
// only a cas finds a mismatch, only a read answers a read. The series of
// the others are left out while they are zero.
func paxosOutcomeApplies(k paxos.Kind, o node.PaxosOutcome) bool {
	switch o {
	case node.PaxosMismatch:
		return k == paxos.CAS
	case node.PaxosRead:
		return k == paxos.Read
	case node.PaxosCommitted:
		return k != paxos.Read
	}
	return true
}

// paxosBallotBounds are the le bounds of memdb_paxos_ballots; each is
// below node.PaxosMaxBallots, whose row counts that many or more.
var paxosBallotBounds = []int{0, 1, 2, 3, 4, 6, 8, 12}

// serveMetrics answers GET /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	st, ns := s.status()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	gauge := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %v\n", name, help, name, name, v)
	}
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge("memdb_keys", "Keys held, tombstones included.", st.Keys)
	gauge("memdb_bytes", "Bytes held in keys and values.", st.Bytes)
	gauge("memdb_connections", "Open connections.", st.Connections)
	// The Go runtime's own account of the process's memory: what the
	// collector holds live (heap in use), what it holds free, what it has
	// given back to the operating system, and all it has mapped (sys).
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "# HELP memdb_go_memory_bytes The Go runtime's memory: heap in use (inuse), heap held free (idle, released included), heap returned to the operating system (released), all obtained from it (sys).\n# TYPE memdb_go_memory_bytes gauge\n")
	fmt.Fprintf(w, "memdb_go_memory_bytes{kind=\"inuse\"} %d\nmemdb_go_memory_bytes{kind=\"idle\"} %d\nmemdb_go_memory_bytes{kind=\"released\"} %d\nmemdb_go_memory_bytes{kind=\"sys\"} %d\n",
		ms.HeapInuse, ms.HeapIdle, ms.HeapReleased, ms.Sys)
	counter("memdb_go_gc_total", "Garbage collections the Go runtime completed.", uint64(ms.NumGC))
	counter("memdb_requests_total", "Client requests received.", st.Requests)
	counter("memdb_writes_total", "Writes applied.", st.Writes)
	counter("memdb_errors_total", "Error replies sent.", st.Errors)
	p := st.Peers
	counter("memdb_peer_sent_total", "Messages written to other nodes.", p.Sent)
	fmt.Fprintf(w, "# HELP memdb_peer_dropped_total Messages to other nodes dropped, by reason.\n# TYPE memdb_peer_dropped_total counter\n")
	fmt.Fprintf(w, "memdb_peer_dropped_total{reason=\"queue_full\"} %d\nmemdb_peer_dropped_total{reason=\"unreachable\"} %d\nmemdb_peer_dropped_total{reason=\"lost\"} %d\n",
		p.DroppedFull, p.DroppedDown, p.DroppedLost)
	counter("memdb_peer_connects_total", "Connections made to other nodes.", p.Connects)
	counter("memdb_peer_reconnects_total", "Connections made again to a node connected before.", p.Reconnects)
	counter("memdb_peer_dial_failures_total", "Failed dials and handshakes to other nodes.", p.DialFailures)
	gauge("memdb_peer_connected", "Outbound connections to other nodes up now.", p.Connected)

	s.writeLatency(w)

	fmt.Fprintf(w, "# HELP memdb_paxos_requests_total Paxos requests this node coordinated (cas, serial reads and puts), by how they ended.\n# TYPE memdb_paxos_requests_total counter\n")
	for k, kind := range node.PaxosKinds() {
		for _, o := range node.PaxosOutcomes() {
			n := ns.Paxos.Outcomes[k][o]
			if n == 0 && !paxosOutcomeApplies(kind, o) {
				continue
			}
			fmt.Fprintf(w, "memdb_paxos_requests_total{op=%q,outcome=%q} %d\n", paxosOpNames[kind], o, n)
		}
	}
	fmt.Fprintf(w, "# HELP memdb_paxos_ballots Ballots (prepare rounds) each Paxos request took; 0 for a serial read answered without one.\n# TYPE memdb_paxos_ballots histogram\n")
	for k, kind := range node.PaxosKinds() {
		var cum, total uint64
		rows := ns.Paxos.Ballots[k]
		for _, c := range rows {
			total += c
		}
		next := 0
		for _, le := range paxosBallotBounds {
			for ; next <= le; next++ {
				cum += rows[next]
			}
			fmt.Fprintf(w, "memdb_paxos_ballots_bucket{op=%q,le=\"%d\"} %d\n", paxosOpNames[kind], le, cum)
		}
		fmt.Fprintf(w, "memdb_paxos_ballots_bucket{op=%q,le=\"+Inf\"} %d\n", paxosOpNames[kind], total)
		fmt.Fprintf(w, "memdb_paxos_ballots_sum{op=%q} %d\nmemdb_paxos_ballots_count{op=%q} %d\n", paxosOpNames[kind], ns.Paxos.BallotsSum[k], paxosOpNames[kind], total)
	}
	counter("memdb_paxos_phases_total", "Paxos round trips (prepares, proposes, peeks) this node started.", ns.PaxosPhases)
	counter("memdb_paxos_retries_total", "Paxos ballots retried after a refusal.", ns.PaxosRetries)
	counter("memdb_paxos_finished_total", "Proposals of other proposers this node found in progress and finished.", ns.PaxosFinished)

	fmt.Fprintf(w, "# HELP memdb_hints_total Writes held for an unreachable replica (stored), delivered to it later (delivered), or dropped over the bound.\n# TYPE memdb_hints_total counter\n")
	fmt.Fprintf(w, "memdb_hints_total{event=\"stored\"} %d\nmemdb_hints_total{event=\"delivered\"} %d\nmemdb_hints_total{event=\"dropped\"} %d\n", ns.Hints, ns.HintsDelivered, ns.HintsDropped)
	gauge("memdb_hints_pending", "Hints waiting for their replica.", st.HintsPending)
	gauge("memdb_tombstones", "Tombstones of deleted keys the node holds that its rule may drop in time.", st.Tombstones)
	counter("memdb_tombstones_dropped_total", "Tombstones the node dropped, giving their memory back.", ns.TombstonesDropped)
	fmt.Fprintf(w, "# HELP memdb_stale_stamps_total Writes stamped at or below a replica's tombstone floor for a key it held nothing of: refused as a replica (refused), stamped again as coordinator (restamped), copies left out as a replica (skipped).\n# TYPE memdb_stale_stamps_total counter\n")
	fmt.Fprintf(w, "memdb_stale_stamps_total{event=\"refused\"} %d\nmemdb_stale_stamps_total{event=\"restamped\"} %d\nmemdb_stale_stamps_total{event=\"skipped\"} %d\n", ns.StaleRefused, ns.WritesRestamped, ns.StaleSkipped)
	fmt.Fprintf(w, "# HELP memdb_streamed_bytes_total Bytes of entries streamed (catch-up, join, leave, repair): key, value and 16 bytes each.\n# TYPE memdb_streamed_bytes_total counter\n")
	fmt.Fprintf(w, "memdb_streamed_bytes_total{direction=\"in\"} %d\nmemdb_streamed_bytes_total{direction=\"out\"} %d\n", ns.StreamedInBytes, ns.StreamedOutBytes)
	fmt.Fprintf(w, "# HELP memdb_streamed_entries_total Entries streamed (catch-up, join, leave, repair).\n# TYPE memdb_streamed_entries_total counter\n")
	fmt.Fprintf(w, "memdb_streamed_entries_total{direction=\"in\"} %d\nmemdb_streamed_entries_total{direction=\"out\"} %d\n", ns.StreamedIn, ns.StreamedOut)
	fmt.Fprintf(w, "# HELP memdb_stream_batch_bytes Bytes of each batch of entries streamed in and out (catch-up, join, leave, repair).\n# TYPE memdb_stream_batch_bytes histogram\n")
	writeSizes(w, "memdb_stream_batch_bytes", `direction="in"`, ns.StreamInBatches)
	writeSizes(w, "memdb_stream_batch_bytes", `direction="out"`, ns.StreamOutBatches)
	fmt.Fprintf(w, "# HELP memdb_hint_batch_entries Hints in each batch a replica acknowledged.\n# TYPE memdb_hint_batch_entries histogram\n")
	writeSizes(w, "memdb_hint_batch_entries", "", ns.HintBatches)
	counter("memdb_replicated_total", "Entries received from coordinators.", ns.Replicated)
	counter("memdb_read_repairs_total", "Stale replicas repaired before a read answered.", ns.ReadRepairs)
	counter("memdb_unavailable_total", "Requests refused because too few replicas were up.", ns.Unavailable)
	counter("memdb_unknown_total", "Writes that timed out with an unknown outcome.", ns.Unknown)
	gauge("memdb_log_bytes", "Bytes of the data directory (the operation log and its base).", st.LogBytes)
}

// writeLatency writes the request and fsync latency histograms. Only the
// op and level pairs that have been seen are written.
func (s *Server) writeLatency(w io.Writer) {
	const req = "memdb_request_duration_seconds"
	fmt.Fprintf(w, "# HELP %s Client requests from the node taking them to its reply, by operation and consistency level.\n# TYPE %s histogram\n", req, req)
	for o := range s.metrics.requests {
		for l, h := range s.metrics.requests[o] {
			if l == int(net.Default) {
				continue
			}
			if snap := h.snapshot(); snap.count() > 0 {
				writeHistogram(w, req, fmt.Sprintf("op=%q,level=%q", opNames[o], levelNames[l]), snap)
			}
		}
	}
	const fs = "memdb_fsync_duration_seconds"
	fmt.Fprintf(w, "# HELP %s fsyncs of the operation log and data directory (each serves a group commit).\n# TYPE %s histogram\n", fs, fs)
	writeHistogram(w, fs, "", s.metrics.fsync.snapshot())
}

// writeSizes writes a node.Sizes as the series of histogram name, as
// writeHistogram does for durations.
func writeSizes(w io.Writer, name, labels string, s node.Sizes) {
	sep, braces := "", ""
	if labels != "" {
		sep, braces = ",", "{"+labels+"}"
	}
	var cum uint64
	bounds := node.SizeBounds()
	for i, c := range s.Counts {
		cum += c
		le := "+Inf"
		if i < len(bounds) {
			le = strconv.FormatUint(bounds[i], 10)
		}
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, le, cum)
	}
	fmt.Fprintf(w, "%s_sum%s %d\n%s_count%s %d\n", name, braces, s.Sum, name, braces, cum)
}
