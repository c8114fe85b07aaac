package host

import (
	"net/http"
	"sync"
	"time"
)

// GET /v1/stats: this node's recent throughput and latency, one sample a
// second over the last two minutes, for the dashboard's charts. A
// goroutine snapshots the request and fsync histograms (metrics.go) each
// second and keeps the difference from the last snapshot in a ring
// buffer; percentiles are estimated from the buckets, as Prometheus's
// histogram_quantile would from /metrics.

// StatsSample is one second of /v1/stats: requests answered per second,
// reads and writes apart (a read: get, contains, counter; a write: set,
// del, cas, incr), their latency percentiles in milliseconds (0 when
// there were none), and the fsyncs.
type StatsSample struct {
	T        int64   `json:"t"` // the end of the second, Unix milliseconds
	Reads    float64 `json:"reads"`
	Writes   float64 `json:"writes"`
	ReadP50  float64 `json:"read_p50_ms"`
	ReadP99  float64 `json:"read_p99_ms"`
	WriteP50 float64 `json:"write_p50_ms"`
	WriteP99 float64 `json:"write_p99_ms"`
	Fsyncs   float64 `json:"fsyncs"`
	FsyncP50 float64 `json:"fsync_p50_ms"`
	FsyncP99 float64 `json:"fsync_p99_ms"`
}

// Stats is what GET /v1/stats returns: Samples oldest first, at most
// Window of them, each IntervalMS long.
type Stats struct {
	Node       uint16        `json:"node"`
	IntervalMS int64         `json:"interval_ms"`
	Window     int           `json:"window"`
	Samples    []StatsSample `json:"samples"`
}

const (
	statsTick   = time.Second
	statsWindow = 120 // samples kept
)

type statsSampler struct {
	m    *metrics
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []StatsSample // a ring: next is where the next one goes
	next    int
	full    bool

	// The last snapshots, touched by the sampler's goroutine only.
	at                    time.Time
	reads, writes, fsyncs snapshot
}

func startStats(m *metrics) *statsSampler {
	st := &statsSampler{m: m, stop: make(chan struct{}), done: make(chan struct{}), samples: make([]StatsSample, statsWindow)}
	st.at = time.Now()
	st.reads, st.writes = m.requestTotals()
	st.fsyncs = m.fsync.snapshot()
	go st.loop()
	return st
}

func (st *statsSampler) loop() {
	defer close(st.done)
	t := time.NewTicker(statsTick)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case now := <-t.C:
			st.sample(now)
		}
	}
}

// sample records the second that ended at now.
func (st *statsSampler) sample(now time.Time) {
	reads, writes := st.m.requestTotals()
	fsyncs := st.m.fsync.snapshot()
	secs := now.Sub(st.at).Seconds()
	if secs <= 0 {
		return
	}
	dr, dw, ds := reads.minus(st.reads), writes.minus(st.writes), fsyncs.minus(st.fsyncs)
	st.at, st.reads, st.writes, st.fsyncs = now, reads, writes, fsyncs
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	s := StatsSample{
		T:     now.UnixMilli(),
		Reads: float64(dr.count()) / secs, Writes: float64(dw.count()) / secs, Fsyncs: float64(ds.count()) / secs,
		ReadP50: ms(dr.quantile(0.5)), ReadP99: ms(dr.quantile(0.99)),
		WriteP50: ms(dw.quantile(0.5)), WriteP99: ms(dw.quantile(0.99)),
		FsyncP50: ms(ds.quantile(0.5)), FsyncP99: ms(ds.quantile(0.99)),
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.samples[st.next] = s
	st.next = (st.next + 1) % len(st.samples)
	st.full = st.full || st.next == 0
}

// Samples returns the samples kept, oldest first; none on a nil sampler.
func (st *statsSampler) Samples() []StatsSample {
	if st == nil {
		return []StatsSample{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.full {
		return append([]StatsSample{}, st.samples[:st.next]...)
	}
	return append(append([]StatsSample{}, st.samples[st.next:]...), st.samples[:st.next]...)
}

// close stops the sampler and waits for its goroutine; nil does nothing.
func (st *statsSampler) close() {
	if st == nil {
		return
	}
	close(st.stop)
	<-st.done
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, Stats{Node: s.cfg.ID, IntervalMS: statsTick.Milliseconds(), Window: statsWindow, Samples: s.stats.Samples()}, nil)
}
