package net

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/memdb/memdb/clock"
)

// Entries used by the peer samples, and their bytes as doc.go's Entry
// table draws them.
var (
	entryLive      = Entry{Key: []byte("k1"), Value: []byte("v"), Stamp: clock.Timestamp{Counter: 5, Node: 2}}
	entryLiveBytes = []byte{
		0x00, 0x02, 'k', '1', // key
		0x00,                   // deleted
		0, 0, 0, 0, 0, 0, 0, 5, // stamp.counter
		0x00, 0x02, // stamp.node
		0x00, 0x00, 0x00, 0x01, 'v', // value
	}
	entryTombstone = Entry{Key: []byte("gone"), Deleted: true, Stamp: clock.Timestamp{Counter: 6, Node: 3}}
	entryTombBytes = []byte{
		0x00, 0x04, 'g', 'o', 'n', 'e',
		0x01,
		0, 0, 0, 0, 0, 0, 0, 6,
		0x00, 0x03,
		0x00, 0x00, 0x00, 0x00,
	}
	entryEmpty      = Entry{Key: []byte("e"), Value: []byte{}, Stamp: clock.Timestamp{Counter: 1, Node: 1}}
	entryEmptyBytes = []byte{0x00, 0x01, 'e', 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x01, 0, 0, 0, 0}
)

// peerSamples holds frames of the kinds in peer.go, with their body bytes
// written out by hand from doc.go's tables; samples includes them.
func peerSamples() []sample {
	u64 := func(v uint64) []byte {
		b := make([]byte, 8)
		for i := range b {
			b[7-i] = byte(v >> (8 * i))
		}
		return b
	}
	return []sample{
		{"gossip", Frame{Clock: testClock, Msg: &Gossip{Payload: []byte("hi")}},
			[]byte{0x00, 0x00, 0x00, 0x02, 'h', 'i'}},
		{"gossip empty", Frame{Msg: &Gossip{Payload: []byte{}}}, []byte{0, 0, 0, 0}},
		{"replicate", Frame{ID: 21, Clock: testClock, Msg: &Replicate{Epoch: 0x0102030405060708, Entries: []Entry{entryLive, entryTombstone}}},
			cat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0, 0, 0, 2}, entryLiveBytes, entryTombBytes)},
		{"replicate push no entries", Frame{Msg: &Replicate{Epoch: 7}},
			[]byte{0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0}},
		{"replicate empty value", Frame{ID: 1, Msg: &Replicate{Epoch: 1, Entries: []Entry{entryEmpty}}},
			cat(u64(1), []byte{0, 0, 0, 1}, entryEmptyBytes)},
		{"replicate a coordinator's write", Frame{ID: 2, Msg: &Replicate{Epoch: 1, Entries: []Entry{entryLive}, Carry: CarryWrite}},
			cat(u64(1), []byte{0, 0, 0, 1}, entryLiveBytes, []byte{1})},
		{"replicate a copy", Frame{ID: 3, Msg: &Replicate{Epoch: 1, Entries: []Entry{entryLive, entryTombstone}, Carry: CarryCopy}},
			cat(u64(1), []byte{0, 0, 0, 2}, entryLiveBytes, entryTombBytes, []byte{2})},
		{"read", Frame{ID: 22, Clock: testClock, Msg: &Read{Epoch: 9, Key: []byte("k1")}},
			[]byte{0, 0, 0, 0, 0, 0, 0, 9, 0x00, 0x02, 'k', '1'}},
		{"sync", Frame{ID: 23, Clock: testClock, Msg: &Sync{
			Epoch: 3,
			Spans: []Span{{Start: 1, End: 2}, {Start: 1<<64 - 1, End: 5}},
			Marks: []Mark{{Origin: 2, Counter: 100}},
			After: []byte("k5"),
			Limit: 65536,
		}},
			cat(u64(3),
				[]byte{0, 0, 0, 2}, u64(1), u64(2), u64(1<<64-1), u64(5), // spans
				[]byte{0, 0, 0, 1}, []byte{0x00, 0x02}, u64(100), // marks
				[]byte{0x00, 0x02, 'k', '5'},     // after
				[]byte{0x00, 0x01, 0x00, 0x00})}, // limit
		{"sync empty", Frame{ID: 24, Msg: &Sync{}},
			cat(u64(0), []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0}, []byte{0, 0}, []byte{0, 0, 0, 0})},
		{"sync whole ring", Frame{ID: 25, Msg: &Sync{Epoch: 4, Spans: []Span{{Start: 7, End: 7}}, Limit: 1 << 20}},
			cat(u64(4), []byte{0, 0, 0, 1}, u64(7), u64(7), []byte{0, 0, 0, 0}, []byte{0, 0}, []byte{0x00, 0x10, 0x00, 0x00})},
		{"sync marks only", Frame{ID: 26, Msg: &Sync{Epoch: 5, Marks: []Mark{{Origin: 1, Counter: 9}, {Origin: 0xffff, Counter: 1<<64 - 1}}, Limit: 1}},
			cat(u64(5), []byte{0, 0, 0, 0}, []byte{0, 0, 0, 2}, []byte{0, 1}, u64(9), []byte{0xff, 0xff}, u64(1<<64-1), []byte{0, 0}, []byte{0, 0, 0, 1})},
		{"sync-batch", Frame{ID: 23, Clock: testClock, Msg: &SyncBatch{Entries: []Entry{entryLive, entryTombstone}, More: true, Next: []byte("k2")}},
			cat([]byte{0, 0, 0, 2}, entryLiveBytes, entryTombBytes, []byte{0x01}, []byte{0x00, 0x02, 'k', '2'})},
		{"sync-batch last empty", Frame{ID: 24, Msg: &SyncBatch{}},
			[]byte{0, 0, 0, 0, 0x00, 0x00, 0x00}},
		{"sync-batch tombstone only", Frame{ID: 25, Msg: &SyncBatch{Entries: []Entry{entryTombstone}}},
			cat([]byte{0, 0, 0, 1}, entryTombBytes, []byte{0x00}, []byte{0, 0})},
		{"ring", Frame{ID: 30, Clock: testClock, Msg: &Ring{}}, []byte{}},
		{"ring-info", Frame{ID: 30, Clock: testClock, Msg: &RingInfo{
			Replicas: 3,
			Ring:     []byte{0xde, 0xad},
			Addrs:    []NodeAddr{{Node: 1, Addr: "127.0.0.1:7400"}, {Node: 0x0203, Addr: "[::1]:7410"}},
		}},
			cat([]byte{0x03}, []byte{0, 0, 0, 2, 0xde, 0xad}, []byte{0, 0, 0, 2},
				[]byte{0x00, 0x01, 14}, []byte("127.0.0.1:7400"),
				[]byte{0x02, 0x03, 10}, []byte("[::1]:7410"))},
		{"info", Frame{ID: 33, Msg: &Info{}}, []byte{}},
		{"info-reply", Frame{ID: 33, Msg: &InfoReply{Node: 0x0102, Version: "v1", Admin: "http://h:1"}},
			cat([]byte{0x01, 0x02, 2}, []byte("v1"), []byte{10}, []byte("http://h:1"))},
		{"info-reply empty", Frame{ID: 34, Msg: &InfoReply{Node: 7}}, []byte{0x00, 0x07, 0, 0}},
		{"ring-info empty", Frame{ID: 31, Msg: &RingInfo{Replicas: 1, Ring: []byte{}}},
			[]byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"ring-info empty address", Frame{ID: 32, Msg: &RingInfo{Replicas: 2, Ring: []byte{1}, Addrs: []NodeAddr{{Node: 9}}}},
			[]byte{0x02, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0x00, 0x09, 0x00}},
	}
}

