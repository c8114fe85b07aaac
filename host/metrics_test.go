package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// promSample is one line of the Prometheus text format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm parses the Prometheus text exposition format as /metrics
// writes it, failing the test on a line it cannot read, a sample of a
// family without # TYPE, or a series written twice. It returns the
// samples and each family's type.
func parseProm(t *testing.T, text string) ([]promSample, map[string]string) {
	t.Helper()
	types := map[string]string{}
	seen := map[string]bool{}
	var out []promSample
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			if _, dup := types[name]; dup {
				t.Errorf("line %d: # TYPE of %s again", i+1, name)
			}
			types[name] = typ
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil {
			t.Fatalf("line %d: %q is not NAME{LABELS} VALUE", i+1, line)
		}
		if seen[series] {
			t.Errorf("line %d: series %s written twice", i+1, series)
		}
		seen[series] = true
		s := promSample{name: series, labels: map[string]string{}, value: v}
		if name, rest, ok := strings.Cut(series, "{"); ok {
			s.name = name
			for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
				k, q, _ := strings.Cut(kv, "=")
				uq, err := strconv.Unquote(q)
				if err != nil {
					t.Fatalf("line %d: label %q: %v", i+1, kv, err)
				}
				s.labels[k] = uq
			}
		}
		family := s.name
		if _, ok := types[family]; !ok {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(s.name, suf); ok && types[f] == "histogram" {
					family = f
				}
			}
		}
		if _, ok := types[family]; !ok {
			t.Errorf("line %d: %s has no # TYPE", i+1, s.name)
		}
		out = append(out, s)
	}
	return out, types
}

