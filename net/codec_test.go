package net

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/memdb/memdb/clock"
)

// The wire cannot tell a nil slice from an empty one; the decoder returns
// empty, non-nil slices.
var equateEmpty = cmpopts.EquateEmpty()

func nonce(b byte) (n [NonceSize]byte) {
	for i := range n {
		n[i] = b + byte(i)
	}
	return n
}

func mac(b byte) (m [MACSize]byte) {
	for i := range m {
		m[i] = b ^ byte(i)
	}
	return m
}

// sample is a valid frame of one kind, and its body as doc.go draws it.
type sample struct {
	name string
	f    Frame
	body []byte
}

var (
	testClock  = clock.Timestamp{Counter: 0x1112131415161718, Node: 0x2122}
	testBallot = clock.Timestamp{Counter: 9, Node: 2}
)

// samples holds at least one frame of every kind, with the body bytes
// written out by hand from the tables in doc.go. The peer kinds' samples
// are in peer_codec_test.go.
func samples() []sample {
	n1, n2 := nonce(0xa0), nonce(0xb0)
	m1 := mac(0x5c)
	big := bytes.Repeat([]byte{'k'}, MaxKey)
	return append([]sample{
		{"challenge", Frame{Msg: &Challenge{Version: 1, Node: 0x0304, Nonce: n1}},
			cat([]byte{0x01, 0x03, 0x04}, n1[:])},
		{"auth client", Frame{ID: 1, Msg: &Auth{Role: RoleClient, Node: 0, Nonce: n2, MAC: m1}},
			cat([]byte{0x01, 0x00, 0x00}, n2[:], m1[:])},
		{"auth peer", Frame{ID: 1, Clock: testClock, Msg: &Auth{Role: RolePeer, Node: 0xfffe, Nonce: n2, MAC: m1}},
			cat([]byte{0x02, 0xff, 0xfe}, n2[:], m1[:])},
		{"auth-ok", Frame{ID: 1, Msg: &AuthOK{MAC: m1}}, m1[:]},
		{"get", Frame{ID: 7, Clock: testClock, Msg: &Get{Level: Quorum, Key: []byte("k1")}},
			[]byte{0x02, 0x00, 0x02, 'k', '1'}},
		{"get serial", Frame{ID: 1<<64 - 1, Msg: &Get{Level: Serial, Key: []byte{0}}},
			[]byte{0x04, 0x00, 0x01, 0x00}},
		{"get max key", Frame{ID: 8, Msg: &Get{Level: Default, Key: big}},
			cat([]byte{0x00, 0xff, 0xff}, big)},
		{"set", Frame{ID: 9, Clock: testClock, Msg: &Set{Level: All, Key: []byte("k1"), Value: []byte("hello")}},
			[]byte{0x03, 0x00, 0x02, 'k', '1', 0x00, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'}},
		{"set empty value", Frame{ID: 10, Msg: &Set{Level: One, Key: []byte("k"), Value: []byte{}}},
			[]byte{0x01, 0x00, 0x01, 'k', 0x00, 0x00, 0x00, 0x00}},
		{"delete", Frame{ID: 11, Msg: &Delete{Level: Quorum, Key: []byte("gone")}},
			[]byte{0x02, 0x00, 0x04, 'g', 'o', 'n', 'e'}},
		{"contains", Frame{ID: 12, Msg: &Contains{Level: One, Key: []byte("k")}},
			[]byte{0x01, 0x00, 0x01, 'k'}},
		{"compact", Frame{ID: 13, Msg: &Compact{}}, []byte{}},
		{"value found", Frame{ID: 7, Clock: testClock, Msg: &Value{Found: true, Version: clock.Timestamp{Counter: 5, Node: 2}, Value: []byte("v")}},
			[]byte{0x01, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 0, 0, 0, 1, 'v'}},
		{"value found empty", Frame{ID: 7, Msg: &Value{Found: true, Version: clock.Timestamp{Counter: 1, Node: 1}, Value: []byte{}}},
			[]byte{0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}},
		{"value deleted", Frame{ID: 7, Msg: &Value{Found: false, Version: clock.Timestamp{Counter: 6, Node: 3}, Value: []byte{}}},
			[]byte{0x00, 0, 0, 0, 0, 0, 0, 0, 6, 0, 3, 0, 0, 0, 0}},
		{"done", Frame{ID: 9, Clock: testClock, Msg: &Done{Version: clock.Timestamp{Counter: 0x0102030405060708, Node: 0x090a}}},
			[]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"bool true", Frame{ID: 12, Msg: &Bool{Value: true}}, []byte{0x01}},
		{"bool false", Frame{ID: 12, Msg: &Bool{Value: false}}, []byte{0x00}},
		{"error", Frame{ID: 9, Clock: testClock, Msg: &Error{Code: CodeUnavailable, Message: "1 of 2 replicas"}},
			cat([]byte{0x00, 0x06, 0x00, 0x0f}, []byte("1 of 2 replicas"))},
		{"error empty", Frame{Msg: &Error{Code: CodeMalformed}}, []byte{0x00, 0x01, 0x00, 0x00}},
		{"error unknown code", Frame{ID: 3, Msg: &Error{Code: 0xffff, Message: "ü"}},
			[]byte{0xff, 0xff, 0x00, 0x02, 0xc3, 0xbc}},
	}, append(append(append(peerSamples(), paxosSamples()...), counterSamples()...), batchSamples()...)...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// header returns the 28 header bytes doc.go draws, with length and CRC
// zero; seal fills them in.
func header(kind Kind, id uint64, c clock.Timestamp) []byte {
	h := make([]byte, 8, HeaderSize)
	h = append(h, Version, byte(kind))
	h = binary.BigEndian.AppendUint64(h, id)
	h = binary.BigEndian.AppendUint64(h, c.Counter)
	return binary.BigEndian.AppendUint16(h, c.Node)
}

// seal sets the length and CRC of the one frame in b, after a test built or
// edited it, so the codec looks past the checksum.
func seal(b []byte) []byte {
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[8:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// raw builds a sealed frame from a header and any body bytes.
func raw(kind Kind, id uint64, body ...byte) []byte {
	return seal(cat(header(kind, id, testClock), body))
}

func TestKindsCovered(t *testing.T) {
	seen := map[Kind]bool{}
	for _, s := range samples() {
		seen[s.f.Msg.Kind()] = true
	}
	for k := range kindNames {
		if !seen[k] {
			t.Errorf("no sample frame of kind %s", k)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			buf := Encode(s.f)
			want := seal(cat(header(s.f.Msg.Kind(), s.f.ID, s.f.Clock), s.body))
			if !bytes.Equal(buf, want) {
				t.Fatalf("Encode(%+v) =\n%s\nwant (doc.go's layout)\n%s", s.f, hex.Dump(buf), hex.Dump(want))
			}
			got, n, err := Decode(buf)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if n != len(buf) {
				t.Errorf("Decode used %d bytes, want %d", n, len(buf))
			}
			if diff := cmp.Diff(s.f, got, equateEmpty); diff != "" {
				t.Errorf("Decode(Encode(f)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHeader pins the header layout, CRC included, against bytes written
// out by hand (the CRC-32C value was computed independently).
func TestHeader(t *testing.T) {
	f := Frame{ID: 0x0102030405060708, Clock: testClock, Msg: &Bool{Value: true}}
	want, _ := hex.DecodeString("00000019" + "49cbc925" + "01" + "2a" +
		"0102030405060708" + "1112131415161718" + "2122" + "01")
	if got := Encode(f); !bytes.Equal(got, want) {
		t.Errorf("Encode(%+v) =\n%s\nwant\n%s", f, hex.Dump(got), hex.Dump(want))
	}
}

func ExampleEncode() {
	b := Encode(Frame{ID: 7, Clock: clock.Timestamp{Counter: 42, Node: 1}, Msg: &Get{Level: Quorum, Key: []byte("k1")}})
	fmt.Print(hex.Dump(b))
	// Output:
	// 00000000  00 00 00 1d b1 f0 0b 79  01 0a 00 00 00 00 00 00  |.......y........|
	// 00000010  00 07 00 00 00 00 00 00  00 2a 00 01 02 00 02 6b  |.........*.....k|
	// 00000020  31                                                |1|
}

// TestPipelined decodes frames back to back from one buffer, as a reader
// does with everything a read brought in.
func TestPipelined(t *testing.T) {
	var buf []byte
	var want []Frame
	for _, s := range samples() {
		buf = AppendFrame(buf, s.f)
		want = append(want, s.f)
	}
	var got []Frame
	for len(buf) > 0 {
		f, n, err := Decode(buf)
		if err != nil {
			t.Fatalf("Decode after %d frames: %v", len(got), err)
		}
		got = append(got, f)
		buf = buf[n:]
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("frames mismatch (-want +got):\n%s", diff)
	}
}

// TestDecodeCopies checks the contract that a decoded frame does not alias
// the buffer it came from.
func TestDecodeCopies(t *testing.T) {
	want := Frame{ID: 1, Msg: &Set{Level: One, Key: []byte("key"), Value: []byte("value")}}
	buf := Encode(want)
	got, _, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 0xee
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frame changed when its buffer was overwritten (-want +got):\n%s", diff)
	}
	// Growing the key must not overwrite the value that follows it.
	s := got.Msg.(*Set)
	_ = append(s.Key, "XXXXXXXXXX"...)
	if string(s.Value) != "value" {
		t.Errorf("appending to the key changed the value to %q", s.Value)
	}
}

func TestAppendFrameKeepsPrefix(t *testing.T) {
	prefix := []byte("prefix")
	f := Frame{ID: 3, Msg: &Get{Level: One, Key: []byte("k")}}
	b := AppendFrame(append([]byte(nil), prefix...), f)
	if !bytes.Equal(b[:len(prefix)], prefix) || !bytes.Equal(b[len(prefix):], Encode(f)) {
		t.Errorf("AppendFrame(%q, f) = %q, want the prefix then %q", prefix, b, Encode(f))
	}
}

func genKey() *rapid.Generator[[]byte] {
	return rapid.SliceOfN(rapid.Byte(), 1, 300)
}

func genValue() *rapid.Generator[[]byte] {
	return rapid.SliceOfN(rapid.Byte(), 0, 3000)
}

func genLevel() *rapid.Generator[Consistency] {
	return rapid.SampledFrom([]Consistency{Default, One, Quorum, All, Serial})
}

func genTimestamp() *rapid.Generator[clock.Timestamp] {
	return rapid.Custom(func(t *rapid.T) clock.Timestamp {
		return clock.Timestamp{Counter: rapid.Uint64().Draw(t, "counter"), Node: rapid.Uint16().Draw(t, "node")}
	})
}

func genArray(t *rapid.T, dst []byte, label string) {
	copy(dst, rapid.SliceOfN(rapid.Byte(), len(dst), len(dst)).Draw(t, label))
}

// genMessage draws any valid message of any kind.
func genMessage() *rapid.Generator[Message] {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) Message {
			m := &Challenge{Version: rapid.Uint8().Draw(t, "version"), Node: rapid.Uint16().Draw(t, "node")}
			genArray(t, m.Nonce[:], "nonce")
			return m
		}),
		rapid.Custom(func(t *rapid.T) Message {
			m := &Auth{Role: rapid.SampledFrom([]Role{RoleClient, RolePeer}).Draw(t, "role"), Node: rapid.Uint16().Draw(t, "node")}
			genArray(t, m.Nonce[:], "nonce")
			genArray(t, m.MAC[:], "mac")
			return m
		}),
		rapid.Custom(func(t *rapid.T) Message {
			m := &AuthOK{}
			genArray(t, m.MAC[:], "mac")
			return m
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Get{Level: genLevel().Draw(t, "level"), Key: genKey().Draw(t, "key")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Set{Level: genLevel().Draw(t, "level"), Key: genKey().Draw(t, "key"), Value: genValue().Draw(t, "value")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Delete{Level: genLevel().Draw(t, "level"), Key: genKey().Draw(t, "key")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Contains{Level: genLevel().Draw(t, "level"), Key: genKey().Draw(t, "key")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			m := &Value{Found: rapid.Bool().Draw(t, "found"), Version: genTimestamp().Draw(t, "version")}
			if m.Found {
				m.Value = genValue().Draw(t, "value")
			}
			return m
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Done{Version: genTimestamp().Draw(t, "version")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &Bool{Value: rapid.Bool().Draw(t, "value")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			msg := rapid.OneOf(
				rapid.StringN(0, -1, maxMessage),
				rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, maxMessage), func(b []byte) string { return string(b) }),
			).Draw(t, "message")
			return &Error{Code: Code(rapid.Uint16().Draw(t, "code")), Message: msg}
		}),
		genPeerMessage(),
		genCounterMessage(),
	)
}

func genFrame() *rapid.Generator[Frame] {
	return rapid.Custom(func(t *rapid.T) Frame {
		return Frame{
			ID:    rapid.Uint64().Draw(t, "id"),
			Clock: genTimestamp().Draw(t, "clock"),
			Msg:   genMessage().Draw(t, "msg"),
		}
	})
}

// TestRoundTripProperty: any valid frame decodes to itself, and its
// encoding is canonical (re-encoding gives the same bytes).
func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want := genFrame().Draw(t, "frame")
		buf := Encode(want)
		got, n, err := Decode(buf)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", want, err)
		}
		if n != len(buf) {
			t.Fatalf("Decode used %d of %d bytes", n, len(buf))
		}
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
			t.Fatalf("Decode(Encode(f)) mismatch (-want +got):\n%s", diff)
		}
		if again := Encode(got); !bytes.Equal(again, buf) {
			t.Fatalf("re-encoding gives different bytes:\n%s\nwant\n%s", hex.Dump(again), hex.Dump(buf))
		}
	})
}

func TestTruncated(t *testing.T) {
	for _, s := range samples() {
		buf := Encode(s.f)
		for i := range len(buf) {
			f, n, err := Decode(buf[:i])
			if !errors.Is(err, ErrShort) || n != 0 || f.Msg != nil {
				t.Errorf("%s: Decode of the first %d of %d bytes = (%+v, %d, %v), want ErrShort and n = 0", s.name, i, len(buf), f, n, err)
			}
		}
	}
}

// TestBitFlips flips every bit of every sample, alone in the buffer and
// followed by another frame (so a longer length still finds bytes): each
// must be refused, never decoded as some other frame.
func TestBitFlips(t *testing.T) {
	next := Encode(Frame{ID: 99, Msg: &Bool{Value: true}})
	for _, s := range samples() {
		if s.name == "get max key" {
			continue // 500k flips of a 64 KiB frame; the small ones cover every field
		}
		orig := Encode(s.f)
		for bit := range 8 * len(orig) {
			for _, tail := range [][]byte{nil, next} {
				buf := cat(orig, tail)
				buf[bit/8] ^= 1 << (bit % 8)
				f, n, err := Decode(buf)
				if err == nil {
					t.Errorf("%s with bit %d flipped (tail %d bytes): decoded as %+v (%d bytes), want an error", s.name, bit, len(tail), f, n)
				}
			}
		}
	}
}

func TestFrameLen(t *testing.T) {
	tests := []struct {
		name   string
		buf    []byte
		want   int
		errIs  error
		errNot bool
	}{
		{"empty", nil, 0, ErrShort, false},
		{"3 bytes", []byte{0, 0, 0}, 0, ErrShort, false},
		{"smallest", []byte{0, 0, 0, 24}, 28, nil, false},
		{"largest", []byte{0x01, 0, 0, 0}, MaxFrame + 4, nil, false},
		{"one over MaxFrame", []byte{0x01, 0, 0, 1}, 0, ErrTooLarge, false},
		{"4 GiB", []byte{0xff, 0xff, 0xff, 0xff}, 0, ErrTooLarge, false},
		{"shorter than a header", []byte{0, 0, 0, 23}, 0, ErrMalformed, false},
		{"zero", []byte{0, 0, 0, 0}, 0, ErrMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := FrameLen(tt.buf)
			if n != tt.want || !errors.Is(err, tt.errIs) {
				t.Errorf("FrameLen(% x) = (%d, %v), want (%d, %v)", tt.buf, n, err, tt.want, tt.errIs)
			}
			// Decode agrees, from the same 4 bytes.
			if tt.errIs != nil {
				if f, n, err := Decode(tt.buf); !errors.Is(err, tt.errIs) || n != 0 || f.Msg != nil {
					t.Errorf("Decode(% x) = (%+v, %d, %v), want (0, %v)", tt.buf, f, n, err, tt.errIs)
				}
			}
		})
	}
}

// TestRejected feeds intact frames (correct length and CRC) with bad
// contents, each built by hand, and checks the error and whether the frame
// counted as intact (n > 0, ID set).
func TestRejected(t *testing.T) {
	good := Encode(Frame{ID: 5, Msg: &Get{Level: One, Key: []byte("k")}})
	withVersion := func(v byte) []byte {
		b := bytes.Clone(good)
		b[8] = v
		return seal(b)
	}
	badCRC := bytes.Clone(good)
	badCRC[4] ^= 0xff
	tooLong := raw(KindError, 5, cat([]byte{0, 1, 0x10, 0x01}, bytes.Repeat([]byte{'x'}, maxMessage+1))...)

	tests := []struct {
		name   string
		buf    []byte
		errIs  error
		intact bool // n == len(buf) and ID == 5
	}{
		{"checksum", badCRC, ErrChecksum, false},
		{"version 0", withVersion(0), ErrVersion, false},
		{"version 2", withVersion(2), ErrVersion, false},
		{"kind 0", raw(KindInvalid, 5), ErrUnknownKind, true},
		{"kind 99 with body", raw(99, 5, 1, 2, 3), ErrUnknownKind, true},
		{"kind 255", raw(255, 5), ErrUnknownKind, true},
		{"empty key get", raw(KindGet, 5, 1, 0, 0), ErrBadKey, true},
		{"empty key set", raw(KindSet, 5, 1, 0, 0, 0, 0, 0, 0), ErrBadKey, true},
		{"empty key delete", raw(KindDelete, 5, 1, 0, 0), ErrBadKey, true},
		{"empty key contains", raw(KindContains, 5, 1, 0, 0), ErrBadKey, true},
		{"key longer than body", raw(KindGet, 5, 1, 0, 5, 'k'), ErrMalformed, true},
		{"set value over MaxValue", raw(KindSet, 5, 1, 0, 1, 'k', 0x00, 0x80, 0x00, 0x01), ErrTooLarge, true},
		{"set value 4 GiB", raw(KindSet, 5, 1, 0, 1, 'k', 0xff, 0xff, 0xff, 0xff), ErrTooLarge, true},
		{"value over MaxValue", raw(KindValue, 5, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x00, 0x80, 0x00, 0x01), ErrTooLarge, true},
		{"value longer than body", raw(KindSet, 5, 1, 0, 1, 'k', 0, 0, 0, 2, 'v'), ErrMalformed, true},
		{"trailing byte", raw(KindGet, 5, 1, 0, 1, 'k', 0), ErrMalformed, true},
		{"trailing bytes bool", raw(KindBool, 5, 1, 1), ErrMalformed, true},
		{"trailing byte done", raw(KindDone, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0), ErrMalformed, true},
		{"empty body get", raw(KindGet, 5), ErrMalformed, true},
		{"empty body bool", raw(KindBool, 5), ErrMalformed, true},
		{"short nonce", raw(KindChallenge, 5, 1, 0, 1, 1, 2, 3), ErrMalformed, true},
		{"short mac", raw(KindAuthOK, 5, make([]byte, MACSize-1)...), ErrMalformed, true},
		{"short done", raw(KindDone, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0), ErrMalformed, true},
		{"bool byte 2", raw(KindBool, 5, 2), ErrMalformed, true},
		{"bool byte 255", raw(KindBool, 5, 0xff), ErrMalformed, true},
		{"found byte 2", raw(KindValue, 5, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0), ErrMalformed, true},
		{"not found with bytes", raw(KindValue, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 'v'), ErrMalformed, true},
		{"role 0", raw(KindAuth, 5, cat([]byte{0, 0, 0}, make([]byte, NonceSize+MACSize))...), ErrMalformed, true},
		{"role 3", raw(KindAuth, 5, cat([]byte{3, 0, 0}, make([]byte, NonceSize+MACSize))...), ErrMalformed, true},
		{"consistency 5", raw(KindGet, 5, 5, 0, 1, 'k'), ErrMalformed, true},
		{"consistency 255 set", raw(KindSet, 5, 0xff, 0, 1, 'k', 0, 0, 0, 0), ErrMalformed, true},
		{"error message over limit", tooLong, ErrMalformed, true},
		{"error message longer than body", raw(KindError, 5, 0, 1, 0, 3, 'a'), ErrMalformed, true},
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
			if tt.intact {
				if n != len(tt.buf) || f.ID != 5 || f.Clock != testClock {
					t.Errorf("intact frame: Decode = (id %d, clock %v, n %d), want (5, %v, %d)", f.ID, f.Clock, n, testClock, len(tt.buf))
				}
			} else if n != 0 || f.ID != 0 {
				t.Errorf("damaged frame: Decode = (id %d, n %d), want (0, 0)", f.ID, n)
			}
		})
	}
}

// TestUnknownKindSkipped: after an unknown kind, the frame that follows it
// decodes, which is how the connection goes on.
func TestUnknownKindSkipped(t *testing.T) {
	want := Frame{ID: 6, Msg: &Get{Level: One, Key: []byte("k")}}
	buf := cat(raw(200, 5, 1, 2, 3), Encode(want))
	_, n, err := Decode(buf)
	if !errors.Is(err, ErrUnknownKind) || CodeOf(err) != CodeUnknownKind {
		t.Fatalf("Decode(unknown kind) error = %v (code %s), want ErrUnknownKind", err, CodeOf(err))
	}
	got, _, err := Decode(buf[n:])
	if err != nil {
		t.Fatalf("Decode of the next frame: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("next frame mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorMessageTruncated(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"at the limit", strings.Repeat("a", maxMessage), strings.Repeat("a", maxMessage)},
		{"one over", strings.Repeat("a", maxMessage+1), strings.Repeat("a", maxMessage)},
		{"far over", strings.Repeat("abc", 10000), strings.Repeat("abc", 10000)[:maxMessage]},
		// "é" is two bytes: the cut falls inside it, so the message loses it.
		{"rune split", strings.Repeat("a", maxMessage-1) + "é", strings.Repeat("a", maxMessage-1)},
		// "𝄞" is four bytes starting 2 before the limit.
		{"4-byte rune split", strings.Repeat("a", maxMessage-2) + "𝄞z", strings.Repeat("a", maxMessage-2)},
		{"rune ends at the limit", strings.Repeat("a", maxMessage-2) + "éz", strings.Repeat("a", maxMessage-2) + "é"},
		// Not UTF-8: the cut backs up at most 3 bytes, then cuts anyway.
		{"invalid bytes", strings.Repeat("\x80", maxMessage+10), strings.Repeat("\x80", maxMessage-3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := Decode(Encode(Frame{ID: 1, Msg: &Error{Code: CodeInternal, Message: tt.msg}}))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got := f.Msg.(*Error).Message
			if got != tt.want {
				t.Errorf("message cut to %d bytes (%q...), want %d bytes", len(got), got[max(0, len(got)-8):], len(tt.want))
			}
			if utf8.ValidString(tt.msg) && !utf8.ValidString(got) {
				t.Errorf("valid UTF-8 message cut into invalid UTF-8: ...%q", got[max(0, len(got)-8):])
			}
		})
	}
}

func TestEncodePanicsOnInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
	}{
		{"nil message", Frame{ID: 1}},
		{"key over MaxKey", Frame{Msg: &Get{Level: One, Key: make([]byte, MaxKey+1)}}},
		{"key of 64 KiB+1", Frame{Msg: &Set{Level: One, Key: make([]byte, 1<<16+1), Value: []byte("v")}}},
		{"frame over MaxFrame", Frame{Msg: &Set{Level: One, Key: []byte("k"), Value: make([]byte, MaxFrame)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Encode did not panic")
				}
			}()
			b := Encode(tt.f)
			f, n, err := Decode(b)
			t.Errorf("Encode returned %d bytes, which decode as (%+v, %d, %v)", len(b), f, n, err)
		})
	}
}

func TestLargestFrame(t *testing.T) {
	f := Frame{Msg: &Set{Level: All, Key: make([]byte, MaxKey), Value: make([]byte, MaxValue)}}
	if err := ValidateKey(f.Msg.(*Set).Key); err != nil {
		t.Fatal(err)
	}
	buf := Encode(f)
	got, _, err := Decode(buf)
	if err != nil {
		t.Fatalf("Decode of the largest Set (%d bytes): %v", len(buf), err)
	}
	// Compared by hand: cmp.Diff takes seconds over 8 MiB.
	w, g := f.Msg.(*Set), got.Msg.(*Set)
	if g.Level != w.Level || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) {
		t.Errorf("Decode(Encode(largest Set)) = level %s, %d-byte key, %d-byte value; want %s, %d, %d",
			g.Level, len(g.Key), len(g.Value), w.Level, len(w.Key), len(w.Value))
	}
}

