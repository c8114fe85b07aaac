package ring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sealed appends the checksum Encode would to body, so a test can build an
// encoding that is wrong in one field but passes the checksum.
func sealed(body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestEncodeFormat(t *testing.T) {
	// Node 1 is virtual (two tokens), node 2 explicit; see doc.go.
	r := mustNew(t, 300, []Member{{2, []uint64{5}}, {1, VirtualTokens(1, 2)}})
	want := sealed(
		[]byte("RING\x01"),
		[]byte{0xac, 0x02}, // epoch 300
		[]byte{2},          // members
		u16(1), []byte{kindVirtual, 2},
		u16(2), []byte{kindExplicit, 1}, u64(5),
	)
	if diff := cmp.Diff(want, r.Encode()); diff != "" {
		t.Errorf("Encode() (-want +got):\n%s", diff)
	}
	if got, err := Decode(want); err != nil || !got.Equal(r) {
		t.Errorf("Decode = %v, %v; want %v", got, err, r)
	}
	empty, err := Decode(Ring{}.Encode())
	if err != nil || empty.Len() != 0 {
		t.Errorf("the empty ring does not round-trip: %v, %v", empty, err)
	}
}

func TestEncodeSize(t *testing.T) {
	r := virtualRing(t, 64, 256)
	if n := len(r.Encode()); n > 64*5+16 {
		t.Errorf("64 virtual nodes encode to %d bytes; virtual members should take about 5 each", n)
	}
}

func TestDecodeRejects(t *testing.T) {
	head := []byte("RING\x01\x07") // version 1, epoch 7
	good := mustNew(t, 7, []Member{{1, []uint64{5}}}).Encode()
	flipped := bytes.Clone(good)
	flipped[6] ^= 1
	virt := VirtualTokens(3, 2)
	if virt[0] > virt[1] {
		virt[0], virt[1] = virt[1], virt[0]
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"nil", nil, ErrCorrupt},
		{"short", []byte("RING\x01\x00\x00"), ErrCorrupt},
		{"bad magic", append([]byte("GNIR"), good[4:]...), ErrCorrupt},
		{"future version", sealed([]byte("RING\x02\x07\x00")), ErrVersion},
		{"bit flip", flipped, ErrCorrupt},
		{"truncated", good[:len(good)-1], ErrCorrupt},
		{"no member count", sealed(head), ErrCorrupt},
		{"epoch overflows", sealed([]byte("RING\x01"), bytes.Repeat([]byte{0xff}, 10), []byte{1, 0}), ErrCorrupt},
		{"epoch not minimal", sealed([]byte("RING\x01\x87\x00\x00")), ErrCorrupt},
		{"count exceeds bytes", sealed(head, []byte{0xff, 0xff, 0x03}), ErrCorrupt},
		{"member truncated", sealed(head, []byte{1}, u16(1), []byte{kindExplicit, 2}, u64(5)), ErrCorrupt},
		{"trailing bytes", sealed(head, []byte{1}, u16(1), []byte{kindExplicit, 1}, u64(5), []byte{0}), ErrCorrupt},
		{"unknown kind", sealed(head, []byte{1}, u16(1), []byte{9, 1}, u64(5)), ErrCorrupt},
		{"no tokens", sealed(head, []byte{1}, u16(1), []byte{kindVirtual, 0}), ErrCorrupt},
		{"too many tokens", sealed(head, []byte{1}, u16(1), []byte{kindVirtual, 0x81, 0x20}), ErrCorrupt},
		{"id zero", sealed(head, []byte{1}, u16(0), []byte{kindVirtual, 1}), ErrBadID},
		{"members out of order", sealed(head, []byte{2}, u16(2), []byte{kindVirtual, 1}, u16(1), []byte{kindVirtual, 1}), ErrCorrupt},
		{"member twice", sealed(head, []byte{2}, u16(1), []byte{kindVirtual, 1}, u16(1), []byte{kindVirtual, 1}), ErrCorrupt},
		{"tokens out of order", sealed(head, []byte{1}, u16(1), []byte{kindExplicit, 2}, u64(6), u64(5)), ErrCorrupt},
		{"shared token", sealed(head, []byte{2}, u16(1), []byte{kindExplicit, 1}, u64(5), u16(2), []byte{kindExplicit, 1}, u64(5)), ErrDuplicateToken},
		{"virtual tokens spelt out", sealed(head, []byte{1}, u16(3), []byte{kindExplicit, 2}, u64(virt[0]), u64(virt[1])), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode(tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%x) = %v, %v; want error %v", tt.b, r, err, tt.want)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("Decode(%x): error %v is neither ErrCorrupt nor ErrVersion", tt.b, err)
			}
			t.Logf("error: %v", err)
		})
	}
}

// FuzzDecode: Decode never panics, and whatever it accepts is canonical:
// it re-encodes to the very same bytes. Each input is decoded as it is and
// again with its last 4 bytes replaced by the right checksum, since a
// fuzzer would hardly ever guess one and so never get past it. Run it with
// go test ./node/ring -run '^$' -fuzz FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(Ring{}.Encode())
	f.Add(hand(f).Encode())
	f.Add(virtualRing(f, 5, 8).Encode())
	f.Add(mustNew(f, 1<<40, append(Virtual([]uint16{2, 9}, 3), Member{4, []uint64{0, 1 << 63, ^uint64(0)}})).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		inputs := [][]byte{b}
		if len(b) >= 4 {
			inputs = append(inputs, sealed(b[:len(b)-4]))
		}
		for _, in := range inputs {
			r, err := Decode(in)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
					t.Fatalf("Decode(%x): error %v is neither ErrCorrupt nor ErrVersion", in, err)
				}
				continue
			}
			if got := r.Encode(); !bytes.Equal(got, in) {
				t.Fatalf("Decode(%x) = %v, which encodes to %x", in, r, got)
			}
		}
	})
}
