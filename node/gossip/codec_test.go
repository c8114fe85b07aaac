package gossip

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var sampleMessages = []message{
	{kind: kindPing, seq: 1, target: 2, from: Member{ID: 1, Addr: "n1:7000", Incarnation: 3, Ring: 1, Vnodes: 256}},
	{kind: kindAck, seq: 1 << 40, target: 2, from: Member{ID: 2, Addr: "n2:7000", Ring: 1},
		members: []Member{{ID: 3, Addr: "n3", Incarnation: 9, State: Suspect, Ring: 5, Vnodes: 1}, {ID: 65535, Addr: "x", State: Left, Ring: 2}}},
	{kind: kindPingReq, seq: 7, target: 9, from: Member{ID: 4, Addr: "n4", State: Dead, Ring: 1}},
	{kind: kindPushPull, from: Member{ID: 5, Addr: string(bytes.Repeat([]byte{'a'}, MaxAddr)), Ring: 0},
		members: []Member{{ID: 1, Addr: "n1", Ring: 1}, {ID: 5, Addr: "n5", Ring: 1}}},
	{kind: kindPushPullResp, from: Member{ID: 6, Addr: "n6", Ring: 1},
		members: []Member{{ID: 7, Addr: "n7", Ring: 3, Tokens: []uint64{0, 30000, 1 << 63}}}},
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range sampleMessages {
		b := m.encode(nil)
		got, err := decode(b)
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", m, err)
		}
		if d := cmp.Diff(m, got, cmp.AllowUnexported(message{})); d != "" {
			t.Errorf("round trip of a %v (-want +got):\n%s", m.kind, d)
		}
	}
}

// TestCodecLayout pins the byte layout drawn in doc.go.
func TestCodecLayout(t *testing.T) {
	m := message{kind: kindAck, seq: 0x0102030405060708, target: 0x0a0b,
		from:    Member{ID: 0x0c0d, Addr: "ab", Incarnation: 0x1112131415161718, State: Suspect, Ring: 0x21222324, Vnodes: 0x3132},
		members: []Member{{ID: 0x4142, Addr: "z", State: Left, Ring: 2, Tokens: []uint64{0x51}}}}
	want := []byte{
		2, 2, // version, kind
		1, 2, 3, 4, 5, 6, 7, 8, // seq
		0x0a, 0x0b, // target
		0x0c, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 1, 0x21, 0x22, 0x23, 0x24, 0x31, 0x32, 2, 'a', 'b', 0, 0, // sender
		0, 1, // count
		0x41, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 1, 'z', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x51,
	}
	if got := m.encode(nil); !bytes.Equal(got, want) {
		t.Errorf("encode:\n got %v\nwant %v", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := sampleMessages[1].encode(nil)
	withByte := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"version 1", withByte(0, 1), ErrVersion},
		{"version 3", withByte(0, 3), ErrVersion},
		{"version 0", withByte(0, 0), ErrVersion},
		{"kind 0", withByte(1, 0), ErrMalformed},
		{"kind 6", withByte(1, 6), ErrMalformed},
		{"ack with target 0", append([]byte{2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, good[12:]...), ErrMalformed},
		{"header only", good[:headerSize], ErrMalformed},
		{"cut in the sender", good[:headerSize+5], ErrMalformed},
		{"cut in a member", good[:len(good)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed},
		{"sender id 0", withBytes(good, headerSize, 0, headerSize+1, 0), ErrMalformed},
		{"sender state 4", withByte(headerSize+10, 4), ErrMalformed},
		{"sender left at odd ring", withByte(headerSize+10, 3), ErrMalformed},
		{"count beyond the payload", withByte(headerSize+18+7+2, 0xff), ErrMalformed},
		{"tokens beyond the payload", withByte(headerSize+18+7, 0xff), ErrMalformed},
		{"tokens not ascending", (&message{kind: kindPushPullResp, from: Member{ID: 6, Addr: "n6", Ring: 1, Tokens: []uint64{5, 5}}}).encode(nil), ErrMalformed},
		{"tokens and vnodes", (&message{kind: kindPushPullResp, from: Member{ID: 6, Addr: "n6", Ring: 1, Vnodes: 2, Tokens: []uint64{5}}}).encode(nil), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decode(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("decode(%v) = %+v, %v; want %v", tt.in, m, err, tt.want)
			}
		})
	}
}

func TestReceiveRejects(t *testing.T) {
	g := started(t)
	ping := func(from Member) []byte {
		return (&message{kind: kindPing, seq: 1, target: 1, from: from}).encode(nil)
	}
	if _, err := g.Receive(0, 3, ping(Member{ID: 2, Addr: "n2", Ring: 1})); !errors.Is(err, ErrSender) {
		t.Errorf("node 3 sending as node 2: %v, want ErrSender", err)
	}
	if _, err := g.Receive(0, 0, ping(Member{ID: 1, Addr: "impostor", Ring: 1})); !errors.Is(err, ErrSender) {
		t.Errorf("a node with this node's id: %v, want ErrSender", err)
	}
	if _, err := g.Receive(0, 2, []byte{Version, 1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short payload: %v, want ErrMalformed", err)
	}
	if ms := g.Members(); len(ms) != 1 {
		t.Errorf("rejected payloads were applied: %v", ms)
	}
	outs, err := g.Receive(0, 0, ping(Member{ID: 2, Addr: "n2", Ring: 1}))
	if err != nil || len(outs) != 1 || outs[0].To.ID != 2 || outs[0].To.Addr != "n2" {
		t.Errorf("ping from an unnamed transport peer: %v, %v; want one ack to node 2 at n2", outs, err)
	}
}

// withBytes returns a copy of b with the bytes at the given indexes set to
// the given values: index, value, index, value...
func withBytes(b []byte, kv ...int) []byte {
	b = bytes.Clone(b)
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i]] = byte(kv[i+1])
	}
	return b
}

// FuzzDecode holds decode to its contract on arbitrary bytes: no panic;
// either an error, or a message whose records all validate and that encodes
// back to the same bytes. It also feeds the bytes to a started Gossip,
// which must not panic either.
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages {
		f.Add(m.encode(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 'a', 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err == nil {
			if err := m.from.Validate(); err != nil {
				t.Fatalf("decoded an invalid sender: %v", err)
			}
			for _, r := range m.members {
				if err := r.Validate(); err != nil {
					t.Fatalf("decoded an invalid record: %v", err)
				}
			}
			if re := m.encode(nil); !bytes.Equal(re, b) {
				t.Fatalf("re-encoding differs:\n got %v\nwant %v", re, b)
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
			t.Fatalf("error %v wraps neither ErrMalformed nor ErrVersion", err)
		}
		g, gerr := New(Member{ID: 1, Addr: "n1", Vnodes: 8, Ring: 1}, DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
		if gerr != nil {
			t.Fatal(gerr)
		}
		g.Start(0, []string{"seed"})
		_, rerr := g.Receive(time.Second, 0, b)
		if (rerr == nil) != (err == nil && m.from.ID != 1) {
			t.Fatalf("Receive: %v, decode: %v", rerr, err)
		}
		g.Tick(2 * time.Second)
	})
}
