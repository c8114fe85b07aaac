package net

import (
	"bytes"
	"errors"
	"testing"
)

// batchSamples holds frames of the kinds in batch.go, with their body
// bytes written out by hand from doc.go's tables; samples includes them.
func batchSamples() []sample {
	token := []byte("tok-0001")
	return []sample{
		{"batch", Frame{ID: 40, Clock: testClock, Msg: &Batch{Token: token, Writes: []BatchWrite{
			{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Deleted: true}}}},
			cat([]byte{8}, token, []byte{
				0x00, 0x02, // writes
				0x00, 0x01, 'a', 0, 0, 0, 0, 1, '1', // set a 1
				0x00, 0x01, 'b', 1, // del b
			})},
		{"replicate intents", Frame{ID: 41, Msg: &Replicate{Epoch: 1, Entries: []Entry{{Key: []byte("k"), Intents: true, Value: []byte{9}, Stamp: testClock}}}},
			[]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 3,
				0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22, 0, 0, 0, 1, 9}},
		{"holds", Frame{ID: 42, Clock: testClock, Msg: &Holds{Epoch: 3, Key: []byte("k"), Token: token, At: testClock}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte{0, 1, 'k'}, []byte{8}, token,
				[]byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22})},
	}
}

func TestBatchMalformed(t *testing.T) {
	body := func(tok int, n uint16, rest ...byte) []byte {
		b := append([]byte{byte(tok)}, bytes.Repeat([]byte{'t'}, tok)...)
		return append(append(b, byte(n>>8), byte(n)), rest...)
	}
	tests := []struct {
		name  string
		buf   []byte
		errIs error
	}{
		{"short token", raw(KindBatch, 5, body(7, 1, 0, 1, 'a', 1)...), ErrMalformed},
		{"long token", raw(KindBatch, 5, body(65, 1, 0, 1, 'a', 1)...), ErrMalformed},
		{"no writes", raw(KindBatch, 5, body(8, 0)...), ErrTooLarge},
		{"too many writes", raw(KindBatch, 5, body(8, MaxBatchKeys+1, 0, 1, 'a', 1)...), ErrTooLarge},
		{"bad op", raw(KindBatch, 5, body(8, 1, 0, 1, 'a', 2)...), ErrMalformed},
		{"empty key", raw(KindBatch, 5, body(8, 1, 0, 0, 1)...), ErrBadKey},
		{"missing write", raw(KindBatch, 5, body(8, 2, 0, 1, 'a', 1)...), ErrMalformed},
		{"holds short token", raw(KindHolds, 5, append([]byte{0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 'k'}, body(7, 0)[:8]...)...), ErrMalformed},
		{"holds no stamp", raw(KindHolds, 5, append([]byte{0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 'k'}, body(8, 0)[:9]...)...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := Decode(tt.buf)
			if !errors.Is(err, tt.errIs) {
				t.Errorf("Decode error = %v, want %v", err, tt.errIs)
			}
			if f.Msg != nil {
				t.Errorf("Decode returned message %+v with error %v", f.Msg, err)
			}
		})
	}
}

func TestBatchBytesBound(t *testing.T) {
	big := bytes.Repeat([]byte{'v'}, 3<<20)
	ws := []BatchWrite{{Key: []byte("a"), Value: big}, {Key: []byte("b"), Value: big}}
	if err := CheckBatch(ws); !errors.Is(err, ErrTooLarge) {
		t.Errorf("CheckBatch of 6 MiB = %v, want too large", err)
	}
	b := Encode(Frame{ID: 1, Msg: &Batch{Token: []byte("tok-0001"), Writes: ws}})
	if _, _, err := Decode(b); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode of a 6 MiB batch = %v, want too large", err)
	}
	if err := CheckBatch([]BatchWrite{{Key: []byte("a")}, {Key: []byte("a"), Deleted: true}}); !errors.Is(err, ErrBadKey) {
		t.Errorf("CheckBatch with a key twice = %v, want bad key", err)
	}
	if err := CheckBatch([]BatchWrite{{Key: []byte("a")}, {Key: []byte("b"), Deleted: true}}); err != nil {
		t.Errorf("CheckBatch of a good batch: %v", err)
	}
}
