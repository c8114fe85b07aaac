package net

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"unicode/utf8"

	"github.com/memdb/memdb/clock"
)

// Version is the protocol version this package speaks.
const Version = 1

// Size limits. A request over a limit is refused with CodeTooLarge (frames,
// values) or CodeBadKey (keys), and the connection closes.
const (
	MaxKey   = 64<<10 - 1 // bytes in a key; keys are also never empty
	MaxValue = 8 << 20    // bytes in a value
	MaxFrame = 16 << 20   // bytes in a frame, length prefix excluded
	// HeaderSize is the fixed part of a frame: length, CRC, version, kind,
	// id and clock.
	HeaderSize = 4 + 4 + 1 + 1 + 8 + 8 + 2
	// maxMessage bounds Error message strings.
	maxMessage = 4 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendFrame appends f's encoding to b and returns the extended slice.
// It panics if f.Msg is nil, if a key is longer than MaxKey (its length
// would not fit its field, and the bytes would decode as a different frame)
// or if the frame would exceed MaxFrame: those are bugs in the caller, who
// checks input with ValidateKey and ValidateValue first, not bad input.
func AppendFrame(b []byte, f Frame) []byte {
	start := len(b)
	b = append(b, make([]byte, 8)...) // length and CRC, filled in below
	b = append(b, Version, byte(f.Msg.Kind()))
	b = binary.BigEndian.AppendUint64(b, f.ID)
	b = appendTimestamp(b, f.Clock)
	b = f.Msg.appendBody(b)
	n := len(b) - start - 4
	if n > MaxFrame {
		panic(fmt.Sprintf("net: encoding a %s frame of %d bytes, over MaxFrame (%d); call ValidateValue first", f.Msg.Kind(), n, MaxFrame))
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], castagnoli))
	return b
}

// Encode returns f's encoding in a new slice.
func Encode(f Frame) []byte { return AppendFrame(nil, f) }

// FrameLen reports the total size of the frame at the start of buf, length
// prefix included, once at least 4 bytes are buffered. It returns ErrShort
// before that and ErrTooLarge or ErrMalformed for an impossible length, so a
// reader can refuse an oversized frame before buffering it.
func FrameLen(buf []byte) (int, error) {
	if len(buf) < 4 {
		return 0, ErrShort
	}
	n := binary.BigEndian.Uint32(buf)
	if n > MaxFrame {
		return 0, fmt.Errorf("%w: frame of %d bytes exceeds the %d-byte limit", ErrTooLarge, n, MaxFrame)
	}
	if int(n) < HeaderSize-4 {
		return 0, fmt.Errorf("%w: frame length %d is shorter than a header", ErrMalformed, n)
	}
	return int(n) + 4, nil
}

// Decode decodes the frame at the start of buf. It returns the frame and the
// number of bytes it occupied.
//
// The decoded message's byte slices are copied out of buf: the caller may
// reuse buf at once.
//
// Errors: ErrShort (n == 0) means buf holds only part of a frame. ErrTooLarge
// and ErrMalformed with n == 0 mean the stream cannot be resynchronized:
// reply and close. With n > 0 the frame was intact (its CRC matched) and
// f.ID is set: ErrUnknownKind lets the connection go on after an error
// reply; ErrMalformed, ErrTooLarge or ErrBadKey in the body are refused and
// the connection closes.
func Decode(buf []byte) (f Frame, n int, err error) {
	var d decoder
	return decodeFrame(buf, &d)
}

// decodeFrame is Decode with the decoder to use: a reader reuses one, one
// allocation less per frame.
func decodeFrame(buf []byte, d *decoder) (f Frame, n int, err error) {
	n, err = FrameLen(buf)
	if err != nil {
		return Frame{}, 0, err
	}
	if len(buf) < n {
		return Frame{}, 0, ErrShort
	}
	if got, want := crc32.Checksum(buf[8:n], castagnoli), binary.BigEndian.Uint32(buf[4:]); got != want {
		return Frame{}, 0, fmt.Errorf("%w (got %08x, want %08x)", ErrChecksum, got, want)
	}
	if v := buf[8]; v != Version {
		return Frame{}, 0, fmt.Errorf("%w %d (this node speaks %d)", ErrVersion, v, Version)
	}
	kind := Kind(buf[9])
	f.ID = binary.BigEndian.Uint64(buf[10:])
	f.Clock = clock.Timestamp{
		Counter: binary.BigEndian.Uint64(buf[18:]),
		Node:    binary.BigEndian.Uint16(buf[26:]),
	}
	m := newMessage(kind)
	if m == nil {
		return f, n, fmt.Errorf("%w %d", ErrUnknownKind, uint8(kind))
	}
	body := append([]byte(nil), buf[HeaderSize:n]...)
	*d = decoder{buf: body}
	m.decodeBody(d)
	if d.err == nil && len(d.buf) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes after %s body", ErrMalformed, len(d.buf), kind)
	}
	if d.err != nil {
		return f, n, fmt.Errorf("decode %s: %w", kind, d.err)
	}
	f.Msg = m
	return f, n, nil
}

func appendTimestamp(b []byte, t clock.Timestamp) []byte {
	b = binary.BigEndian.AppendUint64(b, t.Counter)
	return binary.BigEndian.AppendUint16(b, t.Node)
}

