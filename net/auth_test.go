package net

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

type proofInput struct {
	key    []byte
	role   Role
	node   uint16
	sn, cn [NonceSize]byte
}

func (in proofInput) client() [MACSize]byte {
	return ClientProof(in.key, in.role, in.node, in.sn, in.cn)
}

func (in proofInput) server() [MACSize]byte {
	return ServerProof(in.key, in.role, in.node, in.sn, in.cn)
}

var baseProof = proofInput{key: []byte("secret"), role: RolePeer, node: 0x0102, sn: nonce(0x10), cn: nonce(0x40)}

// TestProofKnownAnswer computes the MACs from doc.go's formula with the
// standard library, so the implementation cannot drift from the spec.
func TestProofKnownAnswer(t *testing.T) {
	in := baseProof
	for _, tt := range []struct {
		label string
		got   [MACSize]byte
	}{
		{"memdb/1 client-proof", in.client()},
		{"memdb/1 server-proof", in.server()},
	} {
		h := hmac.New(sha256.New, in.key)
		h.Write([]byte(tt.label))
		h.Write([]byte{0x02, 0x01, 0x02})
		h.Write(in.sn[:])
		h.Write(in.cn[:])
		if want := h.Sum(nil); !hmac.Equal(tt.got[:], want) {
			t.Errorf("%s = %x, want %x", tt.label, tt.got, want)
		}
	}
}

func TestProofsDiffer(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("secret")} {
		in := baseProof
		in.key = key
		if in.client() == in.server() {
			t.Errorf("key %q: client and server proofs are equal (%x): one side could replay the other's", key, in.client())
		}
		if in.client() != in.client() || in.server() != in.server() {
			t.Errorf("key %q: proofs are not deterministic", key)
		}
	}
}

// TestProofDependsOnEveryInput changes one input at a time: each change
// must change both proofs.
func TestProofDependsOnEveryInput(t *testing.T) {
	changes := []struct {
		name   string
		change func(*proofInput)
	}{
		{"key", func(in *proofInput) { in.key = []byte("secreT") }},
		{"key empty", func(in *proofInput) { in.key = nil }},
		// Not "secret\x00": HMAC pads a short key with zero bytes, so keys
		// that differ only in trailing zeros are the same key.
		{"key longer", func(in *proofInput) { in.key = []byte("secrets") }},
		{"key of a block and more", func(in *proofInput) { in.key = make([]byte, 100) }},
		{"role", func(in *proofInput) { in.role = RoleClient }},
		{"node high byte", func(in *proofInput) { in.node = 0x0202 }},
		{"node low byte", func(in *proofInput) { in.node = 0x0103 }},
		{"server nonce first byte", func(in *proofInput) { in.sn[0] ^= 1 }},
		{"server nonce last byte", func(in *proofInput) { in.sn[NonceSize-1] ^= 0x80 }},
		{"client nonce first byte", func(in *proofInput) { in.cn[0] ^= 1 }},
		{"client nonce last byte", func(in *proofInput) { in.cn[NonceSize-1] ^= 0x80 }},
		{"nonces swapped", func(in *proofInput) { in.sn, in.cn = in.cn, in.sn }},
	}
	for _, tt := range changes {
		t.Run(tt.name, func(t *testing.T) {
			in := baseProof
			tt.change(&in)
			if in.client() == baseProof.client() {
				t.Errorf("ClientProof unchanged: %x", in.client())
			}
			if in.server() == baseProof.server() {
				t.Errorf("ServerProof unchanged: %x", in.server())
			}
		})
	}
}

func TestVerifyProof(t *testing.T) {
	want := baseProof.client()
	if !VerifyProof(want, want) {
		t.Errorf("VerifyProof(p, p) = false")
	}
	for i := range MACSize {
		got := want
		got[i] ^= 1
		if VerifyProof(got, want) {
			t.Errorf("VerifyProof accepted a proof with byte %d changed", i)
		}
	}
	if VerifyProof(baseProof.server(), want) {
		t.Errorf("VerifyProof accepted the server proof as the client proof")
	}
	if VerifyProof([MACSize]byte{}, want) {
		t.Errorf("VerifyProof accepted an all-zero proof")
	}
}

// TestHandshakeFrames runs the handshake's three frames through the codec
// and checks each side's proof, the way a client and a server use them.
func TestHandshakeFrames(t *testing.T) {
	key := []byte("client key")
	ch := Frame{Msg: &Challenge{Version: Version, Node: 3, Nonce: nonce(0x11)}}
	got, _, err := Decode(Encode(ch))
	if err != nil {
		t.Fatal(err)
	}
	c := got.Msg.(*Challenge)
	cn := nonce(0x77)
	auth := Frame{ID: 1, Msg: &Auth{Role: RoleClient, Nonce: cn, MAC: ClientProof(key, RoleClient, 0, c.Nonce, cn)}}
	if got, _, err = Decode(Encode(auth)); err != nil {
		t.Fatal(err)
	}
	a := got.Msg.(*Auth)
	if !VerifyProof(a.MAC, ClientProof(key, a.Role, a.Node, nonce(0x11), a.Nonce)) {
		t.Fatalf("server rejects the right client key")
	}
	if VerifyProof(a.MAC, ClientProof([]byte("wrong"), a.Role, a.Node, nonce(0x11), a.Nonce)) {
		t.Fatalf("server accepts a proof made with another key")
	}
	ok := Frame{ID: got.ID, Msg: &AuthOK{MAC: ServerProof(key, a.Role, a.Node, nonce(0x11), a.Nonce)}}
	if got, _, err = Decode(Encode(ok)); err != nil {
		t.Fatal(err)
	}
	if !VerifyProof(got.Msg.(*AuthOK).MAC, ServerProof(key, RoleClient, 0, c.Nonce, cn)) {
		t.Fatalf("client rejects the server's proof")
	}
}
