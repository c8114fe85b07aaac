package node

// Sizes is a histogram of sizes (bytes, or entries) with fixed buckets,
// kept in Stats for the host to expose: the batches of hints a node hands
// to a replica and of entries it streams. Buckets are powers of four, so
// one layout serves counts of entries and counts of bytes alike; the node
// fills them from what it sends and receives, never from a clock.
type Sizes struct {
	Counts [len(sizeBounds) + 1]uint64 // Counts[i]: sizes in (bound i-1, bound i]; the last, above every bound
	Sum    uint64
}

// sizeBounds are Sizes' upper bounds: 1, 4, 16, ... 4^12 (16 Mi).
var sizeBounds = [...]uint64{1, 4, 16, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20}

// SizeBounds returns the upper bounds of Sizes' buckets, but the last
// (+Inf), in order.
func SizeBounds() []uint64 { return sizeBounds[:] }

// Add counts one size.
func (s *Sizes) Add(v uint64) {
	i := 0
	for i < len(sizeBounds) && v > sizeBounds[i] {
		i++
	}
	s.Counts[i]++
	s.Sum += v
}
