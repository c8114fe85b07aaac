package gossip

import (
	"encoding/binary"
	"fmt"
)

// Version is the payload format version this package writes and reads.
const Version = 2

// kind says which message a payload holds.
type kind uint8

const (
	kindPing         kind = 1 // probe: answer with an ack
	kindAck          kind = 2 // answers a ping (or relays an indirect one)
	kindPingReq      kind = 3 // ask the receiver to probe target for the sender
	kindPushPull     kind = 4 // full state; answer with a push-pull reply
	kindPushPullResp kind = 5 // full state, answering a push-pull
)

var kindNames = [...]string{kindPing: "ping", kindAck: "ack", kindPingReq: "ping-req", kindPushPull: "push-pull", kindPushPullResp: "push-pull reply"}

func (k kind) String() string {
	if k >= kindPing && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// headerSize is the fixed part of a payload before the sender's record.
const headerSize = 1 + 1 + 8 + 2

// recordMin is the smallest encoded member record (a 1-byte address).
const recordMin = 2 + 8 + 1 + 4 + 2 + 1 + 1 + 2

// message is one decoded payload.
type message struct {
	kind   kind
	seq    uint64 // probe sequence number (ping, ack, ping-req); 0 otherwise
	target uint16 // the member probed (ping, ack, ping-req); 0 otherwise
	from   Member // the sender's own record
	// members are piggybacked updates (ping, ack, ping-req) or the sender's
	// full state (push-pull and its reply).
	members []Member
}

// appendMember appends m's record. m must be valid (Validate).
func appendMember(b []byte, m Member) []byte {
	b = binary.BigEndian.AppendUint16(b, m.ID)
	b = binary.BigEndian.AppendUint64(b, m.Incarnation)
	b = append(b, byte(m.State))
	b = binary.BigEndian.AppendUint32(b, m.Ring)
	b = binary.BigEndian.AppendUint16(b, m.Vnodes)
	b = append(b, byte(len(m.Addr)))
	b = append(b, m.Addr...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Tokens)))
	for _, t := range m.Tokens {
		b = binary.BigEndian.AppendUint64(b, t)
	}
	return b
}

// encode appends the payload of m to b. Records travel only after Validate
// accepted them, so encoding cannot fail.
func (m *message) encode(b []byte) []byte {
	b = append(b, Version, byte(m.kind))
	b = binary.BigEndian.AppendUint64(b, m.seq)
	b = binary.BigEndian.AppendUint16(b, m.target)
	b = appendMember(b, m.from)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.members)))
	for _, r := range m.members {
		b = appendMember(b, r)
	}
	return b
}

// decoder reads a payload front to back; the first failure sticks.
type decoder struct {
	buf []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf)-d.off {
		d.fail("%s needs %d bytes, %d left", what, n, len(d.buf)-d.off)
		return nil
	}
	p := d.buf[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8(what string) uint8 {
	if p := d.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if p := d.take(2, what); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if p := d.take(4, what); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if p := d.take(8, what); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) member() Member {
	var m Member
	m.ID = d.u16("member id")
	m.Incarnation = d.u64("incarnation")
	m.State = State(d.u8("state"))
	m.Ring = d.u32("ring")
	m.Vnodes = d.u16("vnodes")
	m.Addr = string(d.take(int(d.u8("address length")), "address"))
	if n := int(d.u16("token count")); n > 0 && d.err == nil {
		if n > MaxTokens || n*8 > len(d.buf)-d.off {
			d.err = fmt.Errorf("%w: at byte %d: %d tokens do not fit", ErrMalformed, d.off, n)
			return m
		}
		m.Tokens = make([]uint64, n)
		for i := range m.Tokens {
			m.Tokens[i] = d.u64("token")
		}
	}
	if d.err == nil {
		if err := m.Validate(); err != nil {
			d.err = fmt.Errorf("at byte %d: %w", d.off, err)
		}
	}
	return m
}

// decode parses a payload. Any input, however damaged, yields either a
// message whose records all pass Validate or an error wrapping ErrMalformed
// or ErrVersion; it never panics, and never allocates more than the payload
// could hold.
func decode(b []byte) (message, error) {
	var m message
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if b[0] != Version {
		return m, fmt.Errorf("%w: version %d (this node speaks %d)", ErrVersion, b[0], Version)
	}
	d := &decoder{buf: b, off: 1}
	m.kind = kind(d.u8("kind"))
	m.seq = d.u64("seq")
	m.target = d.u16("target")
	if d.err == nil {
		switch m.kind {
		case kindPing, kindAck, kindPingReq:
			if m.target == 0 {
				d.fail("%v with target 0", m.kind)
			}
		case kindPushPull, kindPushPullResp:
		default:
			d.fail("unknown kind %d", uint8(m.kind))
		}
	}
	m.from = d.member()
	n := int(d.u16("member count"))
	if d.err == nil && n*recordMin > len(b)-d.off {
		d.fail("%d members cannot fit in %d bytes", n, len(b)-d.off)
	}
	if d.err == nil && n > 0 {
		m.members = make([]Member, 0, n)
		for range n {
			r := d.member()
			if d.err != nil {
				break
			}
			m.members = append(m.members, r)
		}
	}
	if d.err == nil && d.off != len(b) {
		d.fail("%d trailing bytes", len(b)-d.off)
	}
	if d.err != nil {
		return message{}, d.err
	}
	return m, nil
}