func appendKey(b, key []byte) []byte {
	if len(key) > MaxKey {
		panic(fmt.Sprintf("net: encoding a key of %d bytes, over MaxKey (%d); call ValidateKey first", len(key), MaxKey))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// decoder reads a body field by field. The first error sticks; later reads
// return zero values, so a body decoder needs no error checks of its own.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf) {
		d.fail("%s needs %d bytes, %d left", what, n, len(d.buf))
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) u8(what string) uint8 {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.take(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if b := d.take(8, what); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) bool(what string) bool {
	switch v := d.u8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("%s must be 0 or 1, not %d", what, v)
		return false
	}
}

func (d *decoder) timestamp(what string) clock.Timestamp {
	c := d.u64(what)
	return clock.Timestamp{Counter: c, Node: d.u16(what)}
}

// key reads a key and checks it against the key limits.
func (d *decoder) key() []byte {
	n := int(d.u16("key length"))
	if d.err == nil && n == 0 {
		d.err = fmt.Errorf("%w: the key is empty", ErrBadKey)
		return nil
	}
	return d.take(n, "key")
}

// value reads a value and checks it against MaxValue.
func (d *decoder) value() []byte {
	n := d.u32("value length")
	if d.err == nil && n > MaxValue {
		d.err = fmt.Errorf("%w: value of %d bytes exceeds the %d-byte limit", ErrTooLarge, n, MaxValue)
		return nil
	}
	b := d.take(int(n), "value")
	if b == nil && d.err == nil {
		b = []byte{}
	}
	return b
}

func (d *decoder) level() Consistency {
	c := Consistency(d.u8("consistency"))
	if d.err == nil && c > Serial {
		d.fail("consistency level %d is not one of 0-4", uint8(c))
	}
	return c
}

func (d *decoder) array(dst []byte, what string) {
	copy(dst, d.take(len(dst), what))
}

// Body codecs, one pair per message. The layouts are drawn in doc.go.

func (m *Challenge) appendBody(b []byte) []byte {
	b = append(b, m.Version)
	b = binary.BigEndian.AppendUint16(b, m.Node)
	return append(b, m.Nonce[:]...)
}

func (m *Challenge) decodeBody(d *decoder) {
	m.Version = d.u8("version")
	m.Node = d.u16("node")
	d.array(m.Nonce[:], "nonce")
}

func (m *Auth) appendBody(b []byte) []byte {
	b = append(b, byte(m.Role))
	b = binary.BigEndian.AppendUint16(b, m.Node)
	b = append(b, m.Nonce[:]...)
	return append(b, m.MAC[:]...)
}

func (m *Auth) decodeBody(d *decoder) {
	m.Role = Role(d.u8("role"))
	if d.err == nil && m.Role != RoleClient && m.Role != RolePeer {
		d.fail("role %d is neither client (1) nor peer (2)", uint8(m.Role))
	}
	m.Node = d.u16("node")
	d.array(m.Nonce[:], "nonce")
	d.array(m.MAC[:], "mac")
}

func (m *AuthOK) appendBody(b []byte) []byte { return append(b, m.MAC[:]...) }
func (m *AuthOK) decodeBody(d *decoder)      { d.array(m.MAC[:], "mac") }

func (m *Get) appendBody(b []byte) []byte { return appendKey(append(b, byte(m.Level)), m.Key) }
func (m *Get) decodeBody(d *decoder)      { m.Level = d.level(); m.Key = d.key() }

func (m *Set) appendBody(b []byte) []byte {
	return appendBytes(appendKey(append(b, byte(m.Level)), m.Key), m.Value)
}

func (m *Set) decodeBody(d *decoder) {
	m.Level = d.level()
	m.Key = d.key()
	m.Value = d.value()
}

func (m *Delete) appendBody(b []byte) []byte { return appendKey(append(b, byte(m.Level)), m.Key) }
func (m *Delete) decodeBody(d *decoder)      { m.Level = d.level(); m.Key = d.key() }

func (m *Contains) appendBody(b []byte) []byte { return appendKey(append(b, byte(m.Level)), m.Key) }
func (m *Contains) decodeBody(d *decoder)      { m.Level = d.level(); m.Key = d.key() }

func (m *Compact) appendBody(b []byte) []byte { return b }
func (m *Compact) decodeBody(d *decoder)      {}

func (m *Value) appendBody(b []byte) []byte {
	b = appendBool(b, m.Found)
	b = appendTimestamp(b, m.Version)
	return appendBytes(b, m.Value)
}

func (m *Value) decodeBody(d *decoder) {
	m.Found = d.bool("found")
	m.Version = d.timestamp("version")
	m.Value = d.value()
	if !m.Found && len(m.Value) != 0 {
		d.fail("a value that was not found has %d bytes", len(m.Value))
	}
}

func (m *Done) appendBody(b []byte) []byte { return appendTimestamp(b, m.Version) }
func (m *Done) decodeBody(d *decoder)      { m.Version = d.timestamp("version") }

func (m *Bool) appendBody(b []byte) []byte { return appendBool(b, m.Value) }
func (m *Bool) decodeBody(d *decoder)      { m.Value = d.bool("bool") }

func (m *Error) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(m.Code))
	msg := m.Message
	if len(msg) > maxMessage {
		// Cut at a rune boundary, so a valid UTF-8 message stays valid.
		cut := maxMessage
		for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(msg[cut]); i++ {
			cut--
		}
		msg = msg[:cut]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	return append(b, msg...)
}

func (m *Error) decodeBody(d *decoder) {
	m.Code = Code(d.u16("code"))
	n := int(d.u16("message length"))
	if d.err == nil && n > maxMessage {
		d.fail("error message of %d bytes exceeds %d", n, maxMessage)
	}
	m.Message = string(d.take(n, "message"))
}
