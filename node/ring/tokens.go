package ring

import (
	"strconv"

	farm "github.com/dgryski/go-farm"
)

// DefaultVnodes is how many virtual nodes (tokens) a node takes when its
// tokens are not given explicitly. See the balance table in doc.go for why.
const DefaultVnodes = 256

// Hash is where key falls on the ring: its 64-bit FarmHash fingerprint
// (farm.Fingerprint64), which is stable across versions and platforms, as a
// value that decides placement must be.
func Hash(key []byte) uint64 { return farm.Fingerprint64(key) }

// VirtualTokens are node id's count virtual-node tokens: token i is
// Hash of the decimal id, "/", and decimal i ("7/0", "7/1", ...). They depend
// on nothing but id and count, so every node derives the same tokens for the
// same member, and a ring of virtual members is carried as (id, count) pairs.
// A count below 1 gives nil.
func VirtualTokens(id uint16, count int) []uint64 {
	if count < 1 {
		return nil
	}
	tokens := make([]uint64, count)
	var buf [32]byte
	for i := range tokens {
		b := strconv.AppendUint(buf[:0], uint64(id), 10)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(i), 10)
		tokens[i] = Hash(b)
	}
	return tokens
}

// Virtual are members with ids, each owning vnodes VirtualTokens: the usual
// input to New.
func Virtual(ids []uint16, vnodes int) []Member {
	ms := make([]Member, len(ids))
	for i, id := range ids {
		ms[i] = Member{ID: id, Tokens: VirtualTokens(id, vnodes)}
	}
	return ms
}