func TestValidate(t *testing.T) {
	keys := []struct {
		n     int
		errIs error
	}{
		{0, ErrBadKey}, {1, nil}, {MaxKey, nil}, {MaxKey + 1, ErrBadKey}, {1 << 20, ErrBadKey},
	}
	for _, tt := range keys {
		if err := ValidateKey(make([]byte, tt.n)); !errors.Is(err, tt.errIs) || (tt.errIs == nil) != (err == nil) {
			t.Errorf("ValidateKey(%d bytes) = %v, want %v", tt.n, err, tt.errIs)
		}
	}
	if err := ValidateKey(nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("ValidateKey(nil) = %v, want ErrBadKey", err)
	}
	values := []struct {
		n     int
		errIs error
	}{
		{0, nil}, {1, nil}, {MaxValue, nil}, {MaxValue + 1, ErrTooLarge},
	}
	for _, tt := range values {
		if err := ValidateValue(make([]byte, tt.n)); !errors.Is(err, tt.errIs) || (tt.errIs == nil) != (err == nil) {
			t.Errorf("ValidateValue(%d bytes) = %v, want %v", tt.n, err, tt.errIs)
		}
	}
	if err := ValidateValue(nil); err != nil {
		t.Errorf("ValidateValue(nil) = %v, want nil", err)
	}
}

