package net

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode feeds Decode arbitrary bytes. Decode must never panic; every
// error must be one the server knows how to answer; and whenever it returns
// a frame, that frame's encoding must be exactly the bytes it was decoded
// from (the encoding is canonical) and must decode to the same frame.
//
// Few random bytes pass the checksum, so each input is also decoded a
// second time with its length and CRC fixed up (seal), which sends the
// mutated header and body on to the body decoders.
//
// The seeds run as an ordinary test in `go test ./net`; testdata/fuzz/
// FuzzDecode holds inputs the fuzzer found. To fuzz:
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=3m ./net
func FuzzDecode(f *testing.F) {
	for _, s := range samples() {
		if s.name == "get max key" {
			continue // large seeds slow every mutation down
		}
		buf := Encode(s.f)
		f.Add(buf)
		f.Add(buf[:len(buf)-1]) // truncated
		flipped := bytes.Clone(buf)
		flipped[len(buf)/2] ^= 0x10 // checksum mismatch
		f.Add(flipped)
		f.Add(cat(buf, Encode(Frame{ID: 2, Msg: &Bool{}}))) // pipelined
	}
	// Intact frames with bad bodies, so mutations start past the checksum.
	f.Add(raw(KindInvalid, 1))
	f.Add(raw(200, 1, 1, 2, 3))
	f.Add(raw(KindGet, 1, 1, 0, 0))
	f.Add(raw(KindGet, 1, 9, 0, 1, 'k'))
	f.Add(raw(KindSet, 1, 1, 0, 1, 'k', 0xff, 0xff, 0xff, 0xff))
	f.Add(raw(KindValue, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 'v'))
	f.Add(raw(KindBool, 1, 2))
	f.Add(raw(KindAuth, 1, cat([]byte{3, 0, 0}, make([]byte, NonceSize+MACSize))...))
	f.Add(raw(KindError, 1, 0, 1, 0xff, 0xff))
	f.Add(raw(KindGet, 1, 1, 0, 1, 'k', 0))
	// Peer kinds: forged counts, a tombstone with a value, a zero stamp.
	f.Add(raw(KindReplicate, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff))
	f.Add(raw(KindReplicate, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 'v'))
	f.Add(raw(KindReplicate, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(raw(KindSync, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(raw(KindSync, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(raw(KindSyncBatch, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0))
	f.Add(raw(KindRingInfo, 1, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, buf []byte) {
		checkDecode(t, buf)
		if len(buf) >= HeaderSize && len(buf)-4 <= MaxFrame {
			checkDecode(t, seal(bytes.Clone(buf)))
		}
	})
}

// checkDecode decodes buf and checks Decode's contract.
func checkDecode(t *testing.T, buf []byte) {
	t.Helper()
	in := bytes.Clone(buf)
	fr, n, err := Decode(buf)
	if !bytes.Equal(buf, in) {
		t.Fatalf("Decode modified its input")
	}
	if n < 0 || n > len(buf) {
		t.Fatalf("Decode used %d bytes of %d", n, len(buf))
	}
	if err != nil {
		checkDecodeError(t, buf, fr, n, err)
		return
	}
	if fr.Msg == nil {
		t.Fatalf("Decode returned no message and no error")
	}
	if want, _ := FrameLen(buf); n != want {
		t.Fatalf("Decode used %d bytes, FrameLen says %d", n, want)
	}
	enc := Encode(fr)
	if !bytes.Equal(enc, buf[:n]) {
		t.Fatalf("decoded %+v from\n%s\nbut it encodes as\n%s", fr, hex.Dump(buf[:n]), hex.Dump(enc))
	}
	again, m, err := Decode(enc)
	if err != nil || m != len(enc) {
		t.Fatalf("re-decoding: (%d bytes, %v), want (%d, nil)", m, err, len(enc))
	}
	if diff := cmp.Diff(fr, again); diff != "" {
		t.Fatalf("re-decoded frame mismatch (-first +second):\n%s", diff)
	}
}

// checkDecodeError checks what Decode's doc comment promises about errors.
func checkDecodeError(t *testing.T, buf []byte, fr Frame, n int, err error) {
	t.Helper()
	if fr.Msg != nil {
		t.Fatalf("Decode returned message %+v with error %v", fr.Msg, err)
	}
	if errors.Is(err, ErrShort) {
		if n != 0 {
			t.Fatalf("ErrShort with n = %d", n)
		}
		return
	}
	if CodeOf(err) == CodeInternal {
		t.Fatalf("Decode error %v maps to no protocol code", err)
	}
	if n == 0 {
		if errors.Is(err, ErrUnknownKind) || errors.Is(err, ErrBadKey) {
			t.Fatalf("%v for a frame that was not intact (n = 0)", err)
		}
		if fr.ID != 0 {
			t.Fatalf("id %d set with n = 0 (%v)", fr.ID, err)
		}
		return
	}
	// n > 0: the frame was intact.
	if want, _ := FrameLen(buf); n != want {
		t.Fatalf("Decode used %d bytes, FrameLen says %d (%v)", n, want, err)
	}
	if errors.Is(err, ErrChecksum) || errors.Is(err, ErrVersion) {
		t.Fatalf("%v reported for an intact frame (n = %d)", err, n)
	}
}
