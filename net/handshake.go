package net

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	stdnet "net"
)

// maxHandshakeFrame bounds a frame read during the handshake: the largest
// a server sends then is an Error with a full message.
const maxHandshakeFrame = HeaderSize + 4 + maxMessage

// Handshake runs the connecting side of the handshake (doc.go) on conn:
// it reads the server's Challenge, proves that it holds key for role as
// node (0 for a client), and checks the server's proof in AuthOK. It
// returns the node id the server sent in its Challenge.
//
// Handshake reads exactly the handshake's frames and nothing after them, so
// the caller may wrap conn in a buffered reader afterwards and lose no
// byte. It sets no deadline: the caller bounds it with conn.SetDeadline,
// and closes conn if it fails.
//
// Errors: ErrAuth (wrapped) when the server refused the key (an Error of
// CodeAuth), could not prove that it holds it, or serves TLS only (conn is
// plaintext: see StartTLS); ErrVersion when the server
// speaks an older protocol; ErrMalformed, ErrTooLarge or ErrUnknownKind
// when the server does not speak this protocol at all (it is probably not a
// memdb node); an *Error for any other error frame; otherwise the I/O error.
func Handshake(conn stdnet.Conn, role Role, node uint16, key []byte) (serverNode uint16, err error) {
	f, err := readOne(conn)
	if err != nil {
		return 0, fmt.Errorf("read the challenge: %w", err)
	}
	if e, ok := f.Msg.(*Error); ok && IsTLSRequired(e) {
		return 0, fmt.Errorf("%w: %s", ErrAuth, e.Message)
	}
	ch, ok := f.Msg.(*Challenge)
	if !ok {
		return 0, fmt.Errorf("%w: the first frame is %s, not a challenge", ErrMalformed, f.Msg.Kind())
	}
	if ch.Version < Version {
		return 0, fmt.Errorf("%w: the server speaks version %d, this side needs %d", ErrVersion, ch.Version, Version)
	}
	auth := &Auth{Role: role, Node: node}
	if _, err := rand.Read(auth.Nonce[:]); err != nil {
		return 0, fmt.Errorf("draw nonce: %w", err)
	}
	auth.MAC = ClientProof(key, role, node, ch.Nonce, auth.Nonce)
	if _, err := conn.Write(Encode(Frame{ID: 1, Msg: auth})); err != nil {
		return 0, fmt.Errorf("send auth: %w", err)
	}
	f, err = readOne(conn)
	if err != nil {
		return 0, fmt.Errorf("read the answer to auth: %w", err)
	}
	switch m := f.Msg.(type) {
	case *AuthOK:
		if !VerifyProof(m.MAC, ServerProof(key, role, node, ch.Nonce, auth.Nonce)) {
			return 0, fmt.Errorf("%w: node %d could not prove that it holds the %s key", ErrAuth, ch.Node, role)
		}
		return ch.Node, nil
	case *Error:
		if m.Code == CodeAuth {
			return 0, fmt.Errorf("%w by node %d: %s", ErrAuth, ch.Node, m.Message)
		}
		return 0, fmt.Errorf("node %d answered auth with %w", ch.Node, m)
	}
	return 0, fmt.Errorf("%w: node %d answered auth with %s", ErrMalformed, ch.Node, f.Msg.Kind())
}

// readOne reads exactly one frame from r: its length, then the rest.
func readOne(r io.Reader) (Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Frame{}, err
	}
	n, err := FrameLen(hdr[:])
	if err != nil {
		return Frame{}, err
	}
	if n > maxHandshakeFrame {
		return Frame{}, fmt.Errorf("%w: a %d-byte frame during the handshake (at most %d)", ErrTooLarge, n, maxHandshakeFrame)
	}
	buf := make([]byte, n)
	binary.BigEndian.PutUint32(buf, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	f, _, err := Decode(buf)
	return f, err
}
