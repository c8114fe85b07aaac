package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
)

// Stream returns the PRNG stream called name under the root seed. Streams
// are independent: each is a PCG seeded from SHA-256(seed, name), so how
// much one component draws never shifts what another draws.
//
// The simulator's streams are "params" (swarm parameters), "faults" (the
// fault schedule), "network" (latency, loss, duplication), "client/<i>"
// (client i's workload), "node/<id>/<incarnation>" (a node's Env.Rand),
// "disk/<id>" (the in-memory disk's crash decisions) and "disk/<id>/latency"
// (its sync delays).
func Stream(seed uint64, name string) *rand.Rand {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint64(nil, seed))
	h.Write([]byte(name))
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[0:8]), binary.BigEndian.Uint64(sum[8:16])))
}

// uniform draws a duration in [lo, hi].
func uniform(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo+1)
}

// between draws a float in [lo, hi).
func between(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
