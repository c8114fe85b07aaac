package oplog

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// While a compaction's compression runs off the loop, the log keeps
// taking appends; they land in the new segment, survive the swap, and are
// replayed after the base. A second Compact meanwhile is refused.
func TestCompactOffloaded(t *testing.T) {
	w := newWorld(7)
	var pending []func() // offloaded work and its done, run when the test says
	cfg := DefaultConfig()
	cfg.Offload = func(_ int, work, done func()) {
		pending = append(pending, func() {
			work()
			if done != nil {
				done()
			}
		})
	}
	l, _, _ := w.open(t, cfg)
	before := recs(0, 20)
	commitAll(t, w, l, before...)

	var result error
	finished := false
	if err := l.Compact(lww(before).live(), func(err error) { result, finished = err, true }); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(lww(before).live(), func(error) {}); err != ErrBusy {
		t.Fatalf("second Compact while one runs: %v, want ErrBusy", err)
	}
	during := recs(20, 30)
	commitAll(t, w, l, during...)
	if len(pending) != 1 {
		t.Fatalf("%d offloaded jobs, want 1", len(pending))
	}
	pending[0]()
	w.drain()
	// Then the old segments' removal, offloaded too: the compaction is
	// done once it has run.
	if finished || len(pending) != 2 {
		t.Fatalf("after the swap: finished %v, %d offloaded jobs; want not yet, and the removal queued", finished, len(pending))
	}
	pending[1]()
	w.drain()
	if !finished || result != nil {
		t.Fatalf("compaction finished %v with %v", finished, result)
	}
	l.Close()

	w.crash()
	l2, got, _ := w.open(t, DefaultConfig())
	defer l2.Close()
	want := lww(append(before, during...))
	if d := cmp.Diff(want, lww(got)); d != "" {
		t.Fatalf("state after an offloaded compaction (-want +got):\n%s", d)
	}
}

// A base of several chunks (Compaction.Add starts a new one past
// chunkSize), built a record at a time across events with appends in
// between, replays as the state it was given, a frame per chunk.
func TestCompactionAcrossChunks(t *testing.T) {
	w := newWorld(9)
	l, _, _ := w.open(t, DefaultConfig())
	big := make([]Record, 40)
	for i := range big {
		big[i] = rec(i)
		big[i].Value = bytes.Repeat([]byte{byte('a' + i%26)}, 100_000+i*3)
	}
	commitAll(t, w, l, big...)
	c, err := l.BeginCompaction()
	if err != nil {
		t.Fatal(err)
	}
	var during []Record
	for i, r := range big {
		if err := c.Add(r); err != nil {
			t.Fatal(err)
		}
		d := rec(100 + i)
		commitAll(t, w, l, d)
		during = append(during, d)
	}
	if len(c.chunks) < 3 {
		t.Fatalf("%d bytes made %d chunks, want several", c.Bytes(), len(c.chunks))
	}
	var result error = errors.New("never finished")
	chunks := c.chunks
	c.Finish(func(err error) { result = err })
	w.drain()
	if result != nil {
		t.Fatal(result)
	}
	// Each chunk was dropped once compressed: nothing holds the payload
	// whole while the base is written.
	for i, ch := range chunks {
		if ch != nil || c.chunks != nil {
			t.Fatalf("chunk %d of %d still held after Finish", i, len(chunks))
		}
	}
	l.Close()
	w.crash()
	l2, got, _ := w.open(t, DefaultConfig())
	defer l2.Close()
	if d := cmp.Diff(lww(append(big, during...)), lww(got)); d != "" {
		t.Fatalf("state after a compaction of several chunks (-want +got):\n%s", d)
	}
}
