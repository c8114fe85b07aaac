package net

import (
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/memdb/memdb/clock"
)

// Counter entries and their bytes as doc.go's Entry table draws them.
var (
	entryCounter      = Entry{Key: []byte("c"), Value: []byte{1, 2, 3}, Counter: true, Stamp: clock.Timestamp{Counter: 7, Node: 4}}
	entryCounterBytes = []byte{
		0x00, 0x01, 'c',
		0x02, // state: counter
		0, 0, 0, 0, 0, 0, 0, 7,
		0x00, 0x04,
		0x00, 0x00, 0x00, 0x03, 1, 2, 3,
	}
)

// counterSamples holds frames of the kinds in counter.go, with their body
// bytes written out by hand from doc.go's tables; samples includes them.
func counterSamples() []sample {
	return []sample{
		{"incr", Frame{ID: 30, Clock: testClock, Msg: &Incr{Level: Quorum, Key: []byte("c"), Delta: -2, Session: 0x0102030405060708, Seq: 9, Attempt: 1, First: clock.Timestamp{Counter: 300, Node: 2}}},
			[]byte{
				0x02, 0x00, 0x01, 'c',
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // delta -2
				1, 2, 3, 4, 5, 6, 7, 8, // session
				0, 0, 0, 0, 0, 0, 0, 9, // seq
				0, 0, 0, 1, // attempt
				0, 0, 0, 0, 0, 0, 0x01, 0x2c, 0, 2, // first: 300.2
			}},
		{"get-counter", Frame{ID: 31, Msg: &GetCounter{Level: All, Key: []byte("c")}},
			[]byte{0x03, 0x00, 0x01, 'c'}},
		{"counter-value", Frame{ID: 30, Clock: testClock, Msg: &CounterValue{Value: -1}},
			[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"state", Frame{ID: 32, Msg: &State{Entry: entryCounter}}, entryCounterBytes},
		{"digest-before", Frame{ID: 34, Msg: &DigestBefore{Epoch: 2, Spans: []Span{{Start: 1, End: 2}}, Horizon: clock.Timestamp{Counter: 9, Node: 3}}},
			[]byte{0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 3}},
		{"digest-before expired", Frame{ID: 35, Msg: &DigestBefore{Epoch: 2, Spans: []Span{{Start: 1, End: 2}}, Horizon: clock.Timestamp{Counter: 9, Node: 3}, Expired: clock.Timestamp{Counter: 5, Node: 1}}},
			[]byte{0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1}},
		{"digest-before records", Frame{ID: 36, Msg: &DigestBefore{Epoch: 2, Spans: []Span{{Start: 1, End: 2}}, Horizon: clock.Timestamp{Counter: 9, Node: 3}, Records: clock.Timestamp{Counter: 4, Node: 2}}},
			[]byte{0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2}},
		{"replicate counter", Frame{ID: 33, Msg: &Replicate{Epoch: 1, Entries: []Entry{entryCounter}}},
			cat([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, entryCounterBytes)},
	}
}

func TestCounterMalformed(t *testing.T) {
	incr := func(level byte, attempt uint32) []byte {
		b := []byte{level, 0x00, 0x01, 'c'}
		b = append(b, make([]byte, 24)...)
		return append(b, byte(attempt>>24), byte(attempt>>16), byte(attempt>>8), byte(attempt), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	tests := []struct {
		name  string
		buf   []byte
		errIs error
	}{
		{"incr serial", raw(KindIncr, 5, incr(4, 0)...), ErrMalformed},
		{"incr attempt over the bound", raw(KindIncr, 5, incr(2, MaxAttempts+1)...), ErrMalformed},
		{"incr short", raw(KindIncr, 5, incr(2, 0)[:20]...), ErrMalformed},
		{"incr empty key", raw(KindIncr, 5, 2, 0, 0), ErrBadKey},
		{"get-counter serial", raw(KindGetCounter, 5, 4, 0, 1, 'c'), ErrMalformed},
		{"counter-value short", raw(KindCounterValue, 5, 1, 2, 3), ErrMalformed},
		{"digest-before expired short", raw(KindDigestBefore, 5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 3, 0, 0, 5), ErrMalformed},
		{"entry state 4", raw(KindState, 5, 0, 1, 'c', 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0), ErrMalformed},
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
	if _, _, err := Decode(raw(KindIncr, 5, incr(2, MaxAttempts)...)); err != nil {
		t.Errorf("attempt %d: %v", MaxAttempts, err)
	}
}

// genCounterMessage draws any valid message of the kinds in counter.go.
func genCounterMessage() *rapid.Generator[Message] {
	level := rapid.SampledFrom([]Consistency{Default, One, Quorum, All})
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) Message {
			return &Incr{Level: level.Draw(t, "level"), Key: genKey().Draw(t, "key"), Delta: rapid.Int64().Draw(t, "delta"),
				Session: rapid.Uint64().Draw(t, "session"), Seq: rapid.Uint64().Draw(t, "seq"),
				Attempt: rapid.Uint32Range(0, MaxAttempts).Draw(t, "attempt"), First: genTimestamp().Draw(t, "first")}
		}),
		rapid.Custom(func(t *rapid.T) Message {
			return &GetCounter{Level: level.Draw(t, "level"), Key: genKey().Draw(t, "key")}
		}),
		rapid.Custom(func(t *rapid.T) Message { return &CounterValue{Value: rapid.Int64().Draw(t, "value")} }),
		rapid.Custom(func(t *rapid.T) Message { return &State{Entry: genEntry().Draw(t, "entry")} }),
	)
}
