package net

import (
	"bytes"
	"testing"
)

// A connection's read buffer grows for a large frame and is given back
// once the frame is decoded: an idle connection does not keep its largest
// frame's worth of memory (a node after a burst of hint batches held
// megabytes per peer).
func TestReaderGivesBackLargeBuffer(t *testing.T) {
	big := Encode(Frame{ID: 1, Msg: &Gossip{Payload: bytes.Repeat([]byte{7}, 4<<20)}})
	small := Encode(Frame{ID: 2, Msg: &Gossip{Payload: []byte("hi")}})
	var in bytes.Buffer
	in.Write(big)
	in.Write(small)
	r := &reader{nc: &in}
	var got []Frame
	grown := 0
	for len(got) < 2 {
		fs, err := r.frames()
		if err != nil {
			t.Fatalf("frames: %v (after %d)", err, len(got))
		}
		got = append(got, fs...)
		grown = max(grown, cap(r.buf))
	}
	if p := got[0].Msg.(*Gossip).Payload; len(p) != 4<<20 || p[0] != 7 || p[len(p)-1] != 7 {
		t.Fatalf("the large frame decoded to %d bytes", len(p))
	}
	if p := got[1].Msg.(*Gossip).Payload; string(p) != "hi" {
		t.Fatalf("the small frame after it decoded to %q", p)
	}
	if grown < 4<<20 {
		t.Fatalf("the buffer grew to %d bytes at most, want at least the large frame's size", grown)
	}
	if c := cap(r.buf); c > keepRead {
		t.Errorf("the buffer holds %d bytes once the large frame was decoded, want at most %d", c, keepRead)
	}
}

// BenchmarkDecodeAll16 decodes what one read of a pipelined client brings:
// 16 Set frames of 100-byte values (allocations per frame: the reader's
// decoder is shared, fs is sized once).
func BenchmarkDecodeAll16(b *testing.B) {
	var batch []byte
	for i := range 16 {
		batch = AppendFrame(batch, Frame{ID: uint64(i + 1), Msg: &Set{Key: []byte("key:000000000042"), Value: make([]byte, 100)}})
	}
	r := &reader{reject: func(Frame) {}}
	b.ReportAllocs()
	for b.Loop() {
		r.buf = append(r.buf[:0], batch...)
		fs, err := r.decodeAll()
		if err != nil || len(fs) != 16 {
			b.Fatal(len(fs), err)
		}
	}
}