func TestCodeOf(t *testing.T) {
	tests := []struct {
		err  error
		want Code
	}{
		{ErrMalformed, CodeMalformed},
		{ErrChecksum, CodeMalformed},
		{ErrVersion, CodeMalformed},
		{ErrTooLarge, CodeTooLarge},
		{ErrBadKey, CodeBadKey},
		{ErrUnknownKind, CodeUnknownKind},
		{fmt.Errorf("decode set: %w", fmt.Errorf("%w: value too big", ErrTooLarge)), CodeTooLarge},
		{fmt.Errorf("decode get: %w", ErrBadKey), CodeBadKey},
		{fmt.Errorf("x: %w", ErrChecksum), CodeMalformed},
		{ValidateKey(nil), CodeBadKey},
		{ValidateValue(make([]byte, MaxValue+1)), CodeTooLarge},
		{fmt.Errorf("handshake: %w", ErrAuth), CodeAuth},
		{ErrShort, CodeInternal},
		{errors.New("disk on fire"), CodeInternal},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("CodeOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	// And the errors Decode really returns.
	for _, tt := range []struct {
		buf  []byte
		want Code
	}{
		{[]byte{0xff, 0, 0, 0}, CodeTooLarge},
		{[]byte{0, 0, 0, 1}, CodeMalformed},
		{raw(KindGet, 1, 1, 0, 0), CodeBadKey},
		{raw(KindSet, 1, 1, 0, 1, 'k', 0xff, 0, 0, 0), CodeTooLarge},
		{raw(KindBool, 1, 7), CodeMalformed},
		{raw(79, 1), CodeUnknownKind},
	} {
		_, _, err := Decode(tt.buf)
		if got := CodeOf(err); got != tt.want {
			t.Errorf("CodeOf(Decode(% x)) = %s (error %v), want %s", tt.buf[:min(len(tt.buf), 12)], got, err, tt.want)
		}
	}
}

// TestNumbersFixed pins every kind and code number: they are part of the
// protocol, and doc.go's compatibility rule says they never change. A new
// kind or code is added here and in doc.go's tables.
func TestNumbersFixed(t *testing.T) {
	kinds := map[Kind]uint8{
		KindInvalid: 0, KindChallenge: 1, KindAuth: 2, KindAuthOK: 3,
		KindGet: 10, KindSet: 11, KindDelete: 12, KindContains: 13, KindCompact: 20,
		KindValue: 40, KindDone: 41, KindBool: 42, KindError: 43,
		KindRing: 21, KindRingInfo: 44, KindGossip: 60, KindReplicate: 61, KindRead: 62, KindSync: 63, KindSyncBatch: 64,
		KindCAS: 14, KindPrepare: 65, KindPromise: 66, KindPropose: 67, KindAccepted: 68,
		KindPeek: 69, KindAcceptorState: 70, KindDigest: 71, KindDigestReply: 72, KindPaxosKeys: 73, KindPaxosKeysReply: 74, KindTake: 75,
		KindIncr: 15, KindGetCounter: 16, KindCounterValue: 45, KindState: 76, KindDigestBefore: 77, KindHolds: 78, KindBatch: 17,
		KindInfo: 30, KindInfoReply: 50,
	}
	for k, n := range kinds {
		if uint8(k) != n {
			t.Errorf("kind %s is %d, want %d", k, uint8(k), n)
		}
		if m := newMessage(k); k != KindInvalid && (m == nil || m.Kind() != k) {
			t.Errorf("newMessage(%s) = %T, want a message of that kind", k, m)
		}
	}
	if len(kindNames) != len(kinds)-1 {
		t.Errorf("%d kinds have names, %d are pinned here: pin the new ones", len(kindNames), len(kinds)-1)
	}
	for k := range 256 {
		if m := newMessage(Kind(k)); m != nil && kinds[Kind(k)] != uint8(k) {
			t.Errorf("kind %d decodes but is not pinned here", k)
		}
	}
	codes := map[Code]uint16{
		CodeMalformed: 1, CodeTooLarge: 2, CodeBadKey: 3, CodeAuth: 4, CodeUnknownKind: 5,
		CodeUnavailable: 6, CodeUnknownOutcome: 7, CodeInternal: 8, CodeUnsupported: 9,
		CodeShuttingDown: 10, CodeContention: 11, CodeStaleRing: 12, CodeWrongKind: 13, CodeOverflow: 14, CodeAborted: 15,
		CodeStaleStamp: 16,
	}
	for c, n := range codes {
		if uint16(c) != n {
			t.Errorf("code %s is %d, want %d", c, uint16(c), n)
		}
	}
	if len(codeNames) != len(codes) {
		t.Errorf("%d codes have names, %d are pinned here: pin the new ones", len(codeNames), len(codes))
	}
	levels := map[Consistency]uint8{Default: 0, One: 1, Quorum: 2, All: 3, Serial: 4}
	for c, n := range levels {
		if uint8(c) != n {
			t.Errorf("consistency %s is %d, want %d", c, uint8(c), n)
		}
	}
	if RoleClient != 1 || RolePeer != 2 {
		t.Errorf("roles are client %d, peer %d; want 1, 2", RoleClient, RolePeer)
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{KindGet.String(), "get"},
		{Kind(99).String(), "kind(99)"},
		{CodeBadKey.String(), "bad key"},
		{Code(999).String(), "code(999)"},
		{Serial.String(), "serial"},
		{Consistency(9).String(), "consistency(9)"},
		{RolePeer.String(), "peer"},
		{Role(0).String(), "role(0)"},
		{(&Error{Code: CodeUnavailable, Message: "1 of 3"}).Error(), "unavailable: 1 of 3"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	for _, c := range []Consistency{One, Quorum, All, Serial} {
		if got, err := ParseConsistency(c.String()); got != c || err != nil {
			t.Errorf("ParseConsistency(%q) = (%s, %v), want %s", c.String(), got, err, c)
		}
	}
	for _, s := range []string{"default", "", "QUORUM", "two"} {
		if _, err := ParseConsistency(s); err == nil {
			t.Errorf("ParseConsistency(%q) succeeded, want an error", s)
		}
	}
}
