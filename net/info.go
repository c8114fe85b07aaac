package net

import (
	"encoding/binary"
	"fmt"
	stdnet "net"
)

// Info asks a node about its host — not the store: its id, the version of
// memdb it runs and where its admin API is. Clients and peers may send it;
// the host answers it with InfoReply (the node never sees it). A node's
// admin API asks the other members this to find their admin APIs (GET
// /v1/cluster), and memdb asks it to find the admin API of the node it
// talks to.
type Info struct{}

// InfoReply answers Info.
type InfoReply struct {
	Node uint16
	// Version is the memdb version the node runs, for people.
	Version string
	// Admin is the base URL of the node's admin API ("http://host:port",
	// or "https://host:port" when the node has TLS), empty when it has
	// none (-http "").
	Admin string
}

func (*Info) Kind() Kind      { return KindInfo }
func (*InfoReply) Kind() Kind { return KindInfoReply }

func (m *Info) appendBody(b []byte) []byte { return b }
func (m *Info) decodeBody(d *decoder)      {}

func (m *InfoReply) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, m.Node)
	b = appendShort(b, m.Version)
	return appendShort(b, m.Admin)
}

func (m *InfoReply) decodeBody(d *decoder) {
	m.Node = d.u16("node")
	m.Version = string(d.take(int(d.u8("version length")), "version"))
	m.Admin = string(d.take(int(d.u8("admin length")), "admin"))
}

// appendShort appends a string of at most 255 bytes after its one-byte
// length, cutting a longer one (as addresses are).
func appendShort(b []byte, s string) []byte {
	if len(s) > maxAddr {
		s = s[:maxAddr]
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// infoID is the request id AskInfo sends its Info with.
const infoID = 1

// AskInfo sends Info on conn, a connection past its handshake that carries
// nothing else, and returns the answer. Frames of other ids are skipped.
// It sets no deadline: the caller bounds it.
func AskInfo(conn stdnet.Conn) (*InfoReply, error) {
	if _, err := conn.Write(Encode(Frame{ID: infoID, Msg: &Info{}})); err != nil {
		return nil, fmt.Errorf("send info: %w", err)
	}
	for {
		f, err := readOne(conn)
		if err != nil {
			return nil, fmt.Errorf("read the answer to info: %w", err)
		}
		if f.ID != infoID {
			continue
		}
		switch m := f.Msg.(type) {
		case *InfoReply:
			return m, nil
		case *Error:
			return nil, fmt.Errorf("info: %w", m)
		}
		return nil, fmt.Errorf("%w: info answered with %s", ErrMalformed, f.Msg.Kind())
	}
}
