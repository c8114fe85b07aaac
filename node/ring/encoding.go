package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// Errors Decode returns, wrapped with what was wrong and where.
var (
	// ErrCorrupt: the bytes are not a ring's encoding: too short, a bad
	// checksum, a field out of range, or members New would refuse (the
	// error then wraps New's error too).
	ErrCorrupt = errors.New("ring: corrupt encoding")
	// ErrVersion: the encoding is of a version this code does not read.
	ErrVersion = errors.New("ring: unsupported encoding version")
)

const (
	magic   = "RING"
	version = 1

	kindExplicit = 0 // the member's tokens follow
	kindVirtual  = 1 // the member owns VirtualTokens(id, count)

	// The smallest member record: id, kind, a one-byte count.
	minMemberLen = 2 + 1 + 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode is the ring's binary encoding (see doc.go), for messages and for
// disk. It is canonical: equal rings encode to equal bytes, and Decode
// accepts nothing else that Encode would not produce.
func (r Ring) Encode() []byte {
	b := make([]byte, 0, 32+len(r.members)*8)
	b = append(b, magic...)
	b = append(b, version)
	b = binary.AppendUvarint(b, r.epoch)
	b = binary.AppendUvarint(b, uint64(len(r.members)))
	for _, m := range r.members {
		b = binary.BigEndian.AppendUint16(b, m.ID)
		if isVirtual(m) {
			b = append(b, kindVirtual)
			b = binary.AppendUvarint(b, uint64(len(m.Tokens)))
			continue
		}
		b = append(b, kindExplicit)
		b = binary.AppendUvarint(b, uint64(len(m.Tokens)))
		for _, t := range m.Tokens {
			b = binary.BigEndian.AppendUint64(b, t)
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// isVirtual reports whether m's tokens (ascending) are exactly its virtual
// tokens, so that it can be encoded as a count.
func isVirtual(m Member) bool {
	v := VirtualTokens(m.ID, len(m.Tokens))
	slices.Sort(v)
	return slices.Equal(v, m.Tokens)
}

// Decode is the ring that b encodes. It fails with ErrVersion for an
// encoding of another version and ErrCorrupt for anything else that is not
// what Encode produces; it never panics, and the work it does is bounded by
// len(b), MaxTokens and MaxRingTokens. The result does not alias b.
func Decode(b []byte) (Ring, error) {
	header := len(magic) + 1
	if len(b) < header+4 {
		return Ring{}, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(b))
	}
	if string(b[:len(magic)]) != magic {
		return Ring{}, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:len(magic)])
	}
	if v := b[len(magic)]; v != version {
		return Ring{}, fmt.Errorf("%w: version %d, this code reads %d", ErrVersion, v, version)
	}
	body := b[:len(b)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(b[len(b)-4:]); got != want {
		return Ring{}, fmt.Errorf("%w: checksum %#08x, want %#08x", ErrCorrupt, got, want)
	}

	d := decoder{b: body, off: header}
	epoch := d.uvarint("epoch")
	count := d.uvarint("member count")
	if d.err == nil && count > uint64(d.left()/minMemberLen) {
		d.fail("member count %d does not fit in %d bytes", count, d.left())
	}
	members := make([]Member, 0, min(count, 1<<16))
	total := 0
	for i := uint64(0); d.err == nil && i < count; i++ {
		m := d.member(i, &total)
		if d.err == nil && len(members) > 0 && m.ID <= members[len(members)-1].ID {
			d.fail("member %d: node %d does not follow node %d", i, m.ID, members[len(members)-1].ID)
		}
		members = append(members, m)
	}
	if d.err == nil && d.left() > 0 {
		d.fail("%d bytes after the last member", d.left())
	}
	if d.err != nil {
		return Ring{}, d.err
	}
	r, err := New(epoch, members)
	if err != nil {
		return Ring{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return r, nil
}

// decoder reads fields from b, remembering the first error; after one, every
// read returns zero.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) left() int { return len(d.b) - d.off }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
	}
}

// uvarint reads a minimally encoded uvarint, so that each value has one
// encoding.
func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	var canon [binary.MaxVarintLen64]byte
	switch {
	case n == 0:
		d.fail("%s is truncated", what)
	case n < 0:
		d.fail("%s overflows 64 bits", what)
	case n != binary.PutUvarint(canon[:], v):
		d.fail("%s is not minimally encoded", what)
	}
	if n <= 0 || d.err != nil {
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if d.left() < n {
		d.fail("%s needs %d bytes, %d left", what, n, d.left())
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

// member reads member record i, adding its token count to total.
func (d *decoder) member(i uint64, total *int) Member {
	head := d.bytes(3, "member header")
	count := d.uvarint("token count")
	if d.err != nil {
		return Member{}
	}
	m := Member{ID: binary.BigEndian.Uint16(head)}
	kind := head[2]
	switch {
	case count == 0:
		d.fail("member %d (node %d) has no tokens", i, m.ID)
	case count > MaxTokens:
		d.fail("member %d (node %d) has %d tokens, more than %d", i, m.ID, count, MaxTokens)
	case *total+int(count) > MaxRingTokens:
		d.fail("ring holds more than %d tokens", MaxRingTokens)
	}
	if d.err != nil {
		return Member{}
	}
	*total += int(count)
	switch kind {
	case kindVirtual:
		m.Tokens = VirtualTokens(m.ID, int(count))
	case kindExplicit:
		raw := d.bytes(int(count)*8, fmt.Sprintf("member %d (node %d) tokens", i, m.ID))
		if d.err != nil {
			return Member{}
		}
		m.Tokens = make([]uint64, count)
		for j := range m.Tokens {
			m.Tokens[j] = binary.BigEndian.Uint64(raw[j*8:])
			if j > 0 && m.Tokens[j] <= m.Tokens[j-1] {
				d.fail("member %d (node %d): token %d is not above token %d", i, m.ID, j, j-1)
				return Member{}
			}
		}
		if isVirtual(m) {
			d.fail("member %d (node %d): explicit tokens that are its virtual tokens", i, m.ID)
		}
	default:
		d.fail("member %d (node %d): unknown kind %d", i, m.ID, kind)
	}
	return m
}
