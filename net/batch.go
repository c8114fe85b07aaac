package net

import (
	"encoding/binary"
	"fmt"

	"github.com/memdb/memdb/clock"
)

// Batch writes several keys atomically: every write applies, at one
// version, or none does (node/batch.go; design/batches.md). It is answered
// with Done carrying the batch's version, or Error: CodeAborted if the
// batch was certainly not applied, CodeUnknownOutcome if it may have been.
//
// Token names the batch: a client draws it at random once per batch and
// sends every attempt with the same token, so a batch whose first attempt
// committed is never applied again — a retry answers Done.
type Batch struct {
	Token  []byte
	Writes []BatchWrite
}

// A BatchWrite is one key's write in a batch: a value, or a delete.
type BatchWrite struct {
	Key     []byte
	Value   []byte
	Deleted bool
}

// Limits of a batch: keys in one, and bytes of its keys and values. A
// batch over either is refused (CodeTooLarge) before anything is written.
const (
	MaxBatchKeys  = 128
	MaxBatchBytes = 4 << 20
	// MinToken and MaxToken bound a batch token's bytes.
	MinToken = 8
	MaxToken = 64
)

func (*Batch) Kind() Kind { return KindBatch }

func (m *Batch) appendBody(b []byte) []byte {
	b = append(b, byte(len(m.Token)))
	b = append(b, m.Token...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Writes)))
	for _, w := range m.Writes {
		b = appendKey(b, w.Key)
		if w.Deleted {
			b = append(b, 1)
			continue
		}
		b = append(b, 0)
		b = appendBytes(b, w.Value)
	}
	return b
}

func (m *Batch) decodeBody(d *decoder) {
	t := int(d.u8("token length"))
	if d.err == nil && (t < MinToken || t > MaxToken) {
		d.fail("a batch token of %d bytes (want %d to %d)", t, MinToken, MaxToken)
	}
	m.Token = d.take(t, "token")
	n := int(d.u16("writes"))
	if d.err == nil && (n == 0 || n > MaxBatchKeys) {
		d.err = fmt.Errorf("%w: a batch of %d writes (want 1 to %d)", ErrTooLarge, n, MaxBatchKeys)
	}
	var size int
	for i := 0; d.err == nil && i < n; i++ {
		var w BatchWrite
		w.Key = d.key()
		switch op := d.u8("op"); op {
		case 0:
			w.Value = d.value()
		case 1:
			w.Deleted = true
		default:
			d.fail("batch op %d is not 0 (set) or 1 (delete)", op)
		}
		size += len(w.Key) + len(w.Value)
		if d.err == nil && size > MaxBatchBytes {
			d.err = fmt.Errorf("%w: a batch of more than %d bytes of keys and values", ErrTooLarge, MaxBatchBytes)
		}
		m.Writes = append(m.Writes, w)
	}
}

// CheckBatch reports what is wrong with writes as a batch, before a client
// sends it: the limits above, and no key twice.
func CheckBatch(writes []BatchWrite) error {
	if len(writes) == 0 || len(writes) > MaxBatchKeys {
		return fmt.Errorf("%w: a batch of %d writes (want 1 to %d)", ErrTooLarge, len(writes), MaxBatchKeys)
	}
	seen := make(map[string]bool, len(writes))
	var size int
	for _, w := range writes {
		if len(w.Key) == 0 || len(w.Key) > MaxKey {
			return fmt.Errorf("%w: a key of %d bytes in a batch", ErrBadKey, len(w.Key))
		}
		if seen[string(w.Key)] {
			return fmt.Errorf("%w: key %q is written twice in one batch", ErrBadKey, w.Key)
		}
		seen[string(w.Key)] = true
		size += len(w.Key) + len(w.Value)
	}
	if size > MaxBatchBytes {
		return fmt.Errorf("%w: a batch of %d bytes of keys and values (at most %d)", ErrTooLarge, size, MaxBatchBytes)
	}
	return nil
}

// Holds asks a replica of Key whether it holds, durably, the write of the
// batch with Token committed at At: a state of Key at or past At and no
// undecided intent of the batch (node/batchgc.go, where a batch's record
// is collected only once every replica of every key of it says so). It
// is answered with Bool once everything the replica logged before it
// looked is on disk, or with Error.
type Holds struct {
	Epoch uint64
	Key   []byte
	Token []byte
	At    clock.Timestamp
}

func (*Holds) Kind() Kind { return KindHolds }

func (m *Holds) appendBody(b []byte) []byte {
	b = appendKey(binary.BigEndian.AppendUint64(b, m.Epoch), m.Key)
	b = append(b, byte(len(m.Token)))
	b = append(b, m.Token...)
	return appendTimestamp(b, m.At)
}

func (m *Holds) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Key = d.key()
	t := int(d.u8("token length"))
	if d.err == nil && (t < MinToken || t > MaxToken) {
		d.fail("a batch token of %d bytes (want %d to %d)", t, MinToken, MaxToken)
	}
	m.Token = d.take(t, "token")
	m.At = d.timestamp("at")
}
