package host

import (
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// A histogram counts durations into fixed buckets, as a Prometheus
// histogram does: Observe may be called from any goroutine (atomics, no
// lock), and a reader takes a snapshot of the counts. The buckets are one
// list for every latency the host measures (latencyBounds), so that the
// per-second samples of /v1/stats can merge and subtract them.

// latencyBounds are the upper bounds of the latency buckets: a 1-2-5
// series from 25 µs to 10 s, fine enough around a millisecond (a quorum
// write on a LAN, an fsync on an SSD) to read percentiles from.
var latencyBounds = []time.Duration{
	25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
}

// numBuckets is the buckets of a latency histogram: one per bound, and
// the last for everything slower (+Inf).
var numBuckets = len(latencyBounds) + 1

type histogram struct {
	counts []atomic.Uint64 // numBuckets, not cumulative
	sumNS  atomic.Uint64
}

func newHistogram() *histogram {
	return &histogram{counts: make([]atomic.Uint64, numBuckets)}
}

// bucketOf is the index of the bucket d falls in.
func bucketOf(d time.Duration) int {
	lo, hi := 0, len(latencyBounds)
	for lo < hi {
		m := (lo + hi) / 2
		if d <= latencyBounds[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// Observe counts one duration.
func (h *histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(d)].Add(1)
	h.sumNS.Add(uint64(d))
}

// snapshot is a histogram's counts at one moment: per bucket (not
// cumulative) and the sum.
type snapshot struct {
	counts []uint64
	sum    time.Duration
}

func (h *histogram) snapshot() snapshot {
	s := snapshot{counts: make([]uint64, numBuckets)}
	for i := range h.counts {
		s.counts[i] = h.counts[i].Load()
	}
	s.sum = time.Duration(h.sumNS.Load())
	return s
}

// count is the observations in s.
func (s snapshot) count() uint64 {
	var n uint64
	for _, c := range s.counts {
		n += c
	}
	return n
}

// add adds o's counts to s (s's counts must be numBuckets long).
func (s *snapshot) add(o snapshot) {
	for i, c := range o.counts {
		s.counts[i] += c
	}
	s.sum += o.sum
}

// minus is s less an earlier snapshot of the same histograms.
func (s snapshot) minus(earlier snapshot) snapshot {
	d := snapshot{counts: make([]uint64, numBuckets), sum: s.sum - earlier.sum}
	for i := range s.counts {
		if s.counts[i] > earlier.counts[i] {
			d.counts[i] = s.counts[i] - earlier.counts[i]
		}
	}
	return d
}

// quantile estimates the q-quantile (0 < q <= 1) of s, interpolating
// linearly inside the bucket it falls in, as Prometheus's
// histogram_quantile does; the slowest bucket answers its lower bound.
// It is 0 when s is empty.
func (s snapshot) quantile(q float64) time.Duration {
	total := s.count()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range s.counts {
		if c == 0 || seen+float64(c) < rank {
			seen += float64(c)
			continue
		}
		if i == len(latencyBounds) {
			return latencyBounds[i-1]
		}
		var lo time.Duration
		if i > 0 {
			lo = latencyBounds[i-1]
		}
		frac := (rank - seen) / float64(c)
		return lo + time.Duration(frac*float64(latencyBounds[i]-lo))
	}
	return latencyBounds[len(latencyBounds)-1]
}

// writeHistogram writes s as the series of Prometheus histogram name with
// labels ("" or `op="get",...`): cumulative buckets in seconds, _sum in
// seconds and _count. The # HELP and # TYPE lines are the caller's.
func writeHistogram(w io.Writer, name, labels string, s snapshot) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, c := range s.counts {
		cum += c
		le := "+Inf"
		if i < len(latencyBounds) {
			le = strconv.FormatFloat(latencyBounds[i].Seconds(), 'g', -1, 64)
		}
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, le, cum)
	}
	braces := ""
	if labels != "" {
		braces = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", name, braces, strconv.FormatFloat(s.sum.Seconds(), 'g', -1, 64), name, braces, cum)
}