// labelKey is a sample's labels but le, in a stable order.
func labelKey(l map[string]string) string {
	var ks []string
	for k, v := range l {
		if k != "le" {
			ks = append(ks, k+"="+v)
		}
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

// checkHistograms checks every histogram in samples is well formed: per
// label set, buckets in increasing le ending at +Inf, counts
// nondecreasing, +Inf equal to _count, and a _sum. It returns each
// histogram's _count by name and labels.
func checkHistograms(t *testing.T, samples []promSample, types map[string]string) map[string]float64 {
	t.Helper()
	type hist struct {
		les, counts []float64
		count, sum  float64
		hasCount    bool
		hasSum      bool
	}
	hs := map[string]*hist{}
	get := func(name string, l map[string]string) *hist {
		k := name + "{" + labelKey(l) + "}"
		if hs[k] == nil {
			hs[k] = &hist{}
		}
		return hs[k]
	}
	for _, s := range samples {
		for suf, f := range map[string]func(*hist, promSample){
			"_bucket": func(h *hist, s promSample) {
				le, err := strconv.ParseFloat(s.labels["le"], 64)
				if err != nil {
					t.Errorf("%s%v: le %q: %v", s.name, s.labels, s.labels["le"], err)
				}
				h.les, h.counts = append(h.les, le), append(h.counts, s.value)
			},
			"_count": func(h *hist, s promSample) { h.count, h.hasCount = s.value, true },
			"_sum":   func(h *hist, s promSample) { h.sum, h.hasSum = s.value, true },
		} {
			if name, ok := strings.CutSuffix(s.name, suf); ok && types[name] == "histogram" {
				f(get(name, s.labels), s)
			}
		}
	}
	counts := map[string]float64{}
	for k, h := range hs {
		switch {
		case len(h.les) == 0 || !h.hasCount || !h.hasSum:
			t.Errorf("%s: %d buckets, _count %v, _sum %v: want all three", k, len(h.les), h.hasCount, h.hasSum)
			continue
		case !math.IsInf(h.les[len(h.les)-1], 1):
			t.Errorf("%s: the last bucket is le=%v, want +Inf", k, h.les[len(h.les)-1])
		case h.counts[len(h.counts)-1] != h.count:
			t.Errorf("%s: +Inf bucket %v, _count %v: want them equal", k, h.counts[len(h.counts)-1], h.count)
		case h.sum < 0:
			t.Errorf("%s: _sum %v < 0", k, h.sum)
		}
		for i := 1; i < len(h.les); i++ {
			if h.les[i] <= h.les[i-1] || h.counts[i] < h.counts[i-1] {
				t.Errorf("%s: bucket %d (le=%v, %v) after (le=%v, %v): want le increasing, counts nondecreasing", k, i, h.les[i], h.counts[i], h.les[i-1], h.counts[i-1])
			}
		}
		counts[k] = h.count
	}
	return counts
}

// /metrics after requests of each kind: every histogram is well formed,
// the request latency of each op and level counts its requests, fsyncs
// were timed, and the Paxos series count the cas outcomes and ballots.
func TestMetricsHistograms(t *testing.T) {
	s := startNode(t, 1, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addrs: []string{s.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	one, all := client.WithConsistency(net.One), client.WithConsistency(net.All)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for i := range 5 {
		must("set", c.Set(ctx, fmt.Sprint("k", i), []byte("v")))
	}
	must("set one", c.Set(ctx, "k", []byte("v"), one))
	_, err = c.Get(ctx, "k", all)
	must("get all", err)
	_, err = c.Contains(ctx, "k")
	must("contains", err)
	must("del", c.Delete(ctx, "k0"))
	ok, err := c.CAS(ctx, "lock", nil, []byte("me"))
	must("cas", err)
	bad, err := c.CAS(ctx, "lock", []byte("not me"), []byte("you"))
	must("cas mismatch", err)
	if !ok || bad {
		t.Fatalf("cas from absence: %v, cas from a wrong value: %v; want true, false", ok, bad)
	}
	_, err = c.Incr(ctx, "hits", 2)
	must("incr", err)

	code, body := httpDo(t, "GET", "http://"+s.HTTPAddr()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	samples, types := parseProm(t, body)
	counts := checkHistograms(t, samples, types)
	value := func(name, labels string) float64 {
		for _, s := range samples {
			if s.name == name && labelKey(s.labels) == labels {
				return s.value
			}
		}
		t.Errorf("no %s{%s} in\n%s", name, labels, body)
		return 0
	}
	for series, want := range map[string]float64{
		"memdb_request_duration_seconds{level=quorum,op=set}":      5,
		"memdb_request_duration_seconds{level=one,op=set}":         1,
		"memdb_request_duration_seconds{level=all,op=get}":         1,
		"memdb_request_duration_seconds{level=quorum,op=contains}": 1,
		"memdb_request_duration_seconds{level=quorum,op=del}":      1,
		"memdb_request_duration_seconds{level=serial,op=cas}":      2,
		"memdb_request_duration_seconds{level=quorum,op=incr}":     1,
	} {
		if counts[series] != want {
			t.Errorf("%s_count = %v, want %v", series, counts[series], want)
		}
	}
	if n := counts["memdb_fsync_duration_seconds{}"]; n < 1 {
		t.Errorf("memdb_fsync_duration_seconds_count = %v, want fsyncs timed (fsync always)", n)
	}
	if n := counts["memdb_paxos_ballots{op=cas}"]; n != 2 {
		t.Errorf("memdb_paxos_ballots_count{op=cas} = %v, want 2", n)
	}
	if v := value("memdb_paxos_requests_total", "op=cas,outcome=committed"); v != 1 {
		t.Errorf("cas committed = %v, want 1", v)
	}
	if v := value("memdb_paxos_requests_total", "op=cas,outcome=mismatch"); v != 1 {
		t.Errorf("cas mismatch = %v, want 1", v)
	}
	value("memdb_hints_total", "event=stored")
	value("memdb_streamed_bytes_total", "direction=out")
	value("memdb_stale_stamps_total", "event=restamped")
	if inuse, sys := value("memdb_go_memory_bytes", "kind=inuse"), value("memdb_go_memory_bytes", "kind=sys"); inuse <= 0 || sys < inuse {
		t.Errorf("memdb_go_memory_bytes: inuse %v, sys %v; want 0 < inuse <= sys", inuse, sys)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// GET /v1/stats samples the requests each second.
func TestStatsEndpoint(t *testing.T) {
	s := startNode(t, 1, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addrs: []string{s.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var st Stats
	waitUntil(t, "a sample with writes and reads", func() bool {
		c.Set(ctx, "k", []byte("v"))
		c.Get(ctx, "k")
		code, body := httpDo(t, "GET", "http://"+s.HTTPAddr()+"/v1/stats")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
			t.Fatalf("GET /v1/stats: %d\n%s", code, body)
		}
		for _, x := range st.Samples {
			if x.Writes > 0 && x.Reads > 0 {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
		return false
	})
	last := st.Samples[len(st.Samples)-1]
	if st.Node != 1 || st.Window != statsWindow || st.IntervalMS != 1000 || last.T <= 0 {
		t.Errorf("GET /v1/stats: %+v", st)
	}
	for _, x := range st.Samples {
		if x.Writes > 0 && (x.WriteP50 <= 0 || x.WriteP99 < x.WriteP50) || x.Reads > 0 && (x.ReadP50 <= 0 || x.ReadP99 < x.ReadP50) {
			t.Errorf("sample %+v: want 0 < p50 <= p99 where there were requests", x)
		}
	}
}

func TestQuantile(t *testing.T) {
	snap := func(pairs ...int) snapshot { // bucket index, count
		s := snapshot{counts: make([]uint64, numBuckets)}
		for i := 0; i < len(pairs); i += 2 {
			s.counts[pairs[i]] += uint64(pairs[i+1])
		}
		return s
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		s    snapshot
		q    float64
		want time.Duration
	}{
		{"empty", snap(), 0.5, 0},
		{"one bucket, middle", snap(bucketOf(ms), 10), 0.5, 750 * time.Microsecond}, // (500 µs, 1 ms]
		{"one bucket, top", snap(bucketOf(ms), 10), 1, ms},
		{"first bucket from 0", snap(0, 4), 0.5, 12500 * time.Nanosecond},
		{"p99 in the slow bucket", snap(bucketOf(ms), 98, bucketOf(100*ms), 2), 0.99, 75 * ms},
		{"beyond the last bound", snap(numBuckets-1, 3), 0.5, 10 * time.Second},
	} {
		if got := tc.s.quantile(tc.q); got != tc.want {
			t.Errorf("%s: quantile(%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]int{0: 0, 25 * time.Microsecond: 0, 26 * time.Microsecond: 1, ms: 5, time.Hour: numBuckets - 1} {
		if got := bucketOf(d); got != want {
			t.Errorf("bucketOf(%v) = %d, want %d", d, got, want)
		}
	}
}

// The dashboard is served at / with its files, and kept to its origin.
func TestDashboardServed(t *testing.T) {
	s := startNode(t, 1, "")
	base := "http://" + s.HTTPAddr()
	for path, want := range map[string]string{
		"/":                     "<title>memdb</title>",
		"/dashboard/app.js":     "/v1/cluster",
		"/dashboard/style.css":  "font-family",
		"/dashboard/index.html": "", // redirected to ./ by the file server; any answer but an error
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, want 200 and %q in the body", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self'", path, csp)
		}
	}
	if code, _ := httpDo(t, "GET", base+"/nope"); code != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404 (only / is the dashboard)", code)
	}
}

// BenchmarkMetricsScrape measures one GET /metrics of a node that has
// seen every op at two levels (all request histograms written).
func BenchmarkMetricsScrape(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", b.TempDir()
	s, err := Start(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for o := range s.metrics.requests {
		for _, l := range []net.Consistency{net.One, net.Quorum} {
			s.metrics.requests[o][l].Observe(time.Millisecond)
		}
	}
	url := "http://" + s.HTTPAddr() + "/metrics"
	var size int
	for b.Loop() {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}

// BenchmarkRequestTiming measures what timing one request adds to the
// loop: the start noted, the reply matched and observed.
func BenchmarkRequestTiming(b *testing.B) {
	m := newMetrics()
	h := m.requests[opSet][net.Quorum]
	var id uint64
	for b.Loop() {
		id++
		m.start(reqKey{1, id}, reqStart{m.mono(), h})
		m.end(reqKey{1, id})
		m.replied(1, id)
	}
}

// BenchmarkRequestTimingAtOnce is BenchmarkRequestTiming for a request
// the node answers before Request returns (one node, rf 1).
func BenchmarkRequestTimingAtOnce(b *testing.B) {
	m := newMetrics()
	h := m.requests[opSet][net.Quorum]
	var id uint64
	for b.Loop() {
		id++
		m.start(reqKey{1, id}, reqStart{m.mono(), h})
		m.replied(1, id)
		m.end(reqKey{1, id})
	}
}

// A node joining streams the data written before it: the joiner's
// streamed bytes and batches in, and the old member's out, show on
// /metrics; a write at one while the other member is down is held as a
// hint.
func TestMetricsStreamsAndHints(t *testing.T) {
	a := startNode(t, 1, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addrs: []string{a.Addr()}, NoRouting: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 200 {
		if err := c.Set(ctx, fmt.Sprint("key", i), []byte("a value of some bytes")); err != nil {
			t.Fatal(err)
		}
	}
	b := startNode(t, 2, "", a.Addr())
	waitUntil(t, "node 2 joined", func() bool { _, ok := clusterNormal([]*Server{a, b}); return ok })

	scrape := func(s *Server) (map[string]float64, map[string]float64) {
		t.Helper()
		code, body := httpDo(t, "GET", "http://"+s.HTTPAddr()+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics: %d\n%s", code, body)
		}
		samples, types := parseProm(t, body)
		values := map[string]float64{}
		for _, x := range samples {
			values[x.name+"{"+labelKey(x.labels)+"}"] = x.value
		}
		return checkHistograms(t, samples, types), values
	}
	counts, values := scrape(b)
	if counts["memdb_stream_batch_bytes{direction=in}"] < 1 || values["memdb_streamed_bytes_total{direction=in}"] < 200*20 {
		t.Errorf("node 2 after joining: %v batches streamed in, %v bytes; want at least one batch and 4000 bytes",
			counts["memdb_stream_batch_bytes{direction=in}"], values["memdb_streamed_bytes_total{direction=in}"])
	}
	if _, ok := counts["memdb_hint_batch_entries{}"]; !ok {
		t.Errorf("no memdb_hint_batch_entries histogram on node 2")
	}
	counts, values = scrape(a)
	if counts["memdb_stream_batch_bytes{direction=out}"] < 1 || values["memdb_streamed_bytes_total{direction=out}"] < 200*20 {
		t.Errorf("node 1 after node 2 joined: %v batches streamed out, %v bytes; want at least one batch and 4000 bytes",
			counts["memdb_stream_batch_bytes{direction=out}"], values["memdb_streamed_bytes_total{direction=out}"])
	}

	b.Close()
	waitUntil(t, "a write at one held as a hint for node 2", func() bool {
		if err := c.Set(ctx, "while-2-is-down", []byte("v"), client.WithConsistency(net.One)); err != nil {
			t.Fatalf("set at one with node 2 down: %v", err)
		}
		_, values := scrape(a)
		return values["memdb_hints_total{event=stored}"] > 0
	})
}

// A request answered at once is timed without entering inflight; one
// answered later is found there; a request made while another is being
// handed to the node (from an answer meanwhile) moves that one to inflight
// first, so both are timed once.
func TestRequestTimingNested(t *testing.T) {
	m := newMetrics()
	h := m.requests[opGet][net.One]
	count := func() uint64 {
		var n uint64
		for _, c := range h.snapshot().counts {
			n += c
		}
		return n
	}
	k1, k2, k3 := reqKey{1, 1}, reqKey{1, 2}, reqKey{2, 1}
	m.start(k1, reqStart{m.mono(), h})
	m.replied(k1.conn, k1.id)
	m.end(k1)
	if len(m.inflight) != 0 || count() != 1 {
		t.Fatalf("answered at once: %d in flight, %d timed", len(m.inflight), count())
	}
	m.start(k1, reqStart{m.mono(), h}) // not answered at once
	m.start(k2, reqStart{m.mono(), h}) // made while k1 is handed over
	m.replied(k2.conn, k2.id)
	m.end(k2)
	m.end(k1)
	m.start(k3, reqStart{m.mono(), h})
	m.end(k3)
	if len(m.inflight) != 2 || count() != 2 {
		t.Fatalf("k1 and k3 waiting: %d in flight, %d timed", len(m.inflight), count())
	}
	m.replied(k1.conn, k1.id)
	m.replied(k3.conn, k3.id)
	m.replied(k3.conn, k3.id) // twice: nothing more
	if len(m.inflight) != 0 || count() != 4 {
		t.Fatalf("all answered: %d in flight, %d timed", len(m.inflight), count())
	}
}
