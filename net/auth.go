package net

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// The handshake is a challenge-response over HMAC-SHA256, so the key itself
// never crosses the wire:
//
//	server → Challenge{nonce_s}
//	client → Auth{role, node, nonce_c, mac_c = HMAC(key, "memdb/1 client-proof" | role | node | nonce_s | nonce_c)}
//	server → AuthOK{mac_s = HMAC(key, "memdb/1 server-proof" | role | node | nonce_s | nonce_c)}
//
// The server compares mac_c in constant time and closes the connection with
// CodeAuth if it is wrong; the client checks mac_s the same way, so each side
// knows the other holds the key. Clients use the client key, peers the
// cluster key. A node configured with no key for a role accepts any proof for
// it (and proves itself with the empty key).

// ClientProof returns the MAC a connecting side sends in Auth.
func ClientProof(key []byte, role Role, node uint16, serverNonce, clientNonce [NonceSize]byte) [MACSize]byte {
	return proof(key, "memdb/1 client-proof", role, node, serverNonce, clientNonce)
}

// ServerProof returns the MAC a server sends in AuthOK.
func ServerProof(key []byte, role Role, node uint16, serverNonce, clientNonce [NonceSize]byte) [MACSize]byte {
	return proof(key, "memdb/1 server-proof", role, node, serverNonce, clientNonce)
}

func proof(key []byte, label string, role Role, node uint16, sn, cn [NonceSize]byte) [MACSize]byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(label))
	h.Write([]byte{byte(role)})
	h.Write(binary.BigEndian.AppendUint16(nil, node))
	h.Write(sn[:])
	h.Write(cn[:])
	var out [MACSize]byte
	copy(out[:], h.Sum(nil))
	return out
}

// VerifyProof reports, in constant time, whether got equals want.
func VerifyProof(got, want [MACSize]byte) bool { return hmac.Equal(got[:], want[:]) }

// ValidateKey checks a key against the protocol's limits.
func ValidateKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("%w: the key is empty", ErrBadKey)
	case len(key) > MaxKey:
		return fmt.Errorf("%w: key of %d bytes exceeds the %d-byte limit", ErrBadKey, len(key), MaxKey)
	}
	return nil
}

// ValidateValue checks a value against the protocol's limits.
func ValidateValue(v []byte) error {
	if len(v) > MaxValue {
		return fmt.Errorf("%w: value of %d bytes exceeds the %d-byte limit", ErrTooLarge, len(v), MaxValue)
	}
	return nil
}