// TestPeerRejected feeds intact peer frames with bad bodies, built by hand.
func TestPeerRejected(t *testing.T) {
	epoch := []byte{0, 0, 0, 0, 0, 0, 0, 1}
	stamp := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 1}
	entry := func(key []byte, deleted byte, stamp []byte, value ...byte) []byte {
		b := cat([]byte{byte(len(key) >> 8), byte(len(key))}, key, []byte{deleted}, stamp)
		return cat(b, []byte{0, 0, 0, byte(len(value))}, value)
	}
	replicate := func(count uint32, entries ...[]byte) []byte {
		return raw(KindReplicate, 5, cat(epoch, []byte{byte(count >> 24), byte(count >> 16), byte(count >> 8), byte(count)}, cat(entries...))...)
	}
	tests := []struct {
		name  string
		buf   []byte
		errIs error
	}{
		{"replicate count 2^32-1, no entries", replicate(0xffffffff), ErrMalformed},
		{"replicate count 2^32-1, one entry", replicate(0xffffffff, entry([]byte("k"), 0, stamp)), ErrMalformed},
		{"replicate count 2^28 over a small body", replicate(1<<28, entry([]byte("k"), 0, stamp)), ErrMalformed},
		{"replicate count 2, one entry", replicate(2, entry([]byte("k"), 0, stamp)), ErrMalformed},
		{"replicate count 0, one entry", replicate(0, entry([]byte("k"), 0, stamp)), ErrMalformed},
		{"replicate tombstone with value", replicate(1, entry([]byte("k"), 1, stamp, 'v')), ErrMalformed},
		{"replicate zero stamp", replicate(1, entry([]byte("k"), 0, make([]byte, 10), 'v')), ErrMalformed},
		{"replicate empty key", replicate(1, entry(nil, 0, stamp, 'v')), ErrBadKey},
		{"replicate state byte 4", replicate(1, entry([]byte("k"), 4, stamp)), ErrMalformed},
		{"replicate value over MaxValue", replicate(1, cat([]byte{0, 1, 'k', 0}, stamp, []byte{0x00, 0x80, 0x00, 0x01})), ErrTooLarge},
		{"replicate short epoch", raw(KindReplicate, 5, 0, 0, 0, 1), ErrMalformed},
		{"replicate carry 0 sent", raw(KindReplicate, 5, cat(epoch, []byte{0, 0, 0, 1}, entry([]byte("k"), 0, stamp, 'v'), []byte{0})...), ErrMalformed},
		{"replicate carry 3", raw(KindReplicate, 5, cat(epoch, []byte{0, 0, 0, 1}, entry([]byte("k"), 0, stamp, 'v'), []byte{3})...), ErrMalformed},
		{"replicate two bytes of carry", raw(KindReplicate, 5, cat(epoch, []byte{0, 0, 0, 1}, entry([]byte("k"), 0, stamp, 'v'), []byte{1, 1})...), ErrMalformed},
		{"read empty key", raw(KindRead, 5, cat(epoch, []byte{0, 0})...), ErrBadKey},
		{"read trailing byte", raw(KindRead, 5, cat(epoch, []byte{0, 1, 'k', 0})...), ErrMalformed},
		{"gossip over MaxValue", raw(KindGossip, 5, 0x00, 0x80, 0x00, 0x01), ErrTooLarge},
		{"gossip longer than body", raw(KindGossip, 5, 0, 0, 0, 3, 'a'), ErrMalformed},
		{"sync span count forged", raw(KindSync, 5, cat(epoch, []byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 16+4+2+4))...), ErrMalformed},
		{"sync mark count forged", raw(KindSync, 5, cat(epoch, []byte{0, 0, 0, 0}, []byte{0x10, 0, 0, 0}, make([]byte, 10+2+4))...), ErrMalformed},
		{"sync half a span", raw(KindSync, 5, cat(epoch, []byte{0, 0, 0, 1}, make([]byte, 8))...), ErrMalformed},
		{"sync after longer than body", raw(KindSync, 5, cat(epoch, make([]byte, 8), []byte{0, 9, 'k'})...), ErrMalformed},
		{"sync no limit", raw(KindSync, 5, cat(epoch, make([]byte, 8), []byte{0, 0})...), ErrMalformed},
		{"sync-batch count forged", raw(KindSyncBatch, 5, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0), ErrMalformed},
		{"sync-batch more byte 2", raw(KindSyncBatch, 5, 0, 0, 0, 0, 2, 0, 0), ErrMalformed},
		{"sync-batch next longer than body", raw(KindSyncBatch, 5, 0, 0, 0, 0, 1, 0, 2, 'k'), ErrMalformed},
		{"sync-batch no next", raw(KindSyncBatch, 5, 0, 0, 0, 0, 0), ErrMalformed},
		{"ring with a body", raw(KindRing, 5, 0), ErrMalformed},
		{"ring-info address count forged", raw(KindRingInfo, 5, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 1, 0), ErrMalformed},
		{"ring-info address longer than body", raw(KindRingInfo, 5, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 5, 'a'), ErrMalformed},
		{"ring-info ring over MaxValue", raw(KindRingInfo, 5, 3, 0xff, 0xff, 0xff, 0xff), ErrTooLarge},
		{"ring-info no address count", raw(KindRingInfo, 5, 3, 0, 0, 0, 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, n, err := Decode(tt.buf)
			if !errors.Is(err, tt.errIs) {
				t.Errorf("Decode error = %v, want %v", err, tt.errIs)
			}
			if f.Msg != nil {
				t.Errorf("Decode returned message %+v with error %v", f.Msg, err)
			}
			if n != len(tt.buf) || f.ID != 5 {
				t.Errorf("intact frame: Decode = (id %d, n %d), want (5, %d)", f.ID, n, len(tt.buf))
			}
		})
	}
}

