package host

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/node/oplog"
)

// bootRecords is BenchmarkBootBase's number of keys: the default is quick;
// a node's boot at scale is, for example,
//
//	go test ./host -run '^$' -bench BootBase -benchtime 3x -boot-records 5000000
var bootRecords = flag.Int("boot-records", 1_000_000, "keys of BenchmarkBootBase's base")

// BenchmarkBootBase times Start on a data directory whose log is one base
// of -boot-records keys of persistValue-byte random values, as a node
// compacted after a load leaves it. The log is written through oplog
// directly (a load over the network would take minutes at scale), then
// the server compacts it. It reports records/s, as BenchmarkReplayAtBoot.
func BenchmarkBootBase(b *testing.B) {
	dir, n := b.TempDir(), *bootRecords
	s := startPersistServer(b, dir, "none")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	writeSets(b, dir, n)
	s = startPersistServer(b, dir, "none")
	if _, err := s.Compact(); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { benchmarkBoot(b, dir, n) })
}

// writeSets appends n sets of distinct keys to the log in dir, stamped
// above anything a node wrote there, with the log's own loop turned by hand.
func writeSets(b *testing.B, dir string, n int) {
	posted := make(chan func(), 1<<10)
	fs, err := disk.NewOS(dir, func(f func()) { posted <- f })
	if err != nil {
		b.Fatal(err)
	}
	defer fs.Close()
	var top uint64
	l, _, err := oplog.Open(fs, oplog.Config{Mode: oplog.None}, func(r oplog.Record) error {
		top = max(top, r.Stamp.Counter)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		v := make([]byte, persistValue)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		c := top + 1 + uint64(i)
		r := oplog.Record{Type: oplog.TypeSet, Key: fmt.Appendf(nil, "key-%016x", uint64(i)*0x9e3779b97f4a7c15),
			Value: v, Stamp: clock.Timestamp{Counter: c, Node: 1}, Origin: 1, Seq: c}
		if err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
	done := false
	l.Sync(func(err error) {
		if err != nil {
			b.Fatal(err)
		}
		done = true
	})
	for !done {
		(<-posted)()
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}
