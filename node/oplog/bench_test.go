package oplog

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
)

// osLoop is an OS disk with a loop the benchmark turns by hand.
type osLoop struct {
	fs     *disk.OS
	posted chan func()
}

func newOSLoop(b *testing.B) *osLoop {
	o := &osLoop{posted: make(chan func(), 1<<16)}
	fs, err := disk.NewOS(b.TempDir(), func(f func()) { o.posted <- f })
	if err != nil {
		b.Fatal(err)
	}
	o.fs = fs
	b.Cleanup(func() { fs.Close() })
	return o
}

func (o *osLoop) until(done *bool) {
	for !*done {
		(<-o.posted)()
	}
}

func benchRecord(i int) Record {
	return Record{Type: TypeSet, Key: fmt.Appendf(nil, "user:%08d", i%100000),
		Value: fmt.Appendf(nil, `{"name":"user %d","email":"u%d@example.com","visits":%d,"plan":"free"}`, i, i, i%97),
		Stamp: clock.Timestamp{Counter: uint64(i + 1), Node: 1}, Origin: 1, Seq: uint64(i + 1)}
}

// BenchmarkAppend measures appends on a real disk. always-1 waits for each
// commit before the next (one fsync per record); always-64 keeps 64
// commits in flight, as a busy node does, so they share fsyncs.
func BenchmarkAppend(b *testing.B) {
	cases := []struct {
		name     string
		mode     Mode
		inflight int
	}{
		{"always-1", Always, 1},
		{"always-64", Always, 64},
		{"everysec", EverySec, 1},
		{"none", None, 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			o := newOSLoop(b)
			cfg := Config{Mode: c.mode, Clock: &clock.Posting{Base: clock.Real{}, Post: func(f func()) { o.posted <- f }}}
			l, _, err := Open(o.fs, cfg, func(Record) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			r := benchRecord(0)
			b.SetBytes(int64(len(appendRecord(nil, &r))))
			b.ResetTimer()
			outstanding := 0
			for i := 0; i < b.N; i++ {
				if err := l.Append(benchRecord(i)); err != nil {
					b.Fatal(err)
				}
				outstanding++
				l.Commit(func(err error) {
					if err != nil {
						b.Fatal(err)
					}
					outstanding--
				})
				for outstanding >= c.inflight {
					(<-o.posted)()
				}
			}
			done := false
			l.Sync(func(error) { done = true })
			o.until(&done)
			b.StopTimer()
			st := l.Stats()
			b.ReportMetric(float64(st.Records)/float64(max(st.Fsyncs, 1)), "records/fsync")
			l.Close()
		})
	}
}

// BenchmarkReplay measures Open over a log of 100,000 records on Mem.
func BenchmarkReplay(b *testing.B) {
	const n = 100000
	w := newWorld(1)
	l, _, _ := w.open(b, Config{})
	for i := range n / 100 {
		var batch []Record
		for j := range 100 {
			batch = append(batch, benchRecord(i*100+j))
		}
		l.Append(batch...)
	}
	l.Sync(func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	})
	w.drain()
	var size int64
	names, _ := w.mem.List()
	for _, name := range names {
		d, _ := w.mem.ReadFile(name)
		size += int64(len(d))
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		count := 0
		l, _, err := Open(w.mem, Config{}, func(Record) error { count++; return nil })
		if err != nil || count != n {
			b.Fatalf("replayed %d records: %v", count, err)
		}
		l.Close()
		w.q = nil
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCompact measures compacting 100,000 keys and reports the ratio
// of the records' encoded size to the base file's.
func BenchmarkCompact(b *testing.B) {
	const n = 100000
	s := state{}
	var raw int64
	for i := range n {
		r := benchRecord(i)
		s.apply(r)
		raw += int64(len(appendRecord(nil, &r)))
	}
	b.SetBytes(raw)
	var baseSize int
	for i := 0; i < b.N; i++ {
		w := newWorld(1)
		l, _, _ := w.open(b, Config{})
		if err := l.Compact(s.live(), func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}); err != nil {
			b.Fatal(err)
		}
		w.drain()
		names, _ := w.mem.List()
		for _, name := range names {
			if seg, ok := parseName(name); ok && seg.kind == kindBase {
				d, _ := w.mem.ReadFile(name)
				baseSize = len(d)
			}
		}
	}
	b.ReportMetric(float64(raw)/float64(baseSize), "ratio")
	b.ReportMetric(float64(baseSize), "base-bytes")
}

// BenchmarkReplayBase measures Open over a base of 1,000,000 keys of
// 100-byte random values on Mem, decompressing frames inline (as the
// simulator does) and ahead on goroutines (as memdbd does).
func BenchmarkReplayBase(b *testing.B) {
	const n = 1_000_000
	w := newWorld(1)
	l, _, _ := w.open(b, Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	c, err := l.BeginCompaction()
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		v := make([]byte, 100)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		r := Record{Type: TypeSet, Key: fmt.Appendf(nil, "key:%012d", i), Value: v,
			Stamp: clock.Timestamp{Counter: uint64(i + 1), Node: 1}, Origin: 1, Seq: uint64(i + 1)}
		if err := c.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	c.Finish(func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	})
	w.drain()
	l.Close()
	var size int64
	names, _ := w.mem.List()
	for _, name := range names {
		d, _ := w.mem.ReadFile(name)
		size += int64(len(d))
	}
	goroutines := func(work func()) func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			work()
		}()
		return func() { <-done }
	}
	for _, c := range []struct {
		name  string
		async func(func()) func()
	}{{"inline", nil}, {"goroutines", goroutines}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				count := 0
				l, _, err := Open(w.mem, Config{Async: c.async}, func(Record) error { count++; return nil })
				if err != nil || count != n {
					b.Fatalf("replayed %d records: %v", count, err)
				}
				l.Close()
				w.q = nil
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