// TestForgedCountAllocates checks that a forged element count costs no
// more memory than a few times the frame: the decoder refuses a count its
// body cannot hold before it allocates for it.
func TestForgedCountAllocates(t *testing.T) {
	bodies := map[string][]byte{
		"replicate":  raw(KindReplicate, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff),
		"sync spans": raw(KindSync, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff),
		"sync marks": raw(KindSync, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff),
		"sync-batch": raw(KindSyncBatch, 1, 0xff, 0xff, 0xff, 0xff),
		"ring-info":  raw(KindRingInfo, 1, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff),
	}
	for name, buf := range bodies {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := Decode(buf)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode error = %v, want ErrMalformed", name, err)
		}
		// A few hundred bytes for the error and the body copy; the forged
		// counts would ask for gigabytes.
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
			t.Errorf("%s: decoding a %d-byte frame with a forged count allocated %d bytes", name, len(buf), got)
		}
	}
}

// TestRingInfoLongAddress: an address over 255 bytes is cut by the sender,
// as doc.go says, and the frame stays valid.
func TestRingInfoLongAddress(t *testing.T) {
	long := strings.Repeat("a", 300)
	f, _, err := Decode(Encode(Frame{Msg: &RingInfo{Replicas: 1, Addrs: []NodeAddr{{Node: 1, Addr: long}, {Node: 2, Addr: "b:1"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	want := []NodeAddr{{Node: 1, Addr: long[:maxAddr]}, {Node: 2, Addr: "b:1"}}
	if diff := cmp.Diff(want, f.Msg.(*RingInfo).Addrs); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

// TestPeerDecodeCopies: entries decoded from a frame do not alias it, and
// one entry's key cannot grow into the next field.
func TestPeerDecodeCopies(t *testing.T) {
	want := Frame{ID: 1, Msg: &Replicate{Epoch: 1, Entries: []Entry{entryLive, entryEmpty}}}
	buf := Encode(want)
	got, _, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 0xee
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("frame changed when its buffer was overwritten (-want +got):\n%s", diff)
	}
	e := got.Msg.(*Replicate).Entries[0]
	_ = append(e.Key, "XXXXXXXXXXXXXXXX"...)
	if !bytes.Equal(e.Value, []byte("v")) {
		t.Errorf("appending to an entry's key changed its value to %q", e.Value)
	}
}

func genEntry() *rapid.Generator[Entry] {
	return rapid.Custom(func(t *rapid.T) Entry {
		e := Entry{Key: genKey().Draw(t, "key")}
		switch rapid.IntRange(0, 2).Draw(t, "state") {
		case 1:
			e.Deleted = true
		case 2:
			e.Counter = true
		}
		e.Stamp = genTimestamp().Filter(func(ts clock.Timestamp) bool { return !ts.IsZero() }).Draw(t, "stamp")
		if !e.Deleted {
			e.Value = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "value")
		}
		return e
	})
}

func genCursor() *rapid.Generator[[]byte] {
	return rapid.OneOf(rapid.Just([]byte(nil)), genKey())
}

// genPeerMessage draws any valid message of the kinds in peer.go.
func genPeerMessage() *rapid.Generator[Message] {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) Message {
			return &Gossip{Payload: genValue().Draw(t, "payload")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Replicate{Epoch: rapid.Uint64().Draw(t, "epoch"), Entries: rapid.SliceOfN(genEntry(), 0, 8).Draw(t, "entries"), Carry: Carry(rapid.IntRange(0, 2).Draw(t, "carry"))}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Read{Epoch: rapid.Uint64().Draw(t, "epoch"), Key: genKey().Draw(t, "key")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			span := rapid.Custom(func(t *rapid.T) Span {
				return Span{Start: rapid.Uint64().Draw(t, "start"), End: rapid.Uint64().Draw(t, "end")}
			})
			mark := rapid.Custom(func(t *rapid.T) Mark {
				return Mark{Origin: rapid.Uint16().Draw(t, "origin"), Counter: rapid.Uint64().Draw(t, "counter")}
			})
			return &Sync{
				Epoch: rapid.Uint64().Draw(t, "epoch"),
				Spans: rapid.SliceOfN(span, 0, 8).Draw(t, "spans"),
				Marks: rapid.SliceOfN(mark, 0, 8).Draw(t, "marks"),
				After: genCursor().Draw(t, "after"),
				Limit: rapid.Uint32().Draw(t, "limit"),
			}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &SyncBatch{
				Entries: rapid.SliceOfN(genEntry(), 0, 8).Draw(t, "entries"),
				More:    rapid.Bool().Draw(t, "more"),
				Next:    genCursor().Draw(t, "next"),
			}
		}),
		rapid.Just[Message](&Ring{}),
		rapid.Just[Message](&Info{}),
		rapid.Custom(func(t *rapid.T) Message {
			return &InfoReply{
				Node:    rapid.Uint16().Draw(t, "node"),
				Version: rapid.StringN(0, -1, maxAddr).Draw(t, "version"),
				Admin:   rapid.StringN(0, -1, maxAddr).Draw(t, "admin"),
			}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			addr := rapid.Custom(func(t *rapid.T) NodeAddr {
				return NodeAddr{Node: rapid.Uint16().Draw(t, "node"), Addr: rapid.StringN(0, -1, maxAddr).Draw(t, "addr")}
			})
			return &RingInfo{
				Replicas: rapid.Uint8().Draw(t, "replicas"),
				Ring:     rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "ring"),
				Addrs:    rapid.SliceOfN(addr, 0, 8).Draw(t, "addrs"),
			}
		}),
	)
}
